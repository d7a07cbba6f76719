"""Real MP4 outputs, made locally with PyAV and Pillow from the request's own input.

The video shows each reference image in the order the prompt's `<IMAGE_REF_n>` tags name them,
cross-fading from one to the next, with the prompt, the request id and a progress bar drawn on,
so a person can tell which request produced it. H.264 (yuv420p, faststart) at 24 fps plus a silent
AAC track, exactly the requested duration. Equal specs give equal bytes, and are cached.

Frames are composed in YUV 4:2:0 directly: each segment's picture is converted once, and per frame
only a cross-fade blend or the progress bar changes, which keeps an 8 s 720p render well under a
second on two cores.
"""

from __future__ import annotations

import functools
import io
import queue
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont, ImageOps

from falfake.media.specs import ImageSource, VideoSpec

_AUDIO_RATE = 48_000
_AUDIO_FRAME = 1024
_FADE_SECONDS = 0.5
_BACKGROUND = (24, 28, 40)
_TEXT = (255, 255, 255)
_BAR_LUMA = 235
_LOOKAHEAD = 12
# ultrafast and CRF 28: picture quality matters little here, turnaround a lot.
_X264 = {"preset": "ultrafast", "crf": "28"}
T = TypeVar("T")

Planes = NDArray[np.uint8]


@functools.lru_cache(maxsize=32)
def render_video(spec: VideoSpec) -> bytes:
    """A playable MP4 of `spec`; equal specs give equal bytes."""
    with tempfile.TemporaryDirectory(prefix="falfake-") as folder:
        # faststart rewrites the file to put the index first, which needs a real path.
        path = Path(folder) / "output.mp4"
        _encode(spec, path)
        return path.read_bytes()


def _encode(spec: VideoSpec, path: Path) -> None:
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    with av.open(str(path), "w", format="mp4", options=options) as container:
        video = container.add_stream("libx264", rate=spec.fps, options=_X264)
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        audio = container.add_stream("aac", rate=_AUDIO_RATE, layout="mono")
        for index, frame in enumerate(_in_background(_video_frames(spec))):
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        silence = np.zeros((1, _AUDIO_FRAME), dtype=np.float32)
        for start in range(0, spec.duration * _AUDIO_RATE, _AUDIO_FRAME):
            chunk = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = _AUDIO_RATE, start
            container.mux(audio.encode(chunk))
        container.mux(audio.encode(None))


def _video_frames(spec: VideoSpec) -> Iterator[av.VideoFrame]:
    for planes in _frames(spec):
        yield av.VideoFrame.from_ndarray(planes, format="yuv420p")


def _in_background(items: Iterator[T]) -> Iterator[T]:
    """`items`, produced on a second thread: composing frames overlaps with x264's encoding."""
    handoff: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=_LOOKAHEAD)

    def produce() -> None:
        try:
            for item in items:
                handoff.put((True, item))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            handoff.put((False, exc))
            return
        handoff.put((False, None))

    threading.Thread(target=produce, name="falfake-frames", daemon=True).start()
    while True:
        is_item, value = handoff.get()
        if not is_item:
            if isinstance(value, BaseException):
                raise value
            return
        yield value  # type: ignore[misc]  # the queue holds only items here


def _frames(spec: VideoSpec) -> Iterator[Planes]:
    """Every frame as one (height * 3/2, width) yuv420p array."""
    total = spec.duration * spec.fps
    sources = spec.images or (ImageSource(digest="", label="no reference image"),)
    segments = [_yuv(_picture(spec, source)) for source in sources]
    per_segment = total / len(segments)
    fade = min(int(_FADE_SECONDS * spec.fps), int(per_segment) // 2)
    for index in range(total):
        current = min(int(index / per_segment), len(segments) - 1)
        into = index - round(current * per_segment)
        if current > 0 and into < fade:
            weight = (into + 1) / (fade + 1)
            planes = _blend(segments[current - 1], segments[current], weight)
        else:
            planes = segments[current].copy()
        _progress_bar(planes, spec, (index + 1) / total)
        yield planes


def _picture(spec: VideoSpec, source: ImageSource) -> Image.Image:
    """One segment's still: the image fitted into the frame, with the captions drawn on."""
    canvas = Image.new("RGB", (spec.width, spec.height), _BACKGROUND)
    if source.data is not None:
        with Image.open(io.BytesIO(source.data)) as opened:
            picture = ImageOps.contain(opened.convert("RGB"), (spec.width, spec.height))
        canvas.paste(
            picture, ((spec.width - picture.width) // 2, (spec.height - picture.height) // 2)
        )
    unit = max(spec.height // 40, 10)
    # Three lines are drawn; wrapping only their worth keeps a megabyte prompt cheap.
    prompt = textwrap.wrap(spec.prompt[:1000], width=max(spec.width * 2 // unit, 20))[:3]
    bottom = spec.height - unit * (2 + 1.3 * len(prompt))
    # Darken the caption bands so the text reads on any picture.
    pixels = np.asarray(canvas, dtype=np.uint8).copy()
    for band in (slice(0, unit * 4), slice(int(bottom) - unit // 2, spec.height)):
        pixels[band] = pixels[band] // 3
    canvas = Image.fromarray(pixels)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=unit)
    big = ImageFont.load_default(size=unit * 2)
    if source.data is None:
        lines = textwrap.wrap(source.label, width=max(spec.width // unit, 20))
        draw.multiline_text((unit, spec.height // 3), "\n".join(lines), fill=_TEXT, font=big)
    draw.text((unit, unit), f"falfake  request {spec.request_id}", fill=_TEXT, font=font)
    draw.text((unit, unit * 2.5), f"IMAGE_REF_{source.index}", fill=_TEXT, font=font)
    draw.multiline_text((unit, bottom), "\n".join(prompt), fill=_TEXT, font=font, spacing=unit // 3)
    return canvas


def _yuv(picture: Image.Image) -> Planes:
    rgb = np.asarray(picture, dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    planes = frame.to_ndarray()
    return np.asarray(planes, dtype=np.uint8)


def _blend(before: Planes, after: Planes, weight: float) -> Planes:
    mixed = before.astype(np.uint16) * round(256 * (1 - weight)) + after.astype(np.uint16) * round(
        256 * weight
    )
    blended: Planes = (mixed >> 8).astype(np.uint8)
    return blended


def _progress_bar(planes: Planes, spec: VideoSpec, done: float) -> None:
    """A thin bright bar along the bottom (luma rows only), as long as the time elapsed."""
    thickness = max(spec.height // 120, 2) & ~1
    planes[spec.height - thickness : spec.height, : int(spec.width * done)] = _BAR_LUMA

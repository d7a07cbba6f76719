"""Real MP4 files for outputs: H.264 (yuv420p) with an AAC track, made locally with PyAV.

Issue #6 replaces the flat picture with a rendering of the reference images and prompt; the
container, codecs, size and duration are already those of the spec.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import av
import numpy as np

from mock_server.models import VideoSpec

_AUDIO_RATE = 48_000
_AUDIO_FRAME = 1024
_BACKGROUND = (32, 96, 160)


@functools.lru_cache(maxsize=32)
def render_video(spec: VideoSpec) -> bytes:
    """A playable MP4 of exactly `spec.duration` seconds; equal specs give equal bytes."""
    with tempfile.TemporaryDirectory(prefix="falfake-") as folder:
        # faststart rewrites the file to put the index first, which needs a real path.
        path = Path(folder) / "output.mp4"
        _encode(spec, path)
        return path.read_bytes()


def _encode(spec: VideoSpec, path: Path) -> None:
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    with av.open(str(path), "w", format="mp4", options=options) as container:
        video = container.add_stream(
            "libx264", rate=spec.fps, options={"preset": "ultrafast", "tune": "zerolatency"}
        )
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        audio = container.add_stream("aac", rate=_AUDIO_RATE, layout="mono")
        pixels = np.full((spec.height, spec.width, 3), _BACKGROUND, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
        for index in range(spec.duration * spec.fps):
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        silence = np.zeros((1, _AUDIO_FRAME), dtype=np.float32)
        for start in range(0, spec.duration * _AUDIO_RATE, _AUDIO_FRAME):
            chunk = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = _AUDIO_RATE, start
            container.mux(audio.encode(chunk))
        container.mux(audio.encode(None))

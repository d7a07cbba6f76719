"""Real files for every media kind an output holds: videos (`video.py`), images and speech.

Images show the prompt and request id on a colour drawn from them, so a person can tell requests
and images apart; speech is a quiet tone exactly as long as the spec asks, in MP3 (LAME, through
PyAV) or WAV. Equal specs give equal bytes, and are cached.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import textwrap
import wave

from falfake.media.specs import AudioSpec, GivenFile, ImageSpec, MediaSpec, VideoSpec

_AUDIO_RATE = 24_000
_TONE_HZ = 220.0
_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


def render(spec: MediaSpec) -> bytes:
    """The file `spec` describes; the first call imports PyAV, numpy or Pillow; off the loop."""
    if isinstance(spec, VideoSpec):
        from falfake.media.video import render_video

        return render_video(spec)
    if isinstance(spec, ImageSpec):
        return render_image(spec)
    if isinstance(spec, GivenFile):
        return spec.data
    return render_audio(spec)


@functools.lru_cache(maxsize=64)
def render_image(spec: ImageSpec) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    # A lone surrogate from the JSON input can be neither hashed as UTF-8 nor drawn.
    prompt = spec.prompt.encode("utf-8", "replace").decode()
    seed = hashlib.sha256(f"{spec.request_id}/{spec.index}/{prompt}".encode()).digest()
    colour = (0, 0, 0) if spec.blank else (seed[0] // 2 + 32, seed[1] // 2 + 32, seed[2] // 2 + 32)
    picture = Image.new("RGB", (spec.width, spec.height), colour)
    if not spec.blank:
        draw = ImageDraw.Draw(picture)
        unit = max(8, min(spec.width, spec.height) // 24)
        font = ImageFont.load_default(size=unit)
        columns = max(8, spec.width // max(1, unit // 2) - 4)
        lines = textwrap.wrap(prompt, columns)[: max(1, spec.height // (unit * 2) - 3)]
        draw.text(
            (unit, unit), f"falfake  {spec.request_id}  #{spec.index}", fill="white", font=font
        )
        draw.multiline_text((unit, unit * 3), "\n".join(lines), fill="white", font=font)
    out = io.BytesIO()
    picture.save(out, _PIL_FORMATS[spec.format])
    return out.getvalue()


@functools.lru_cache(maxsize=32)
def render_audio(spec: AudioSpec) -> bytes:
    samples = round(spec.duration * _AUDIO_RATE)
    pcm = _tone(samples)
    if spec.format == "wav":
        out = io.BytesIO()
        with wave.open(out, "wb") as file:
            file.setnchannels(1)
            file.setsampwidth(2)
            file.setframerate(_AUDIO_RATE)
            file.writeframes(pcm)
        return out.getvalue()
    return _mp3(pcm, samples)


def _tone(samples: int) -> bytes:
    import numpy as np

    t = np.arange(samples) / _AUDIO_RATE
    wave_ = 0.1 * np.sin(2 * math.pi * _TONE_HZ * t)
    return (wave_ * 32767).astype("<i2").tobytes()


def _mp3(pcm: bytes, samples: int) -> bytes:
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, "w", format="mp3", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libmp3lame", rate=_AUDIO_RATE, layout="mono")
        chunk = 1152
        data = np.frombuffer(pcm, dtype="<i2")
        for start in range(0, samples, chunk):
            piece = data[start : start + chunk].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(piece, format="s16", layout="mono")
            frame.sample_rate = _AUDIO_RATE
            frame.pts = start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()

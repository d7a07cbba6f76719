"""Rendering time for 3, 8 and 10 s videos at both aspect ratios, cold and cached (`make bench`).

A benchmark, not a test: it prints figures and asserts nothing. Goal on the project's 2-core
machine: an 8 s video under 0.5 s cold and under 5 ms cached. Baseline, in the same process: the
same number of frames of one flat colour through the same encoder settings, so the ratio shows
what drawing the request's content costs on top of the bare encoder.
"""

from __future__ import annotations

import hashlib
import io
import time

from PIL import Image

from falfake.media.specs import ImageSource, VideoSpec
from falfake.media.video import render_video

REQUEST_ID = "019e1951-c778-7120-9c82-16efcf40ec82"
PROMPT = "A cat <IMAGE_REF_0> plays with <IMAGE_REF_1> in a sunlit living room."


def photo_like(seed: int) -> bytes:
    """A 1024x768 gradient with noise: more work for the encoder than a flat colour."""
    image = Image.effect_noise((1024, 768), 40 + seed).convert("RGB")
    tinted = Image.blend(image, Image.linear_gradient("L").convert("RGB").resize((1024, 768)), 0.5)
    buffer = io.BytesIO()
    tinted.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def spec(width: int, height: int, duration: int, images: tuple[ImageSource, ...]) -> VideoSpec:
    return VideoSpec(
        width=width,
        height=height,
        duration=duration,
        prompt=PROMPT,
        request_id=REQUEST_ID,
        images=images,
    )


def timed(video: VideoSpec) -> float:
    start = time.perf_counter()
    render_video(video)
    return time.perf_counter() - start


def main() -> None:
    images = tuple(
        ImageSource(hashlib.sha256(data).hexdigest(), f"image {i}", i, data)
        for i, data in enumerate([photo_like(0), photo_like(1)])
    )
    header = ["size", "seconds", "cold s", "cached ms", "baseline s", "ratio"]
    print(" ".join(f"{name:>10}" for name in header))
    for width, height in [(1280, 720), (720, 1280), (960, 540)]:
        for duration in (3, 8, 10):
            video = spec(width, height, duration, images)
            cold = timed(video)
            cached = timed(video)
            flat = timed(spec(width, height, duration, ()))
            row = [f"{width}x{height}", duration, f"{cold:.3f}", f"{cached * 1000:.3f}"]
            row += [f"{flat:.3f}", f"{cold / flat:.2f}"]
            print(" ".join(f"{cell:>10}" for cell in row))


if __name__ == "__main__":
    main()

"""Images and speech are real files of the asked size, format and length, the same each time."""

from __future__ import annotations

import io
import wave

import av
import pytest
from PIL import Image

from falfake.media.renderers import render, render_audio, render_image
from falfake.media.specs import AudioSpec, ImageSpec


@pytest.mark.parametrize(("fmt", "pil_name"), [("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WEBP")])
def test_an_image_has_the_asked_format_and_size(fmt: str, pil_name: str) -> None:
    picture = Image.open(io.BytesIO(render(ImageSpec(1024, 576, fmt, "a cat", "r1"))))
    assert (picture.format, picture.size) == (pil_name, (1024, 576))


def test_images_of_one_request_differ_and_repeat_exactly() -> None:
    first = ImageSpec(256, 256, "png", "a cat", "r1", index=0)
    second = ImageSpec(256, 256, "png", "a cat", "r1", index=1)
    made = render_image(first)
    render_image.cache_clear()
    assert render_image(first) == made
    assert render_image(second) != made


def test_a_blank_image_is_black() -> None:
    picture = Image.open(io.BytesIO(render(ImageSpec(64, 48, "png", "x", "r1", blank=True))))
    assert picture.convert("RGB").getextrema() == ((0, 0), (0, 0), (0, 0))


def test_speech_in_mp3_lasts_as_long_as_asked() -> None:
    data = render(AudioSpec(3.5, "mp3", "hello", "r1"))
    with av.open(io.BytesIO(data), "r") as container:
        (stream,) = container.streams.audio
        assert stream.codec_context.name.startswith("mp3")
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(3.5, abs=0.06)


def test_speech_in_wav_lasts_exactly_as_long_as_asked() -> None:
    with wave.open(io.BytesIO(render(AudioSpec(2.25, "wav")))) as file:
        assert file.getnframes() / file.getframerate() == 2.25


def test_speech_repeats_exactly() -> None:
    spec = AudioSpec(1.0, "mp3", "hi", "r1")
    made = render_audio(spec)
    render_audio.cache_clear()
    assert render_audio(spec) == made

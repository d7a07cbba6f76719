"""The rendered MP4, decoded with PyAV: container, codecs, size, length, content and determinism."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import av
import numpy as np
import pytest

from falfake.media.specs import ImageSource, VideoSpec
from falfake.media.video import render_video
from tests.conftest import png

RED, BLUE = (220, 30, 30), (30, 40, 220)


def source(color: tuple[int, int, int], index: int) -> ImageSource:
    data = png(color, (320, 240))
    return ImageSource(hashlib.sha256(data).hexdigest(), f"image {index}", index, data)


def spec(**changes: object) -> VideoSpec:
    values: dict[str, object] = {
        "width": 320,
        "height": 180,
        "duration": 3,
        "prompt": "A cat <IMAGE_REF_0> meets <IMAGE_REF_1>",
        "request_id": "019e1951-c778-7120-9c82-16efcf40ec82",
        "images": (source(RED, 0), source(BLUE, 1)),
        **changes,
    }
    return VideoSpec(**values)  # type: ignore[arg-type]  # a table of test values


def decoded(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data), mode="r") as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def centre_colour(frame: np.ndarray) -> tuple[int, ...]:
    height, width, _ = frame.shape
    patch = frame[height // 2 - 5 : height // 2 + 5, width // 2 - 5 : width // 2 + 5]
    return tuple(int(v) for v in patch.reshape(-1, 3).mean(axis=0))


def close_to(colour: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 25 for a, b in zip(colour, expected, strict=True))


@pytest.fixture(scope="module")
def landscape() -> bytes:
    return render_video(spec())


def test_container_codecs_and_size(landscape: bytes) -> None:
    with av.open(io.BytesIO(landscape), mode="r") as container:
        assert container.format.name.startswith("mov,mp4")
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.width, video.height) == (320, 180)
        assert video.average_rate == 24
        assert audio.codec_context.name == "aac"


def test_exactly_the_requested_length_at_24_fps(landscape: bytes) -> None:
    assert len(decoded(landscape)) == 3 * 24
    with av.open(io.BytesIO(landscape), mode="r") as container:
        video = container.streams.video[0]
        assert video.duration is not None
        assert video.time_base is not None
        assert float(video.duration * video.time_base) == pytest.approx(3.0)


def test_index_comes_first_so_players_start_before_the_download_ends(landscape: bytes) -> None:
    assert landscape.index(b"moov") < landscape.index(b"mdat")


def test_the_reference_images_appear_in_turn(landscape: bytes) -> None:
    frames = decoded(landscape)
    assert close_to(centre_colour(frames[10]), RED)
    assert close_to(centre_colour(frames[-10]), BLUE)
    reordered = decoded(render_video(spec(images=(source(BLUE, 1), source(RED, 0)))))
    assert close_to(centre_colour(reordered[10]), BLUE)
    assert close_to(centre_colour(reordered[-10]), RED)


def test_portrait_is_tall() -> None:
    with av.open(io.BytesIO(render_video(spec(width=180, height=320))), mode="r") as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (180, 320)


def test_a_placeholder_stands_in_for_an_image_that_was_not_fetched() -> None:
    placeholder = ImageSource("digest", "reference image: https://example.com/cat.png", 0)
    frames = decoded(render_video(spec(images=(placeholder,), duration=3)))
    assert len(frames) == 72


def test_same_spec_gives_the_same_bytes(landscape: bytes) -> None:
    render_video.cache_clear()
    assert hashlib.sha256(render_video(spec())).digest() == hashlib.sha256(landscape).digest()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda: {"request_id": "another"}, id="request-id"),
        pytest.param(lambda: {"prompt": "another prompt"}, id="prompt"),
        pytest.param(lambda: {"images": (source(BLUE, 0),)}, id="images"),
    ],
)
def test_what_is_drawn_comes_from_the_request(
    landscape: bytes, change: Callable[[], dict[str, object]]
) -> None:
    assert render_video(spec(**change())) != landscape


def test_repeats_come_from_the_cache(landscape: bytes) -> None:
    before = render_video.cache_info().hits
    render_video(spec())
    assert render_video.cache_info().hits == before + 1

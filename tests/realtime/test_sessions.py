"""One realtime input checked and answered with a real image of the asked size."""

from __future__ import annotations

import io
import struct
import zlib

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from falfake.realtime.sessions import Ask, BadFrame, ask_of, decoded, result
from tests.conftest import png


def test_an_input_image_sets_the_size_of_the_result() -> None:
    ask = ask_of({"prompt": "a cat", "image_bytes": png(size=(40, 30)), "request_id": "r1"})
    assert (ask.width, ask.height, ask.request_id) == (40, 30, "r1")


@pytest.mark.parametrize(
    ("data", "size"),
    [
        pytest.param({}, (512, 512), id="default"),
        pytest.param({"image_size": "landscape_4_3"}, (1024, 768), id="preset"),
        pytest.param({"image_size": {"width": 4000, "height": 2000}}, (1024, 512), id="bounded"),
    ],
)
def test_without_an_image_the_size_is_asked_or_512(
    data: dict[str, object], size: tuple[int, int]
) -> None:
    ask = ask_of(data)
    assert (ask.width, ask.height) == size


def test_the_result_holds_a_jpeg_as_bytes_and_echoes_the_request_id() -> None:
    output = result(Ask("a cat", 64, 48, seed=7, steps=4, request_id="r1"))
    image = output["images"][0]
    assert Image.open(io.BytesIO(image["content"])).size == (64, 48)
    assert {k: v for k, v in output.items() if k not in ("images", "timings")} == {
        "seed": 7,
        "num_inference_steps": 4,
        "nsfw_content_detected": [False],
        "request_id": "r1",
    }


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header says `width` x `height`, with no pixels behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param({"prompt": 1}, "prompt must be a string", id="prompt"),
        pytest.param({"strength": 2}, "strength must be a number from 0 to 1", id="strength"),
        pytest.param({"seed": "x"}, "seed must be an integer", id="seed"),
        pytest.param({"num_inference_steps": 0}, "num_inference_steps", id="steps"),
        pytest.param({"image_bytes": "abc"}, "image_bytes must be binary", id="text-image"),
        pytest.param({"image_bytes": b"abc"}, "not an image", id="not-an-image"),
        pytest.param({"image_bytes": png_claiming(100_000, 100_000)}, "more pixels", id="bomb"),
        pytest.param({"image_url": "data:image/png;base64,!!"}, "base64", id="bad-data-uri"),
        pytest.param({"image_size": "huge"}, "image_size", id="size"),
    ],
)
def test_a_bad_field_is_named(data: dict[str, object], reason: str) -> None:
    with pytest.raises(BadFrame, match=reason):
        ask_of(data)


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(b"\xc1", id="reserved-byte"),
        pytest.param(b"\x92\x01", id="truncated"),
        pytest.param(msgpack.packb([1, 2]), id="not-a-map"),
        pytest.param(msgpack.packb({1: 2}), id="integer-keys"),
        pytest.param(msgpack.packb({"a": 1}) + b"\x00", id="extra-data"),
    ],
)
def test_a_frame_that_is_not_a_msgpack_map_is_a_bad_frame(frame: bytes) -> None:
    with pytest.raises(BadFrame):
        decoded(frame)


@given(st.binary(max_size=200))
def test_any_bytes_are_an_input_map_or_a_bad_frame(frame: bytes) -> None:
    try:
        value = decoded(frame)
    except BadFrame:
        return
    assert isinstance(value, dict)


FIELDS = ["prompt", "strength", "seed", "num_inference_steps", "guidance_scale", "image_size"]
FIELDS += ["image_bytes", "image_url", "request_id", "other"]
# What msgpack can carry: 64-bit integers, text without lone surrogates.
TEXT = st.text(st.characters(exclude_categories=["Cs"]))
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | TEXT
    | st.binary(max_size=64),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


@given(st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=5))
def test_any_input_map_is_answered_with_a_frame_or_named_as_bad(data: dict[str, object]) -> None:
    frame = msgpack.packb(data, use_bin_type=True)
    outcome: Ask | BadFrame
    try:
        outcome = ask_of(decoded(frame))
    except BadFrame as exc:
        outcome = exc
    if isinstance(outcome, BadFrame):  # the session sends the reason back and goes on
        assert outcome.reason
        return
    output = msgpack.unpackb(msgpack.packb(result(outcome), use_bin_type=True))
    assert output["images"][0]["content"][:2] == b"\xff\xd8"

"""The rendered MP4, decoded with PyAV: container, codecs, size, duration and determinism."""

from __future__ import annotations

import hashlib
import io

import av
import pytest

from mock_server.media import render_video
from mock_server.models import VideoSpec


@pytest.fixture(scope="module")
def portrait() -> bytes:
    return render_video(VideoSpec(width=180, height=320, duration=3))


def test_video_is_h264_yuv420p_of_the_requested_size_and_length(portrait: bytes) -> None:
    with av.open(io.BytesIO(portrait), mode="r") as container:
        video = container.streams.video[0]
        assert container.format.name.startswith("mov,mp4")
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.width, video.height) == (180, 320)
        assert video.average_rate == 24
        frames = sum(1 for _ in container.decode(video))
    assert frames == 3 * 24


def test_video_has_an_aac_track_as_long_as_the_picture(portrait: bytes) -> None:
    with av.open(io.BytesIO(portrait), mode="r") as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        assert audio.duration is not None
        assert audio.time_base is not None
        assert float(audio.duration * audio.time_base) == pytest.approx(3.0, abs=0.05)


def test_index_comes_first_so_players_start_before_the_download_ends(portrait: bytes) -> None:
    assert portrait.index(b"moov") < portrait.index(b"mdat")


def test_same_spec_gives_the_same_bytes(portrait: bytes) -> None:
    render_video.cache_clear()
    again = render_video(VideoSpec(width=180, height=320, duration=3))
    assert hashlib.sha256(again).digest() == hashlib.sha256(portrait).digest()

"""Serving files: whole, `HEAD`, and single byte ranges for seeking players."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from falfake.fake import Fake

pytestmark = pytest.mark.anyio

DATA = bytes(range(256)) * 4


@pytest.fixture
async def stored(app: Starlette) -> str:
    fake: Fake = app.state.fake
    await fake.files.put("b/abc/file.bin", DATA, "application/octet-stream")
    return "/files/b/abc/file.bin"


async def test_get_serves_the_bytes_with_their_type(http: httpx.AsyncClient, stored: str) -> None:
    response = await http.get(stored)
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["accept-ranges"] == "bytes"


async def test_head_gives_the_length_without_the_body(http: httpx.AsyncClient, stored: str) -> None:
    response = await http.head(stored)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))
    assert response.content == b""


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        pytest.param("bytes=0-9", 0, 9, id="start"),
        pytest.param("bytes=1000-", 1000, 1023, id="open-ended"),
        pytest.param("bytes=-24", 1000, 1023, id="suffix"),
        pytest.param("bytes=1020-5000", 1020, 1023, id="past-the-end"),
    ],
)
async def test_range_gives_206_with_content_range(
    http: httpx.AsyncClient, stored: str, header: str, first: int, last: int
) -> None:
    response = await http.get(stored, headers={"Range": header})
    assert response.status_code == 206
    assert response.content == DATA[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{len(DATA)}"


async def test_range_past_the_end_is_416(http: httpx.AsyncClient, stored: str) -> None:
    response = await http.get(stored, headers={"Range": "bytes=2000-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"
    assert response.json() == {"detail": "Requested range not satisfiable"}


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=9-2", "bytes=x-y"])
async def test_ranges_we_do_not_serve_give_the_whole_file(
    http: httpx.AsyncClient, stored: str, header: str
) -> None:
    response = await http.get(stored, headers={"Range": header})
    assert response.status_code == 200
    assert response.content == DATA


async def test_files_are_served_on_fals_cdn_hosts_too(app: Starlette, stored: str) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://v3b.fal.media") as cdn:
        response = await cdn.get(stored)
    assert response.content == DATA

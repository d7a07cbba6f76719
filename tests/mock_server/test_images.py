"""Reference images through the HTTP API: what loads, and fal's typed 422 for what does not."""

from __future__ import annotations

import base64
import dataclasses
import io
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import av
import httpx
import numpy as np
import pytest
from PIL import Image
from starlette.applications import Starlette

from falfake import ManualClock, Settings, create_app
from falfake.hosts import split_url
from falfake.media.images import data_uri_bytes, own_path
from falfake.settings import ImageLimits
from tests.conftest import APP, BASE_URL, KEY, SUBMIT_URL, png
from tests.loopback import QuietHandler, serving

pytestmark = pytest.mark.anyio

DOCS = "https://docs.fal.ai/errors#"
DOWNLOAD_FAILED = "Failed to download the file. Please check if the URL is accessible."
LOAD_FAILED = (
    "Failed to load the image. Please ensure the image file is not corrupted and is in a"
    " supported format."
)
TOO_LARGE = "Image dimensions exceed the maximum allowed. Maximum dimensions are 4096x4096 pixels."


def encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def data_uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


async def upload(http: httpx.AsyncClient, data: bytes, name: str = "ref.png") -> str:
    urls = (await http.post("/rest/storage/upload/initiate", json={"file_name": name})).json()
    await http.put(urls["upload_url"], content=data)
    url: str = urls["file_url"]
    return url


async def outcome(
    http: httpx.AsyncClient, clock: ManualClock, image_urls: list[str], **extra: Any
) -> httpx.Response:
    body = {"prompt": "A cat <IMAGE_REF_0>", "image_urls": image_urls, "duration": 3, **extra}
    submitted = await http.post(SUBMIT_URL, json=body)
    assert submitted.status_code == 200
    clock.advance(3.0)
    return await http.get(f"/queue/{APP}/requests/{submitted.json()['request_id']}")


async def detail(http: httpx.AsyncClient, clock: ManualClock, image_urls: list[str]) -> Any:
    result = await outcome(http, clock, image_urls)
    assert result.status_code == 422
    assert result.headers["x-fal-billable-units"] == "0"
    return result.json()["detail"]


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims a huge size, as a decompression bomb does."""
    data = bytearray(png(size=(16, 16)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def first_frame(video: bytes) -> np.ndarray:
    with av.open(io.BytesIO(video), mode="r") as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


async def test_an_uploaded_image_is_drawn_into_the_video(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    url = await upload(http, png((20, 200, 40), (400, 300)))
    result = await outcome(http, clock, [url])
    assert result.status_code == 200
    video = (await http.get(result.json()["video"]["url"])).content
    centre = first_frame(video)[90, 160]
    assert abs(int(centre[1]) - 200) < 30
    assert int(centre[0]) < 60


async def test_a_data_uri_image_is_decoded(http: httpx.AsyncClient, clock: ManualClock) -> None:
    result = await outcome(http, clock, [data_uri(png((200, 200, 20)))])
    assert result.status_code == 200


async def test_a_remote_url_is_not_fetched_by_default_and_still_renders(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    result = await outcome(http, clock, ["https://example.invalid/cat.png"])
    assert result.status_code == 200


@pytest.mark.parametrize(
    ("make_url", "entry"),
    [
        pytest.param(
            lambda: f"{BASE_URL}/files/b/00000000/missing/ref.png",
            {
                "type": "file_download_error",
                "msg": DOWNLOAD_FAILED,
            },
            id="own-file-missing",
        ),
        pytest.param(
            lambda: "ftp://example.com/cat.png",
            {
                "type": "file_download_error",
                "msg": DOWNLOAD_FAILED,
            },
            id="unsupported-scheme",
        ),
        pytest.param(
            lambda: "data:image/png;base64,@@@not-base64@@@",
            {
                "type": "image_load_error",
                "msg": LOAD_FAILED,
            },
            id="bad-base64",
        ),
        pytest.param(
            lambda: data_uri(b"\x89PNG\r\n\x1a\ntruncated"),
            {
                "type": "image_load_error",
                "msg": LOAD_FAILED,
            },
            id="corrupt-png",
        ),
        pytest.param(
            lambda: data_uri(encoded(Image.new("RGB", (32, 32)), "GIF"), "image/gif"),
            {
                "type": "unsupported_image_format",
                "msg": "The image format is not supported. Supported formats are: JPEG, PNG, WEBP.",
                "ctx": {"supported_formats": ["JPEG", "PNG", "WEBP"]},
            },
            id="gif",
        ),
        pytest.param(
            lambda: data_uri(png(size=(8, 64))),
            {
                "type": "image_too_small",
                "msg": "Image dimensions are too small. Minimum dimensions are 16x16 pixels.",
                "ctx": {"min_width": 16, "min_height": 16},
            },
            id="too-small",
        ),
        pytest.param(
            lambda: data_uri(png(size=(4097, 20))),
            {
                "type": "image_too_large",
                "msg": TOO_LARGE,
                "ctx": {"max_width": 4096, "max_height": 4096},
            },
            id="too-large",
        ),
        pytest.param(
            lambda: data_uri(png_claiming(20_000, 20_000)),
            {
                "type": "image_too_large",
                "msg": TOO_LARGE,
                "ctx": {"max_width": 4096, "max_height": 4096},
            },
            id="decompression-bomb",
        ),
    ],
)
async def test_images_that_cannot_be_used_get_fals_typed_errors(
    http: httpx.AsyncClient, clock: ManualClock, make_url: Any, entry: dict[str, Any]
) -> None:
    url = make_url()
    expected = {"loc": ["body", "image_urls", 0], "msg": entry["msg"], "type": entry["type"]}
    expected["url"] = DOCS + entry["type"]
    if "ctx" in entry:
        expected["ctx"] = entry["ctx"]
    if not url.startswith("data:"):
        expected["input"] = url
    assert await detail(http, clock, [url]) == [expected]


async def test_an_uploaded_file_that_is_not_an_image_fails_to_load(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    url = await upload(http, b"%PDF-1.4 not an image", "doc.pdf")
    assert [e["type"] for e in await detail(http, clock, [url])] == ["image_load_error"]


async def test_each_bad_image_gets_its_own_entry(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    urls = [data_uri(png()), "ftp://x/y.png", data_uri(png(size=(4, 4)))]
    entries = await detail(http, clock, urls)
    assert [(e["loc"], e["type"]) for e in entries] == [
        (["body", "image_urls", 1], "file_download_error"),
        (["body", "image_urls", 2], "image_too_small"),
    ]


async def test_file_size_limit(clock: ManualClock) -> None:
    settings = Settings(images=ImageLimits(max_bytes=100), video_width=64, video_height=36)
    app = create_app(settings, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
        entries = await detail(http, clock, [data_uri(png(size=(200, 200)) + b"")])
    assert entries[0]["type"] == "file_too_large"
    assert entries[0]["ctx"] == {"max_size": 100}


@pytest.fixture(scope="module")
def image_host() -> Iterator[str]:
    """A plain HTTP server on the loopback, standing in for a remote image host."""
    pictures = {"/cat.png": png((10, 10, 240)), "/big.png": bytes(30_000)}

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            body = pictures.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    with serving(Handler) as url:
        yield url


@pytest.fixture
def fetching_app(settings: Settings, clock: ManualClock) -> Starlette:
    fetching = dataclasses.replace(
        settings, fetch_images=True, images=ImageLimits(max_bytes=20_000)
    )
    return create_app(fetching, clock=clock)


async def test_fetching_when_turned_on(
    fetching_app: Starlette, clock: ManualClock, image_host: str
) -> None:
    transport = httpx.ASGITransport(app=fetching_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
        assert (await outcome(http, clock, [f"{image_host}/cat.png"])).status_code == 200
        entries = await detail(http, clock, [f"{image_host}/gone.png", f"{image_host}/big.png"])
    assert [e["type"] for e in entries] == ["file_download_error", "file_too_large"]


@pytest.mark.parametrize(
    ("url", "payload"),
    [
        ("data:image/png;base64,aGk=", b"hi"),
        ("data:,hello%20there", b"hello there"),
        ("data:text/plain;charset=utf-8;base64,aGk=", b"hi"),
    ],
)
def test_data_uri_payloads(url: str, payload: bytes) -> None:
    assert data_uri_bytes(url) == payload


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("http://127.0.0.1:8000/files/b/x/a.png", "b/x/a.png"),
        ("http://localhost:9/cdn/files/b/x/a.png", "b/x/a.png"),
        ("https://v3b.fal.media/files/b/x/a.png", "b/x/a.png"),
        ("http://fake.example:8000/files/b/x/a.png", "b/x/a.png"),
        ("http://example.com/files/b/x/a.png", None),
        ("http://127.0.0.1:8000/other/a.png", None),
        ("http://[::1/files/b/x/a.png", None),
    ],
)
def test_which_urls_are_the_fakes_own_files(url: str, path: str | None) -> None:
    split = split_url(url)
    own = None if split is None else own_path(url, *split, ["http://fake.example:8000"])
    assert own == path


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2:8123/ref.png",
        "http://10.1.2.3/ref.png",
        "http://192.168.0.7/ref.png",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/ref.png",
        "http://[::ffff:10.0.0.1]/ref.png",
        "http://0.0.0.0/ref.png",
        "http://localhost:3000/ref.png",
        "http://printer.local/ref.png",
        "http://build-box/ref.png",
        "http://api.internal/ref.png",
        # URLs no one can read: an unclosed IPv6 bracket, a bad IP literal, a port past 65535.
        "http://[::1/files/b/x/a.png",
        "http://[zz]/ref.png",
        "http://example.com:99999/ref.png",
    ],
)
async def test_a_url_fals_servers_could_not_reach_fails_to_download(
    http: httpx.AsyncClient, clock: ManualClock, url: str
) -> None:
    (entry,) = await detail(http, clock, [url])
    assert (entry["type"], entry["loc"], entry["input"]) == (
        "file_download_error",
        ["body", "image_urls", 0],
        url,
    )

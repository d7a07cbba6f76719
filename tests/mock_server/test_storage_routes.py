"""fal's storage flows, in process: each stores the bytes and serves them at the URL it gave."""

from __future__ import annotations

import hashlib
from datetime import datetime

import httpx
import pytest

from falfake import ManualClock, Retention, Settings, create_app
from tests.conftest import BASE_URL, KEY

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
FILES_URL = rf"{BASE_URL}/files/b/[0-9a-f]{{8}}/[\w-]{{21}}/"


async def cdn_token(http: httpx.AsyncClient) -> str:
    response = await http.post("/rest/storage/auth/token", params={"storage_type": "fal-cdn-v3"})
    token: str = response.json()["token"]
    return token


async def test_cdn_token_has_a_zoned_expiry_and_the_cdn_base(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    response = await http.post("/rest/storage/auth/token", json={})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "token_type", "base_url", "expires_at"}
    assert body["token_type"] == "Bearer"
    assert body["base_url"] == f"{BASE_URL}/cdn"
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.tzinfo is not None
    assert expires.timestamp() == clock.now() + 3600


async def test_cdn_upload_stores_the_bytes_under_their_name(http: httpx.AsyncClient) -> None:
    token = await cdn_token(http)
    response = await http.post(
        "/cdn/files/upload",
        content=PNG,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "image/png",
            "X-Fal-File-Name": "my ref.png",
        },
    )
    assert response.status_code == 200
    url = response.json()["access_url"]
    assert httpx.URL(url).path.endswith("/my_ref.png")
    served = await http.get(url)
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Key test-key"])
async def test_cdn_upload_needs_a_token_we_issued(
    anonymous: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await anonymous.post("/cdn/files/upload", content=PNG, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or expired upload token"}


async def test_expired_cdn_token_is_refused(http: httpx.AsyncClient, clock: ManualClock) -> None:
    token = await cdn_token(http)
    clock.advance(3600)
    response = await http.post(
        "/cdn/files/upload", content=PNG, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


async def test_initiate_then_put_serves_the_file(http: httpx.AsyncClient) -> None:
    initiated = await http.post(
        "/rest/storage/upload/initiate",
        params={"storage_type": "gcs"},
        json={"file_name": "ref.png", "content_type": "image/png"},
    )
    assert initiated.status_code == 200
    urls = initiated.json()
    assert set(urls) == {"upload_url", "file_url"}
    assert urls["upload_url"].startswith(f"{BASE_URL}/uploads/")
    put = await http.put(urls["upload_url"], content=PNG, headers={"Content-Type": "image/png"})
    assert put.status_code == 200
    served = await http.get(urls["file_url"])
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"


async def test_a_content_type_with_parameters_is_served_as_given(http: httpx.AsyncClient) -> None:
    content_type = "text/plain; charset=utf-8"
    initiated = await http.post(
        "/rest/storage/upload/initiate", json={"file_name": "a.txt", "content_type": content_type}
    )
    urls = initiated.json()
    put = await http.put(urls["upload_url"], content=b"hello")
    assert put.status_code == 200
    assert (await http.get(urls["file_url"])).headers["content-type"] == content_type


async def test_initiate_defaults_the_name(http: httpx.AsyncClient) -> None:
    urls = (await http.post("/rest/storage/upload/initiate", json={})).json()
    assert urls["file_url"].endswith("/upload.bin")


@pytest.mark.parametrize(
    ("content", "entry_type"),
    [
        pytest.param(b'{"file_name": 5}', "string_type", id="name-not-string"),
        pytest.param(b"[]", "model_attributes_type", id="not-an-object"),
        pytest.param(b"{", "json_invalid", id="broken-json"),
        pytest.param(
            b'{"content_type": "text/plain\\r\\nx-evil: 1"}', "string_pattern_mismatch", id="crlf"
        ),
        pytest.param(b'{"content_type": "image/\\udfff"}', "string_unicode", id="surrogate"),
        pytest.param(
            '{"content_type": "ímage/png"}'.encode(), "string_pattern_mismatch", id="non-ascii"
        ),
        pytest.param(b'{"content_type": ""}', "string_pattern_mismatch", id="empty-type"),
        pytest.param(b'{"content_type": "' + b"a" * 256 + b'"}', "string_too_long", id="long-type"),
    ],
)
async def test_initiate_with_a_bad_body_is_422(
    http: httpx.AsyncClient, content: bytes, entry_type: str
) -> None:
    response = await http.post(
        "/rest/storage/upload/initiate",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == entry_type


async def test_storage_calls_need_a_fal_key(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post("/rest/storage/upload/initiate", json={})
    assert response.status_code == 401


async def test_put_to_an_unknown_upload_is_404(http: httpx.AsyncClient) -> None:
    response = await http.put("/uploads/nope", content=PNG)
    assert response.status_code == 404
    assert response.json() == {"detail": "Upload not found"}


async def test_js_multipart_parts_answer_json_and_etag_then_join_in_order(
    http: httpx.AsyncClient,
) -> None:
    initiated = await http.post(
        "/rest/storage/upload/initiate-multipart",
        json={"file_name": "big.bin", "content_type": "application/octet-stream"},
    )
    upload_url = initiated.json()["upload_url"]
    parts = []
    for number, chunk in [(1, b"first-"), (2, b"second")]:
        response = await http.put(f"{upload_url}/{number}", content=chunk)
        tag = hashlib.md5(chunk, usedforsecurity=False).hexdigest()
        assert response.json() == {"partNumber": number, "etag": tag}
        assert response.headers["etag"] == f'"{tag}"'
        parts.append(response.json())
    # Parts finish in parallel; clients may list them in any order.
    completed = await http.post(f"{upload_url}/complete", json={"parts": parts[::-1]})
    assert completed.status_code == 200
    assert (await http.get(initiated.json()["file_url"])).content == b"first-second"


async def test_python_multipart_uses_the_access_url(http: httpx.AsyncClient) -> None:
    token = await cdn_token(http)
    started = await http.post(
        "/cdn/files/upload/multipart",
        headers={"Authorization": f"Bearer {token}", "X-Fal-File-Name": "big.bin"},
    )
    access_url, upload_id = started.json()["access_url"], started.json()["uploadId"]
    part = await http.put(f"{access_url}/multipart/{upload_id}/1", content=b"only part")
    parts = [{"partNumber": 1, "etag": part.headers["etag"]}]
    completed = await http.post(
        f"{access_url}/multipart/{upload_id}/complete", json={"parts": parts}
    )
    assert completed.status_code == 200
    assert (await http.get(access_url)).content == b"only part"


@pytest.fixture
async def upload_url(http: httpx.AsyncClient) -> str:
    initiated = await http.post("/rest/storage/upload/initiate-multipart", json={})
    url: str = initiated.json()["upload_url"]
    await http.put(f"{url}/1", content=b"data")
    return url


@pytest.mark.parametrize(
    ("parts", "detail"),
    [
        pytest.param([{"partNumber": 2, "etag": "x"}], "Part 2 was never uploaded.", id="missing"),
        pytest.param(
            [{"partNumber": 1, "etag": "wrong"}], "ETag of part 1 does not match.", id="bad-etag"
        ),
    ],
)
async def test_completing_with_wrong_parts_is_400(
    http: httpx.AsyncClient, upload_url: str, parts: list[dict[str, object]], detail: str
) -> None:
    response = await http.post(f"{upload_url}/complete", json={"parts": parts})
    assert response.status_code == 400
    assert response.json() == {"detail": detail, "error_type": "bad_request"}


async def test_completing_with_no_parts_is_422(http: httpx.AsyncClient, upload_url: str) -> None:
    response = await http.post(f"{upload_url}/complete", json={"parts": []})
    assert response.status_code == 422


@pytest.mark.parametrize("number", ["0", "10001", "x", "9" * 5000])
async def test_bad_part_numbers_are_400(
    http: httpx.AsyncClient, upload_url: str, number: str
) -> None:
    response = await http.put(f"{upload_url}/{number}", content=b"data")
    assert response.status_code == 400


async def test_upload_over_the_limit_is_413(http: httpx.AsyncClient) -> None:
    app = create_app(Settings(max_upload_bytes=10))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=http.headers
    ) as small:
        url = (await small.post("/rest/storage/upload/initiate", json={})).json()["upload_url"]
        response = await small.put(url, content=b"x" * 11)
    assert response.status_code == 413


@pytest.fixture
def bounded(clock: ManualClock) -> httpx.AsyncClient:
    """A fake that takes uploads of up to 10 bytes, and 16 bytes of unfinished parts in all."""
    settings = Settings(max_upload_bytes=10, retention=Retention(max_file_bytes=16, max_files=100))
    app = create_app(settings, clock=clock)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=KEY)


async def multipart(http: httpx.AsyncClient) -> str:
    initiated = await http.post("/rest/storage/upload/initiate-multipart", json={})
    url: str = initiated.json()["upload_url"]
    return url


async def test_parts_adding_up_past_the_upload_limit_get_413_and_keep_the_rest(
    bounded: httpx.AsyncClient,
) -> None:
    async with bounded:
        url = await multipart(bounded)
        first = await bounded.put(f"{url}/1", content=b"123456")
        refused = await bounded.put(f"{url}/2", content=b"12345")
        assert (refused.status_code, refused.json()) == (
            413,
            {"detail": "Upload is larger than 10 bytes."},
        )
        done = await bounded.post(f"{url}/complete", json={"parts": [first.json()]})
        assert done.status_code == 200


async def test_unfinished_uploads_past_the_byte_bound_go_oldest_first(
    bounded: httpx.AsyncClient,
) -> None:
    async with bounded:
        oldest, newer, newest = [await multipart(bounded) for _ in range(3)]
        await bounded.put(f"{oldest}/1", content=b"12345678")
        await bounded.put(f"{newer}/1", content=b"12345678")
        assert (await bounded.put(f"{newest}/1", content=b"1234")).status_code == 200
        assert (await bounded.put(f"{oldest}/2", content=b"x")).status_code == 404
        assert (await bounded.put(f"{newer}/2", content=b"x")).status_code == 200


async def test_an_upload_not_completed_within_an_hour_is_forgotten(
    bounded: httpx.AsyncClient, clock: ManualClock
) -> None:
    async with bounded:
        url = await multipart(bounded)
        part = (await bounded.put(f"{url}/1", content=b"abc")).json()
        clock.advance(3600.0)
        done = await bounded.post(f"{url}/complete", json={"parts": [part]})
        assert (done.status_code, done.json()) == (404, {"detail": "Upload not found"})


async def test_a_part_larger_than_all_the_room_for_unfinished_uploads_is_413(
    clock: ManualClock,
) -> None:
    settings = Settings(max_upload_bytes=10, retention=Retention(max_file_bytes=8))
    app = create_app(settings, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=KEY
    ) as http:
        url = await multipart(http)
        refused = await http.put(f"{url}/1", content=b"123456789")
    assert (refused.status_code, refused.json()) == (
        413,
        {"detail": "Too many bytes in unfinished uploads."},
    )


async def test_a_file_larger_than_all_storage_is_413(clock: ManualClock) -> None:
    app = create_app(Settings(retention=Retention(max_file_bytes=5)), clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=KEY
    ) as http:
        initiated = (await http.post("/rest/storage/upload/initiate", json={})).json()
        refused = await http.put(initiated["upload_url"], content=b"123456")
        assert (refused.status_code, refused.json()) == (
            413,
            {"detail": "File is larger than the 5 bytes kept."},
        )
        assert (await http.get(initiated["file_url"])).status_code == 404

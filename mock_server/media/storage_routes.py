"""fal's storage flows (PROTOCOL.md §13): CDN token + upload, initiate + PUT, and multipart.

`rest` routes need a fal key (the mount checks it), `cdn` upload routes the CDN token, and the
`/uploads` and `/files/.../multipart` URLs handed out are open, like signed URLs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypedDict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from falfake.fake import Fake
from falfake.http.json_response import JSONResponse
from falfake.http.request_parts import fake_of, read_body
from falfake.http.urls import media_root, service_root
from falfake.media.uploads import safe_file_name
from falfake.validation import parse_part_number

_DEFAULT_TYPE = "application/octet-stream"
_SMALL_BODY = 64 * 1024


# The replies' shapes: what `falfake.contracts.wire` describes, without pydantic on the request
# path; a contract test holds the two together.
class CdnTokenBody(TypedDict):
    token: str
    token_type: str
    base_url: str
    expires_at: str


class AccessUrlBody(TypedDict):
    access_url: str


class MultipartStartedBody(TypedDict):
    access_url: str
    uploadId: str


class UploadUrlsBody(TypedDict):
    upload_url: str
    file_url: str


class UploadPartBody(TypedDict):
    partNumber: int
    etag: str


class CompletedBody(TypedDict):
    access_url: str
    file_url: str


def _files_url(request: Request, fake: Fake, path: str) -> str:
    return f"{media_root(request, fake.settings.public_url)}/files/{path}"


async def cdn_token(request: Request) -> Response:
    """`POST rest.fal.ai/storage/auth/token`: a bearer token for the CDN, expiry with a zone."""
    token, expiry = await fake_of(request).uploads.issue_token()
    body: CdnTokenBody = {
        "token": token,
        "token_type": "Bearer",
        "base_url": service_root(request, "cdn"),
        "expires_at": datetime.fromtimestamp(expiry, UTC).isoformat(),
    }
    return JSONResponse(body)


async def cdn_upload(request: Request) -> Response:
    """`POST v3.fal.media/files/upload`: the whole file in one request (Python's default)."""
    fake = fake_of(request)
    await fake.uploads.check_token(request.headers.get("authorization"))
    data = await read_body(request, fake.settings.max_upload_bytes)
    path = fake.new_upload_path(safe_file_name(request.headers.get("x-fal-file-name")))
    await fake.files.put(path, data, request.headers.get("content-type", _DEFAULT_TYPE))
    body: AccessUrlBody = {"access_url": _files_url(request, fake, path)}
    return JSONResponse(body)


async def cdn_multipart_start(request: Request) -> Response:
    """`POST {base_url}/files/upload/multipart`: Python's start of a large upload."""
    fake = fake_of(request)
    await fake.uploads.check_token(request.headers.get("authorization"))
    path = fake.new_upload_path(safe_file_name(request.headers.get("x-fal-file-name")))
    upload_id = await fake.uploads.expect(path, request.headers.get("content-type", _DEFAULT_TYPE))
    body: MultipartStartedBody = {
        "access_url": _files_url(request, fake, path),
        "uploadId": upload_id,
    }
    return JSONResponse(body)


async def initiate(request: Request) -> Response:
    """`POST rest.fal.ai/storage/upload/initiate[-multipart]`: where to PUT, and the file's URL."""
    fake = fake_of(request)
    raw = await read_body(request, _SMALL_BODY)
    from falfake.http.bodies import UploadRequest, parse_model  # pydantic, on first use

    upload = parse_model(UploadRequest, raw, request.headers.get("content-type"))
    path = fake.new_upload_path(safe_file_name(upload.file_name))
    upload_id = await fake.uploads.expect(path, upload.content_type)
    root = media_root(request, fake.settings.public_url)
    urls: UploadUrlsBody = {
        "upload_url": f"{root}/uploads/{upload_id}",
        "file_url": _files_url(request, fake, path),
    }
    return JSONResponse(urls)


async def put_upload(request: Request) -> Response:
    """`PUT <upload_url>`: the file's bytes; the file is served from then on."""
    fake = fake_of(request)
    pending = await fake.uploads.pending(request.path_params["upload_id"])
    data = await read_body(request, fake.settings.max_upload_bytes)
    await fake.files.put(
        pending.path, data, request.headers.get("content-type", pending.content_type)
    )
    return Response(status_code=200)


async def put_part(request: Request) -> Response:
    """A multipart part: both clients' ways of reading its ETag, header and JSON (§13.4)."""
    fake = fake_of(request)
    number = parse_part_number(request.path_params["part"])
    data = await read_body(request, fake.settings.max_upload_bytes)
    tag = await fake.uploads.add_part(request.path_params["upload_id"], number, data)
    part: UploadPartBody = {"partNumber": number, "etag": tag}
    return JSONResponse(part, headers={"ETag": f'"{tag}"'})


async def complete(request: Request) -> Response:
    """Join the parts; the file is served at its URL from then on."""
    fake = fake_of(request)
    raw = await read_body(request, _SMALL_BODY)
    from falfake.http.bodies import CompleteRequest, parse_model  # pydantic, on first use

    body = parse_model(CompleteRequest, raw, request.headers.get("content-type"))
    parts = [(part.part_number, part.etag) for part in body.parts]
    pending, data = await fake.uploads.complete(request.path_params["upload_id"], parts)
    await fake.files.put(pending.path, data, pending.content_type)
    url = _files_url(request, fake, pending.path)
    done: CompletedBody = {"access_url": url, "file_url": url}
    return JSONResponse(done)


def rest_storage_routes() -> list[BaseRoute]:
    return [
        Route("/storage/auth/token", cdn_token, methods=["POST"]),
        Route("/storage/upload/initiate", initiate, methods=["POST"]),
        Route("/storage/upload/initiate-multipart", initiate, methods=["POST"]),
    ]


def cdn_upload_routes() -> list[BaseRoute]:
    return [
        Route("/files/upload", cdn_upload, methods=["POST"]),
        Route("/files/upload/multipart", cdn_multipart_start, methods=["POST"]),
    ]


def signed_upload_routes() -> list[BaseRoute]:
    """The open URLs handed out for uploads, on the fake's own address."""
    return [
        Route("/uploads/{upload_id}", put_upload, methods=["PUT"]),
        Route("/uploads/{upload_id}/{part}", put_part, methods=["PUT"]),
        Route("/uploads/{upload_id}/complete", complete, methods=["POST"]),
        Route("/files/{path:path}/multipart/{upload_id}/{part}", put_part, methods=["PUT"]),
        Route("/files/{path:path}/multipart/{upload_id}/complete", complete, methods=["POST"]),
    ]

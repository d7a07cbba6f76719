"""Serving stored files with `HEAD` and single byte ranges, so players can seek."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from falfake.http.request_parts import fake_of
from falfake.media.files import byte_range


async def get_file(request: Request) -> Response:
    stored = await fake_of(request).files.read(request.path_params["path"])
    size = len(stored.data)
    headers = {"Accept-Ranges": "bytes"}
    selected = byte_range(request.headers.get("range"), size)
    if selected is None:
        return Response(stored.data, media_type=stored.content_type, headers=headers)
    first, last = selected
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return Response(
        stored.data[first : last + 1],
        status_code=206,
        media_type=stored.content_type,
        headers=headers,
    )


def file_routes() -> list[BaseRoute]:
    return [Route("/files/{path:path}", get_file, methods=["GET"])]

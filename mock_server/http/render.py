"""The one renderer: every error reply the fake writes is made here, for Starlette's exception
handler, the middleware that runs outside it (ingress), the scenario runner and the front door's
refusals (written to the socket before any HTTP server reads it)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from falfake.errors import FalError
from falfake.http.json_response import JSONResponse

# fal's request id, on submit and result replies and on the errors that know it.
REQUEST_ID_HEADER = "x-fal-request-id"

_INGRESS_PAGE = "<html><head><title>{status}</title></head><body><center>nginx</center></body>"


def fal_error_response(exc: FalError) -> JSONResponse:
    """The response for a fal error: its body, status and headers."""
    return error_response(
        exc.status_code,
        exc.body(),
        error_type=exc.error_type,
        request_id=exc.request_id,
        headers=exc.headers(),
    )


def error_response(
    status: int,
    body: object,
    *,
    error_type: str | None = None,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An error in fal's shape: `X-Fal-Error-Type` and the request id as headers when known."""
    sent = dict(headers or {})
    if error_type is not None:
        sent["X-Fal-Error-Type"] = error_type
    if request_id is not None:
        sent[REQUEST_ID_HEADER] = request_id
    return JSONResponse(body, status_code=status, headers=sent)


def ingress_page(status: int, headers: Mapping[str, str]) -> HTMLResponse:
    """What fal's nginx answers before a request exists (a 502, 503 or 504; §15.3)."""
    return HTMLResponse(_INGRESS_PAGE.format(status=status), status, headers=dict(headers))


def refusal_bytes(reason: str, status: str = "403 Forbidden") -> bytes:
    """An HTTP/1.1 error reply in fal's flat JSON shape, whole, for a socket no server reads."""
    body = json.dumps({"detail": reason}).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def render(request: Request, exc: Exception) -> Response:
    """Starlette's exception handler: the only code that turns an error into a response.

    A coroutine, since Starlette runs a plain function handler in a worker thread: a hop per error
    reply, which showed in profiles of polls for unknown ids and of 429s under load."""
    if isinstance(exc, FalError):
        return fal_error_response(exc)
    if isinstance(exc, HTTPException):
        # Routing errors and Starlette's body limit, in FastAPI's JSON shape rather than plain text.
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )
    raise exc

"""The one renderer: every error reply the fake writes, from Starlette's handler, from the
middleware that runs outside it (ingress, scenarios), is made here."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from mock_server.errors import REQUEST_ID_HEADER, FalError
from mock_server.http.json_response import JSONResponse


def fal_error_response(exc: FalError) -> JSONResponse:
    """The response for a fal error: its body, status and headers."""
    headers = exc.headers()
    if exc.error_type is not None:
        headers["X-Fal-Error-Type"] = exc.error_type
    if exc.request_id is not None:
        headers[REQUEST_ID_HEADER] = exc.request_id
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


def render(request: Request, exc: Exception) -> Response:
    """Starlette's exception handler: the only code that turns an error into a response."""
    if isinstance(exc, FalError):
        return fal_error_response(exc)
    if isinstance(exc, HTTPException):
        # Routing errors and Starlette's body limit, in FastAPI's JSON shape rather than plain text.
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )
    raise exc

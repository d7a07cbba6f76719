"""falfake's own endpoints, beside fal's: the webhook JWKS and the delivery log."""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from contracts import contract_path
from mock_server.fake import fake_of
from mock_server.json_response import JSONResponse

CONTROL_PREFIX = "/_falfake"


async def jwks(request: Request) -> Response:
    """The public key webhooks are signed with, where fal publishes its own (§12)."""
    return JSONResponse(fake_of(request).signer.jwks())


@functools.cache
def _openapi() -> bytes:
    return contract_path("openapi.json").read_bytes()


async def openapi(request: Request) -> Response:
    """The OpenAPI document in contracts/, the one the fake's schemas come from."""
    return Response(_openapi(), media_type="application/json")


async def webhook_log(request: Request) -> Response:
    """Every delivery attempt so far, oldest first; `?request_id=` narrows it to one request."""
    attempts = fake_of(request).deliveries.attempts(request.query_params.get("request_id"))
    return JSONResponse({"attempts": [attempt.to_json() for attempt in attempts]})


def control_routes() -> list[BaseRoute]:
    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        # rest.fal.ai and rest.alpha.fal.ai serve it without a key, ahead of the keyed /rest mount.
        Route("/rest/.well-known/jwks.json", jwks, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/webhooks", webhook_log, methods=["GET"]),
    ]

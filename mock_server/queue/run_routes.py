"""Sync run (`fal.run`): the output or the error in the reply itself (PROTOCOL.md §8)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from falfake.http.calls import read_call
from falfake.http.json_response import JSONResponse
from falfake.http.render import REQUEST_ID_HEADER
from falfake.http.request_parts import fake_of
from falfake.queue import operations
from falfake.queue.plans import Endpoint
from falfake.queue.routes import UnknownApplicationRoute


async def run(request: Request, *, endpoint: Endpoint) -> Response:
    fake = fake_of(request)
    call = await read_call(request, fake.settings, fake.rate_limiter, queued=False)
    request_id, output = await operations.run(fake, endpoint, call)
    headers = {REQUEST_ID_HEADER: request_id, "x-fal-billable-units": output.billable_units}
    return JSONResponse(output.body, headers=headers)


def run_routes(endpoints: Sequence[Endpoint]) -> list[BaseRoute]:
    return [
        *(
            Route(f"/{e.endpoint_id}", functools.partial(run, endpoint=e), methods=["POST"])
            for e in endpoints
        ),
        UnknownApplicationRoute("", endpoints),
    ]

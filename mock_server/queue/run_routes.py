"""Sync run (`fal.run`): the output or the error in the reply itself (PROTOCOL.md §8), and
`/stream`, the same run as server-sent events (STREAMING.md §1)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from falfake.http.calls import read_call
from falfake.http.json_response import JSONResponse
from falfake.http.render import REQUEST_ID_HEADER
from falfake.http.request_parts import fake_of
from falfake.http.scenario_runner import dropped_after
from falfake.queue import operations
from falfake.queue.plans import Endpoint
from falfake.queue.routes import UnknownApplicationRoute
from falfake.queue.sse import SSE_HEADERS, sse_event


async def run(request: Request, *, endpoint: Endpoint) -> Response:
    fake = fake_of(request)
    call = await read_call(request, fake.settings, fake.rate_limiter, queued=False)
    request_id, output = await operations.run(fake, endpoint, call)
    headers = {REQUEST_ID_HEADER: request_id, "x-fal-billable-units": output.billable_units}
    return JSONResponse(output.body, headers=headers)


async def stream(request: Request, *, endpoint: Endpoint) -> Response:
    fake = fake_of(request)
    call = await read_call(request, fake.settings, fake.rate_limiter, queued=False)
    request_id, events = await operations.stream(fake, endpoint, call)
    lines = (sse_event(event) async for event in events)
    return StreamingResponse(
        dropped_after(lines, call.drop_after_events),
        media_type="text/event-stream",
        headers={**SSE_HEADERS, REQUEST_ID_HEADER: request_id},
    )


def run_routes(endpoints: Sequence[Endpoint]) -> list[BaseRoute]:
    return [
        *(
            Route(
                f"/{e.endpoint_id}/stream", functools.partial(stream, endpoint=e), methods=["POST"]
            )
            for e in endpoints
        ),
        *(
            Route(f"/{e.endpoint_id}", functools.partial(run, endpoint=e), methods=["POST"])
            for e in endpoints
        ),
        UnknownApplicationRoute("", endpoints),
    ]

"""Sync run (`fal.run`): the output or the error in the reply itself (PROTOCOL.md §8)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from falfake.harness.scenarios import current_effect
from falfake.http.json_response import JSONResponse
from falfake.http.render import REQUEST_ID_HEADER
from falfake.http.request_parts import fake_of, read_body
from falfake.http.urls import header, media_root
from falfake.media.outputs import publish_output
from falfake.queue.plans import Endpoint, plan_job
from falfake.queue.replies import job_output, reject_early
from falfake.queue.routes import (
    UnknownApplicationRoute,
    plan_context,
    take_rate_token,
)
from falfake.queue.stubs import stubbed
from falfake.validation import parse_request_timeout


async def run(request: Request, *, endpoint: Endpoint) -> Response:
    """Without a queue the request starts at once, so `X-Fal-Request-Timeout` is only checked."""
    fake = fake_of(request)
    take_rate_token(request, fake)
    parse_request_timeout(
        header(request.scope, b"x-fal-request-timeout"), fake.settings.min_request_timeout_seconds
    )
    request_id = fake.new_request_id()
    raw = await read_body(request, fake.settings.max_body_bytes)
    effect = current_effect()
    context = plan_context(request, fake, request_id, effect)
    job = await plan_job(endpoint, raw, header(request.scope, b"content-type"), context)
    reject_early(job)
    job = stubbed(job, effect.stub)
    if effect.stuck:
        await asyncio.Event().wait()  # until the client gives up and disconnects
    run_seconds = effect.run_seconds
    await fake.clock.sleep(fake.settings.timing.run_seconds if run_seconds is None else run_seconds)
    generation = job_output(job)
    output = await publish_output(
        generation,
        fake.new_output_path(),
        fake.files,
        media_root(request, fake.settings.public_url),
        fake.work,
    )
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

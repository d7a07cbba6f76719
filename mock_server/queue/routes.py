"""Queue API endpoints (`queue.fal.run`): submit, status, status stream, result, cancel."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from falfake.errors import UnknownApplication
from falfake.http.calls import read_call
from falfake.http.json_response import JSONResponse
from falfake.http.render import REQUEST_ID_HEADER
from falfake.http.request_parts import fake_of, query_value
from falfake.http.urls import media_root, service_root
from falfake.media.outputs import Output, publish_output
from falfake.queue import operations
from falfake.queue.models import Snapshot
from falfake.queue.plans import Endpoint
from falfake.queue.replies import (
    cancel_body,
    finished_output,
    status_body,
    status_code,
    submit_body,
)
from falfake.queue.sse import SSE_HEADERS, status_events
from falfake.validation import (
    parse_logs_flag,
)

SERVICE = "queue"


async def submit(request: Request, *, endpoint: Endpoint) -> Response:
    fake = fake_of(request)
    call = await read_call(request, fake.settings, fake.rate_limiter, queued=True)
    snapshot = await operations.submit(fake, endpoint, call)
    body = submit_body(snapshot, service_root(request, SERVICE))
    return JSONResponse(body, headers={REQUEST_ID_HEADER: snapshot.request.request_id})


async def get_status(request: Request, *, endpoint: Endpoint) -> Response:
    fake = fake_of(request)
    with_logs = parse_logs_flag(query_value(request, "logs"))
    snapshot = await fake.store.status(endpoint.app_id, request.path_params["request_id"])
    body = status_body(
        snapshot,
        service_root(request, SERVICE),
        with_logs=with_logs,
        error_fields=fake.settings.status_error_fields,
    )
    return JSONResponse(body, status_code=status_code(snapshot))


async def stream_status(request: Request, *, endpoint: Endpoint) -> Response:
    fake = fake_of(request)
    with_logs = parse_logs_flag(query_value(request, "logs"))
    request_id = request.path_params["request_id"]
    # An unknown id is a 404, not an empty stream.
    await fake.store.status(endpoint.app_id, request_id)
    root = service_root(request, SERVICE)

    async def render(snapshot_logs_from: int) -> dict[str, Any]:
        snapshot = await fake.store.status(endpoint.app_id, request_id)
        return status_body(
            snapshot,
            root,
            with_logs=with_logs,
            logs_from=snapshot_logs_from,
            error_fields=fake.settings.status_error_fields,
        )

    events = status_events(
        render,
        fake.clock,
        poll_seconds=fake.settings.sse_poll_seconds,
        keepalive_seconds=fake.settings.sse_keepalive_seconds,
    )
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


async def get_result(request: Request, *, endpoint: Endpoint) -> Response:
    fake = fake_of(request)
    request_id = request.path_params["request_id"]
    snapshot = await fake.store.status(endpoint.app_id, request_id)
    output = await finished_result(request, snapshot)
    headers = {REQUEST_ID_HEADER: request_id, "x-fal-billable-units": output.billable_units}
    return JSONResponse(output.body, headers=headers)


async def finished_result(request: Request, snapshot: Snapshot) -> Output:
    """The output a result GET answers, its files published; raises the request's error (or
    400 before COMPLETED), as the result route does."""
    fake = fake_of(request)
    generation = finished_output(snapshot, service_root(request, SERVICE))
    return await publish_output(
        generation,
        snapshot.request.output_path,
        fake.files,
        media_root(request, fake.settings.public_url),
        fake.work,
    )


async def cancel(request: Request, *, endpoint: Endpoint) -> Response:
    await fake_of(request).store.cancel(endpoint.app_id, request.path_params["request_id"])
    return JSONResponse(cancel_body(), status_code=202)


def queue_routes(endpoints: Sequence[Endpoint]) -> list[BaseRoute]:
    """Submit on the full endpoint id; the rest on `owner/app` and on the full id too (§2).

    Ordered by how often clients call them, since Starlette tries routes one by one: per endpoint
    (the seed endpoint first) its submit, its status polls and results; streams and cancels of
    all last (no two of these paths can match the same request).
    """
    frequent: list[BaseRoute] = []
    rest: list[BaseRoute] = []
    # Endpoints of one app (fal-ai/flux/dev and /schnell) share its `owner/app` routes: the store
    # finds a request by app and id, whichever endpoint took it.
    taken: set[str] = set()
    for endpoint in endpoints:
        bound = functools.partial(functools.partial, endpoint=endpoint)
        prefixes = dict.fromkeys([endpoint.app_id, endpoint.endpoint_id]).keys() - taken
        taken |= prefixes
        # A submit is tried first: an exact path, it costs a poll one quick miss, and saves a
        # submit (the costliest call) the polls' misses.
        frequent.append(Route(f"/queue/{endpoint.endpoint_id}", bound(submit), methods=["POST"]))
        for prefix in sorted(prefixes, key=len):
            base = f"/queue/{prefix}/requests/{{request_id}}"
            frequent += [
                Route(f"{base}/status", bound(get_status), methods=["GET"]),
                Route(base, bound(get_result), methods=["GET"]),
            ]
            rest += [
                Route(f"{base}/status/stream", bound(stream_status), methods=["GET"]),
                Route(f"{base}/cancel", bound(cancel), methods=["PUT"]),
            ]
    return [*frequent, *rest, UnknownApplicationRoute("/queue", endpoints)]


class UnknownApplicationRoute(Route):
    """Any path under `root` that names no served endpoint: fal's 404 for an unknown app.

    Paths of a served endpoint (its id, its requests) never match, so a wrong method or path there
    keeps Starlette's 405 or 404.
    """

    def __init__(self, root: str, endpoints: Sequence[Endpoint]) -> None:
        super().__init__(f"{root}/{{path:path}}", _unknown_application, methods=_ANY)
        self._served = frozenset(e.endpoint_id for e in endpoints)
        self._prefixes = tuple(
            {f"{e.endpoint_id}/" for e in endpoints} | {f"{e.app_id}/requests/" for e in endpoints}
        )

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        path = child.get("path_params", {}).get("path", "")
        if match is not Match.NONE and (path in self._served or path.startswith(self._prefixes)):
            return Match.NONE, {}
        return match, child


_ANY = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]


async def _unknown_application(request: Request) -> Response:
    raise UnknownApplication(request.path_params["path"])

"""falfake's own endpoints beside fal's: JWKS, OpenAPI, and the control API under `/_falfake/`.

Control API: scenarios (`GET`/`POST`/`DELETE /_falfake/scenarios`, `DELETE .../{id}`), the request
journal (`GET`/`DELETE /_falfake/requests`, `GET /_falfake/requests/count`), the clock
(`GET /_falfake/clock`, `POST .../advance`, `POST .../run-until`), webhook deliveries
(`GET /_falfake/webhooks`), `POST /_falfake/reset` and `GET /_falfake/health`; described at
`/_falfake/openapi.json`, which is made from the same table as the routes (`CONTROL`).
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from falfake.contracts.documents import EndpointDocument
from falfake.errors import NotFound
from falfake.harness.journal import CONTROL_PREFIX
from falfake.http.json_response import JSONResponse
from falfake.http.request_parts import fake_of, read_body
from falfake.queue.replies import status_body

_SMALL = 1024 * 1024
# Control bodies are JSON whatever their Content-Type says: `curl -d '{"seconds": 5}'` sends
# a form's type, and the README's one-liners should work as typed.
ANY_TYPE_IS_JSON = None


async def openapi(request: Request) -> Response:
    """The OpenAPI document of every endpoint served (contracts/openapi.json for the built-in
    ones), made on the first request: it needs pydantic, which loads with the first submit."""
    return Response(request.app.state.openapi(), media_type="application/json")


def openapi_of(documents: Sequence[EndpointDocument]) -> Callable[[], bytes]:
    """What `openapi` serves for the endpoints these documents describe, made once."""

    @functools.cache
    def made() -> bytes:
        from falfake.contracts.openapi import openapi

        document = openapi(documents)
        return json.dumps(document, ensure_ascii=False).encode()

    return made


async def control_openapi(request: Request) -> Response:
    return JSONResponse(control_document())


async def jwks(request: Request) -> Response:
    """The public key webhooks are signed with, where fal publishes its own (§12)."""
    return JSONResponse(fake_of(request).signer.jwks())


async def webhook_log(request: Request) -> Response:
    """Every delivery attempt so far, oldest first; `?request_id=` narrows it to one request."""
    attempts = await fake_of(request).deliveries.attempts(request.query_params.get("request_id"))
    return JSONResponse({"attempts": [attempt.to_json() for attempt in attempts]})


async def list_scenarios(request: Request) -> Response:
    """The active scenarios, in the order they are tried, with their counts."""
    return JSONResponse({"scenarios": await fake_of(request).scenarios.listed()})


async def add_scenario(request: Request) -> Response:
    """Add a scenario; its files are read now."""
    raw = await read_body(request, _SMALL)
    from falfake.http.bodies import SCENARIO, parse_json  # pydantic, on first use

    scenario = parse_json(SCENARIO, raw, ANY_TYPE_IS_JSON)
    scenario_id = await fake_of(request).scenarios.add(scenario)
    return JSONResponse({"id": scenario_id, **scenario.to_json()}, status_code=201)


async def clear_scenarios(request: Request) -> Response:
    """Remove every scenario."""
    await fake_of(request).scenarios.clear()
    return Response(status_code=204)


async def remove_scenario(request: Request) -> Response:
    """Remove one scenario."""
    scenario_id = request.path_params["scenario_id"]
    found = scenario_id.isascii() and scenario_id.isdigit() and len(scenario_id) < 10
    if not found or not await fake_of(request).scenarios.remove(int(scenario_id)):
        raise NotFound("Scenario not found")
    return Response(status_code=204)


def _journal_filters(request: Request) -> dict[str, str | None]:
    query = request.query_params
    return {"method": query.get("method"), "path": query.get("path"), "host": query.get("host")}


async def journal(request: Request) -> Response:
    """The request journal, oldest first; filters: method, path (any part), host."""
    entries = await fake_of(request).journal.entries(**_journal_filters(request))
    return JSONResponse({"requests": [entry.to_json() for entry in entries]})


async def journal_count(request: Request) -> Response:
    """How many journaled requests match the filters."""
    count = await fake_of(request).journal.count(**_journal_filters(request))
    return JSONResponse({"count": count})


async def clear_journal(request: Request) -> Response:
    """Forget the journal."""
    await fake_of(request).journal.clear()
    return Response(status_code=204)


async def clock(request: Request) -> Response:
    """The fake's time."""
    return JSONResponse({"now": fake_of(request).clock.now()})


async def advance(request: Request) -> Response:
    """Move a virtual clock forward by `seconds` (409 on a real clock)."""
    from falfake.http.bodies import Advance, parse_model  # pydantic, on first use

    body = parse_model(Advance, await read_body(request, _SMALL), ANY_TYPE_IS_JSON)
    return JSONResponse({"now": await fake_of(request).advance(body.seconds)})


async def run_until(request: Request) -> Response:
    """Move a virtual clock until `request_id` reaches `status`; its status with logs."""
    from falfake.http.bodies import RunUntil, parse_model  # pydantic, on first use

    fake = fake_of(request)
    body = parse_model(RunUntil, await read_body(request, _SMALL), ANY_TYPE_IS_JSON)
    snapshot = await fake.run_until(body.request_id, body.status)
    root = f"{str(request.base_url).rstrip('/')}/queue"
    return JSONResponse(status_body(snapshot, root, with_logs=True))


async def health(request: Request) -> Response:
    """Ready when the fake can serve: its storage answers (a load balancer's or a readiness
    probe's check). 503 with the reason otherwise."""
    fake = fake_of(request)
    storage = fake.storage
    problem = await storage.problem()
    if problem is not None:
        return JSONResponse(
            {"status": "unavailable", "storage": storage.name, "detail": problem},
            status_code=503,
        )
    # Which process answered: for a fleet behind a load balancer, or `--workers`.
    replica = f"{socket.gethostname()}:{os.getpid()}"
    return JSONResponse({"status": "ok", "storage": storage.name, "replica": replica})


async def index(request: Request) -> Response:
    """What a person (or a script) who opens the fake's address finds: what this is, and where
    the rest is."""
    base = str(request.base_url).rstrip("/")
    p = f"{base}{CONTROL_PREFIX}"
    return JSONResponse(
        {
            "service": "falfake",
            "description": "An offline fake of fal.ai's queue API",
            "version": _version(),
            "dashboard": f"{p}/ui/",
            "health": f"{p}/health",
            "openapi": f"{base}/openapi.json",
            "control_openapi": f"{p}/openapi.json",
            "endpoints": sorted(request.app.state.endpoints.endpoints),
            "queue": f"{base}/queue/{{endpoint_id}}",
        }
    )


def _version() -> str:
    try:
        return version("falfake")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


async def reset(request: Request) -> Response:
    """Forget every request, file, upload, scenario, journal entry and delivery."""
    await fake_of(request).reset()
    return Response(status_code=204)


@dataclass(frozen=True, slots=True)
class Control:
    """One operation of the control API: its route, and what its OpenAPI entry says besides the
    endpoint's docstring (the replies it gives, its body model, its query parameters)."""

    method: str
    path: str  # under /_falfake
    endpoint: Callable[[Request], Awaitable[Response]]
    replies: tuple[int, ...] = (200,)
    body: str | None = None  # the model's name in falfake.http.bodies
    query: tuple[str, ...] = ()

    def route(self) -> Route:
        return Route(f"{CONTROL_PREFIX}{self.path}", self.endpoint, methods=[self.method])


_JOURNAL_QUERY = ("method", "path", "host")
CONTROL = (
    Control("GET", "/webhooks", webhook_log, query=("request_id",)),
    Control("GET", "/scenarios", list_scenarios),
    Control("POST", "/scenarios", add_scenario, (201, 422), body="SCENARIO"),
    Control("DELETE", "/scenarios", clear_scenarios, (204,)),
    Control("DELETE", "/scenarios/{scenario_id}", remove_scenario, (204, 404)),
    Control("GET", "/requests", journal, query=_JOURNAL_QUERY),
    Control("DELETE", "/requests", clear_journal, (204,)),
    Control("GET", "/requests/count", journal_count, query=_JOURNAL_QUERY),
    Control("GET", "/clock", clock),
    Control("POST", "/clock/advance", advance, (200, 409, 422), body="Advance"),
    Control("POST", "/clock/run-until", run_until, (200, 404, 409, 422), body="RunUntil"),
    Control("POST", "/reset", reset, (204,)),
    Control("GET", "/health", health, (200, 503)),
)


@functools.cache
def control_document() -> dict[str, Any]:
    """The control API's OpenAPI document, made from `CONTROL` and the body models (made when
    first asked for: the models need pydantic)."""
    from pydantic import TypeAdapter

    from falfake.http import bodies

    paths: dict[str, dict[str, Any]] = {}
    for control in CONTROL:
        operation: dict[str, Any] = {
            "summary": (control.endpoint.__doc__ or "").split("\n")[0],
            "responses": {
                str(code): {"description": HTTPStatus(code).phrase} for code in control.replies
            },
        }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", control.path)
        ] + [{"name": name, "in": "query", "schema": {"type": "string"}} for name in control.query]
        if parameters:
            operation["parameters"] = parameters
        if control.body is not None:
            model = getattr(bodies, control.body)
            adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
            schema = adapter.json_schema()
            operation["requestBody"] = {"content": {"application/json": {"schema": schema}}}
        paths.setdefault(f"{CONTROL_PREFIX}{control.path}", {})[control.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "falfake control API", "version": "1"},
        "paths": paths,
    }


def control_routes() -> list[BaseRoute]:
    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        # rest.fal.ai and rest.alpha.fal.ai serve it without a key, ahead of the keyed /rest mount.
        Route("/rest/.well-known/jwks.json", jwks, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/openapi.json", control_openapi, methods=["GET"]),
        *(control.route() for control in CONTROL),
        Route("/", index, methods=["GET"]),
    ]

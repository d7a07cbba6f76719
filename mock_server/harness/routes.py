"""falfake's own endpoints beside fal's: JWKS, OpenAPI, and the control API under `/_falfake/`.

Control API: scenarios (`GET`/`POST`/`DELETE /_falfake/scenarios`, `DELETE .../{id}`), the request
journal (`GET`/`DELETE /_falfake/requests`, `GET /_falfake/requests/count`), the clock
(`GET /_falfake/clock`, `POST .../advance`, `POST .../run-until`), webhook deliveries
(`GET /_falfake/webhooks`) and `POST /_falfake/reset`; described at `/_falfake/openapi.json`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from falfake.contracts.documents import EndpointDocument
from falfake.errors import NotFound
from falfake.harness.journal import CONTROL_PREFIX
from falfake.harness.openapi import control_document
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
    attempts = fake_of(request).deliveries.attempts(request.query_params.get("request_id"))
    return JSONResponse({"attempts": [attempt.to_json() for attempt in attempts]})


async def list_scenarios(request: Request) -> Response:
    return JSONResponse({"scenarios": fake_of(request).scenarios.listed()})


async def add_scenario(request: Request) -> Response:
    raw = await read_body(request, _SMALL)
    from falfake.http.bodies import SCENARIO, parse_json  # pydantic, on first use

    scenario = parse_json(SCENARIO, raw, ANY_TYPE_IS_JSON)
    scenario_id = fake_of(request).scenarios.add(scenario)
    return JSONResponse({"id": scenario_id, **scenario.to_json()}, status_code=201)


async def clear_scenarios(request: Request) -> Response:
    fake_of(request).scenarios.clear()
    return Response(status_code=204)


async def remove_scenario(request: Request) -> Response:
    scenario_id = request.path_params["scenario_id"]
    found = scenario_id.isascii() and scenario_id.isdigit() and len(scenario_id) < 10
    if not found or not fake_of(request).scenarios.remove(int(scenario_id)):
        raise NotFound("Scenario not found")
    return Response(status_code=204)


def _journal_filters(request: Request) -> dict[str, str | None]:
    query = request.query_params
    return {"method": query.get("method"), "path": query.get("path"), "host": query.get("host")}


async def journal(request: Request) -> Response:
    entries = fake_of(request).journal.entries(**_journal_filters(request))
    return JSONResponse({"requests": [entry.to_json() for entry in entries]})


async def journal_count(request: Request) -> Response:
    return JSONResponse({"count": fake_of(request).journal.count(**_journal_filters(request))})


async def clear_journal(request: Request) -> Response:
    fake_of(request).journal.clear()
    return Response(status_code=204)


async def clock(request: Request) -> Response:
    return JSONResponse({"now": fake_of(request).clock.now()})


async def advance(request: Request) -> Response:
    from falfake.http.bodies import Advance, parse_model  # pydantic, on first use

    body = parse_model(Advance, await read_body(request, _SMALL), ANY_TYPE_IS_JSON)
    return JSONResponse({"now": fake_of(request).advance(body.seconds)})


async def run_until(request: Request) -> Response:
    from falfake.http.bodies import RunUntil, parse_model  # pydantic, on first use

    fake = fake_of(request)
    body = parse_model(RunUntil, await read_body(request, _SMALL), ANY_TYPE_IS_JSON)
    snapshot = fake.run_until(body.request_id, body.status)
    root = f"{str(request.base_url).rstrip('/')}/queue"
    return JSONResponse(status_body(snapshot, root, with_logs=True))


async def health(request: Request) -> Response:
    """Ready when the fake can serve: its storage answers (a load balancer's or a readiness
    probe's check). 503 with the reason otherwise."""
    fake = fake_of(request)
    problem = fake.storage_problem()
    if problem is not None:
        return JSONResponse(
            {"status": "unavailable", "storage": fake.storage, "detail": problem},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "storage": fake.storage})


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
    fake_of(request).reset()
    return Response(status_code=204)


def control_routes() -> list[BaseRoute]:
    p = CONTROL_PREFIX
    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        # rest.fal.ai and rest.alpha.fal.ai serve it without a key, ahead of the keyed /rest mount.
        Route("/rest/.well-known/jwks.json", jwks, methods=["GET"]),
        Route(f"{p}/openapi.json", control_openapi, methods=["GET"]),
        Route(f"{p}/webhooks", webhook_log, methods=["GET"]),
        Route(f"{p}/scenarios", list_scenarios, methods=["GET"]),
        Route(f"{p}/scenarios", add_scenario, methods=["POST"]),
        Route(f"{p}/scenarios", clear_scenarios, methods=["DELETE"]),
        Route(f"{p}/scenarios/{{scenario_id}}", remove_scenario, methods=["DELETE"]),
        Route(f"{p}/requests", journal, methods=["GET"]),
        Route(f"{p}/requests", clear_journal, methods=["DELETE"]),
        Route(f"{p}/requests/count", journal_count, methods=["GET"]),
        Route(f"{p}/clock", clock, methods=["GET"]),
        Route(f"{p}/clock/advance", advance, methods=["POST"]),
        Route(f"{p}/clock/run-until", run_until, methods=["POST"]),
        Route(f"{p}/reset", reset, methods=["POST"]),
        Route(f"{p}/health", health, methods=["GET"]),
        Route("/", index, methods=["GET"]),
    ]

"""Applying scenarios to live traffic: the ASGI app that `Ingress` calls after host routing,
before the key check and the routes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from falfake.harness.scenarios import Call, Scenario, ScenarioBook, in_effect, operation_of
from falfake.http.render import error_response, ingress_page

_DEFAULT_DETAIL = {429: "Too many requests", 499: "Request cancelled by the client."}


class ConnectionDropped(Exception):
    """Raised after the response started, so the server drops the connection mid-reply."""


async def dropped_after(events: AsyncIterator[str], count: int | None) -> AsyncIterator[str]:
    """`events`, cut off after `count` of them as a scenario asked: the connection drops."""
    sent = 0
    async for event in events:
        if sent == count:
            raise ConnectionDropped(f"scenario dropped a stream after {count} events")
        yield event
        sent += 1


def scenario_response(scenario: Scenario, request_id: str) -> Response:
    """The error a scenario answers with, shaped as fal's (or as its ingress, without an id)."""
    status = scenario.status or 500
    headers: dict[str, str] = {}
    if scenario.retry_after is not None:
        headers["Retry-After"] = f"{scenario.retry_after:g}"
    if not scenario.request_id_header and status in (502, 503, 504):
        return ingress_page(status, headers)  # clients retry these
    detail = scenario.detail or _DEFAULT_DETAIL.get(status, "Scenario error")
    body: dict[str, object] = {"detail": detail}
    if scenario.error_type is not None and not isinstance(detail, list):
        body["error_type"] = scenario.error_type
    return error_response(
        status,
        body,
        error_type=scenario.error_type,
        request_id=request_id if scenario.request_id_header else None,
        headers=headers,
    )


class ScenarioRunner:
    """The first matching scenario answers, delays, drops, or marks the request for `app`."""

    def __init__(self, app: ASGIApp, scenarios: ScenarioBook, new_id: Callable[[], str]) -> None:
        self.app, self.scenarios, self.new_id = app, scenarios, new_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.scenarios:
            await self.app(scope, receive, send)
            return
        operation = operation_of(scope["method"], scope["path"])
        if operation == "other":  # the control API, files, JWKS: never a scenario's target
            await self.app(scope, receive, send)
            return
        body: object = None
        if self.scenarios.wants_body(operation):
            raw, receive = await buffered(receive)
            try:
                body = json.loads(raw) if raw else None
            except (ValueError, RecursionError):
                body = None
        call = Call(operation, scope["path"], Headers(scope=scope), body)
        scenario = await self.scenarios.match(call)
        if scenario is None:
            await self.app(scope, receive, send)
            return
        if scenario.latency:
            await asyncio.sleep(scenario.latency)
        if scenario.drop:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise ConnectionDropped(f"scenario dropped {scope['method']} {scope['path']}")
        if scenario.status is not None:
            await scenario_response(scenario, self.new_id())(scope, receive, send)
            return
        with in_effect(scenario.effect):
            await self.app(scope, receive, send)


async def buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a `receive` that hands it to the app again."""
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False) and message["type"] == "http.request"
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay

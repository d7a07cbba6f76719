"""Realtime routes: `POST rest.fal.ai/tokens/` and `wss://fal.run/{id}/realtime` (STREAMING.md §2).

A session keeps at most `max_buffering` inputs waiting (the oldest dropped, as fal's apps do),
answers each with one binary msgpack result followed by an `x-fal-message` with its timing, and
ends idle sessions with fal's `TIMEOUT` error and close 1000. Not implemented: fal's streaming and
bidirectional realtime modes (several outputs per input), and `ws.fal.run` (HTTP over WebSockets).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from falfake.errors import FalError, InvalidInput
from falfake.http.json_response import JSONResponse
from falfake.http.render import fal_error_response
from falfake.http.request_parts import fake_of, read_body
from falfake.realtime import sessions, tokens
from falfake.validation import decode_body

# What `max_buffering` may be (both clients check the same range, §2.2).
MAX_BUFFERING = 60


async def issue_token(request: Request) -> Response:
    """A bare JSON string, the one shape both clients read (§2.1); 201 as fal creates it."""
    fake = fake_of(request)
    raw = await read_body(request, fake.settings.max_body_bytes)
    apps, seconds = tokens.requested_token(decode_body(raw, request.headers.get("content-type")))
    token = tokens.issue(fake.signer, apps, fake.clock.now(), seconds)
    return JSONResponse(token, status_code=201)


async def realtime(websocket: WebSocket) -> None:
    fake = websocket.app.state.fake
    try:
        buffering = _buffering(websocket.query_params.get("max_buffering"))
    except FalError as exc:
        await websocket.send_denial_response(fal_error_response(exc))
        return
    await websocket.accept()
    inputs: collections.deque[bytes | str] = collections.deque(maxlen=buffering)
    arrived = asyncio.Event()
    idle_seconds = fake.settings.realtime_idle_seconds

    async def answer() -> None:
        import msgpack

        while True:
            try:
                async with asyncio.timeout(idle_seconds):
                    await arrived.wait()
            except TimeoutError:
                await websocket.send_text(
                    json.dumps(sessions.error("TIMEOUT", sessions.IDLE_REASON))
                )
                await websocket.close(1000)
                return
            frame = inputs.popleft()
            if not inputs:
                arrived.clear()
            try:
                if isinstance(frame, str):
                    raise sessions.BadFrame("inputs are binary msgpack frames, not text")
                ask = sessions.ask_of(sessions.decoded(frame))
            except sessions.BadFrame as exc:
                await websocket.send_text(json.dumps(sessions.error(exc.code, exc.reason)))
                continue
            started = fake.clock.now()
            output = await fake.work.run(functools.partial(sessions.result, ask))
            await websocket.send_bytes(msgpack.packb(output, use_bin_type=True))
            timing = sessions.message("timings", timing=round(fake.clock.now() - started, 4))
            await websocket.send_text(json.dumps(timing))

    answering = asyncio.get_running_loop().create_task(answer())
    try:
        while not answering.done():
            receiving = asyncio.ensure_future(websocket.receive())
            await asyncio.wait({receiving, answering}, return_when=asyncio.FIRST_COMPLETED)
            if not receiving.done():
                receiving.cancel()
                break
            message = receiving.result()
            if message["type"] == "websocket.disconnect":
                break
            frame = message.get("bytes")
            inputs.append(frame if frame is not None else message.get("text") or "")
            arrived.set()
    finally:
        answering.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await answering


def _buffering(value: str | None) -> int:
    if value is None:
        return MAX_BUFFERING
    if not value.isdigit() or not 1 <= int(value) <= MAX_BUFFERING:
        raise InvalidInput(
            [
                {
                    "loc": ["query", "max_buffering"],
                    "msg": f"Input should be an integer from 1 to {MAX_BUFFERING}",
                    "type": "int_parsing",
                    "input": value,
                }
            ]
        )
    return int(value)


def token_routes() -> list[BaseRoute]:
    return [Route("/tokens/", issue_token, methods=["POST"])]


def realtime_routes() -> list[BaseRoute]:
    return [WebSocketRoute(f"/{eid}/realtime", realtime) for eid in sessions.REALTIME_ENDPOINTS]

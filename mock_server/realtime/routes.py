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
from falfake.fake import Fake
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
    fake = fake_of(websocket)
    try:
        buffering = _buffering(websocket.query_params.get("max_buffering"))
    except FalError as exc:
        await websocket.send_denial_response(fal_error_response(exc))
        return
    await websocket.accept()
    await Session(websocket, fake, buffering).run()


class Session:
    """One socket: frames received into a bounded buffer, answered one at a time."""

    def __init__(self, websocket: WebSocket, fake: Fake, buffering: int) -> None:
        self.websocket, self.fake = websocket, fake
        self.inputs: collections.deque[bytes | str] = collections.deque(maxlen=buffering)
        self.arrived = asyncio.Event()

    async def run(self) -> None:
        """Receive until the client leaves or the answers end (idle), then stop both."""
        answering = asyncio.get_running_loop().create_task(self._answer())
        try:
            while not answering.done():
                receiving = asyncio.ensure_future(self.websocket.receive())
                await asyncio.wait({receiving, answering}, return_when=asyncio.FIRST_COMPLETED)
                if not receiving.done():
                    receiving.cancel()
                    break
                message = receiving.result()
                if message["type"] == "websocket.disconnect":
                    break
                frame = message.get("bytes")
                self.inputs.append(frame if frame is not None else message.get("text") or "")
                self.arrived.set()
        finally:
            answering.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await answering

    async def _answer(self) -> None:
        while await self._next_input():
            frame = self.inputs.popleft()
            if not self.inputs:
                self.arrived.clear()
            try:
                if isinstance(frame, str):
                    raise sessions.BadFrame("inputs are binary msgpack frames, not text")
                ask = sessions.ask_of(sessions.decoded(frame))
            except sessions.BadFrame as exc:
                await self._send_json(sessions.error(exc.code, exc.reason))
                continue
            await self._send_result(ask)

    async def _next_input(self) -> bool:
        """Whether an input came within the idle time; if not, fal's TIMEOUT and close 1000."""
        try:
            async with asyncio.timeout(self.fake.settings.realtime_idle_seconds):
                await self.arrived.wait()
        except TimeoutError:
            await self._send_json(sessions.error("TIMEOUT", sessions.IDLE_REASON))
            await self.websocket.close(1000)
            return False
        return True

    async def _send_result(self, ask: sessions.Ask) -> None:
        import msgpack

        started = self.fake.clock.now()
        output = await self.fake.work.run(functools.partial(sessions.result, ask))
        await self.websocket.send_bytes(msgpack.packb(output, use_bin_type=True))
        timing = round(self.fake.clock.now() - started, 4)
        await self._send_json(sessions.message("timings", timing=timing))

    async def _send_json(self, frame: dict[str, object]) -> None:
        await self.websocket.send_text(json.dumps(frame))


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

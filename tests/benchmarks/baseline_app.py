"""The baseline for `make bench`: a bare Starlette app with fixed replies on the fake's routes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import msgpack
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from falfake.endpoints.text import reply_text
from falfake.queue.streaming import text_events

STATUS = {
    "status": "COMPLETED",
    "request_id": "019e1951-c778-7120-9c82-16efcf40ec82",
    "response_url": "http://127.0.0.1/queue/google/gemini-omni-flash/requests/r",
    "status_url": "http://127.0.0.1/queue/google/gemini-omni-flash/requests/r/status",
    "cancel_url": "http://127.0.0.1/queue/google/gemini-omni-flash/requests/r/cancel",
    "logs": None,
    "metrics": {"inference_time": 0.7},
}
OUTPUT = {
    "video": {
        "url": "http://127.0.0.1/files/b/0a9ea0cc/u66I5Q5EHikrGF39EEk8t_output.mp4",
        "content_type": "video/mp4",
        "file_name": "output.mp4",
        "file_size": 4404019,
    }
}


async def submit(request: Request) -> Response:
    await request.body()
    return JSONResponse({**STATUS, "status": "IN_QUEUE", "metrics": {}, "queue_position": 0})


async def status(request: Request) -> Response:
    return JSONResponse(STATUS)


async def result(request: Request) -> Response:
    return JSONResponse(OUTPUT)


# The same events and result frame the fake sends for the bench's input, made once.
EVENTS = [
    f"data: {json.dumps(event, separators=(',', ':'))}\n\n"
    for event in text_events({"output": reply_text("Tell me a story")}, "output")
]
RESULT = msgpack.packb(
    {
        "images": [
            {"content": bytes(7000), "content_type": "image/jpeg", "width": 512, "height": 512}
        ]
    }
)


async def stream(request: Request) -> Response:
    await request.body()

    async def events() -> AsyncIterator[str]:  # async, as the fake's: no thread per event
        for event in EVENTS:
            yield event

    return StreamingResponse(events(), media_type="text/event-stream")


async def realtime(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.receive_bytes()
            await websocket.send_bytes(RESULT)
            await websocket.send_text('{"type":"x-fal-message","action":"timings","timing":0}')
    except WebSocketDisconnect:
        return


app = Starlette(
    routes=[
        Route("/queue/google/gemini-omni-flash/reference-to-video", submit, methods=["POST"]),
        Route("/queue/google/gemini-omni-flash/requests/{request_id}/status", status),
        Route("/queue/google/gemini-omni-flash/requests/{request_id}", result),
        Route("/run/fal-ai/any-llm/stream", stream, methods=["POST"]),
        WebSocketRoute("/run/fal-ai/fast-lcm-diffusion/realtime", realtime),
    ]
)

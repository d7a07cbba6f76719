"""The baseline for `make bench`: a bare Starlette app with fixed replies on the fake's routes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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


app = Starlette(
    routes=[
        Route("/queue/google/gemini-omni-flash/reference-to-video", submit, methods=["POST"]),
        Route("/queue/google/gemini-omni-flash/requests/{request_id}/status", status),
        Route("/queue/google/gemini-omni-flash/requests/{request_id}", result),
    ]
)

"""`AsyncFalClient` has the same surface and behaviour as `FalClient`."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from falfake.client import (
    AsyncFalClient,
    Completed,
    FalClient,
    Hosts,
    InProgress,
    Queued,
    ServerError,
)
from tests.client.conftest import INPUT, OUTPUT, REQUESTS, RUN, SUBMIT, cdn_token, queued

pytestmark = pytest.mark.anyio


@pytest.fixture
async def afal(mock: respx.MockRouter, sleeps: list[float]) -> AsyncIterator[AsyncFalClient]:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with AsyncFalClient("k", hosts=Hosts(), sleep=sleep) as client:
        yield client


def test_both_clients_offer_the_same_methods() -> None:
    def public(cls: type) -> dict[str, list[str]]:
        return {
            name: list(inspect.signature(member).parameters)
            for name, member in vars(cls).items()
            if not name.startswith("_") and callable(member)
        }

    sync_methods, async_methods = public(FalClient), public(AsyncFalClient)
    sync_methods.pop("close")
    async_methods.pop("aclose")
    assert sync_methods == async_methods


async def test_polling_subscribe(
    afal: AsyncFalClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.post(SUBMIT).respond(200, json=queued())
    mock.get(f"{REQUESTS}/r1/status").mock(
        side_effect=[
            httpx.Response(202, json=queued()),
            httpx.Response(200, json={**queued(), "status": "COMPLETED", "metrics": {}}),
        ]
    )
    mock.get(f"{REQUESTS}/r1").respond(200, json=OUTPUT)
    updates: list[object] = []
    output = await afal.subscribe(INPUT, on_queue_update=updates.append, poll_interval=0.1)
    assert output.model_dump() == OUTPUT
    assert [type(u) for u in updates] == [Queued, Completed]
    assert sleeps == [0.1]


async def test_stream_status(afal: AsyncFalClient, mock: respx.MockRouter) -> None:
    events = [
        {"status": "IN_QUEUE", "request_id": "r1", "queue_position": 2},
        {"status": "IN_PROGRESS", "request_id": "r1", "logs": []},
        {"status": "COMPLETED", "request_id": "r1"},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode()
    mock.get(f"{REQUESTS}/r1/status/stream").respond(200, stream=httpx.ByteStream(body))
    statuses = [status async for status in afal.stream_status("r1")]
    assert statuses == [Queued("r1", 2), InProgress("r1"), Completed("r1")]


async def test_streaming_subscribe(afal: AsyncFalClient, mock: respx.MockRouter) -> None:
    body = b'data: {"status":"COMPLETED","request_id":"r1"}\n\n'
    mock.post(SUBMIT).respond(200, json=queued())
    mock.get(f"{REQUESTS}/r1/status/stream").respond(200, stream=httpx.ByteStream(body))
    mock.get(f"{REQUESTS}/r1").respond(200, json=OUTPUT)
    assert (await afal.subscribe(INPUT, mode="streaming")).model_dump() == OUTPUT


async def test_run_cancel_and_status(afal: AsyncFalClient, mock: respx.MockRouter) -> None:
    mock.post(RUN).respond(200, json=OUTPUT)
    cancel = mock.put(f"{REQUESTS}/r1/cancel").respond(
        202, json={"status": "CANCELLATION_REQUESTED"}
    )
    mock.get(f"{REQUESTS}/r1/status").respond(202, json=queued())
    assert (await afal.run(INPUT)).video.file_name == "output.mp4"
    await afal.cancel("r1")
    assert cancel.call_count == 1
    assert await afal.status("r1") == Queued("r1", 0)


async def test_retries_and_errors_work_alike(
    afal: AsyncFalClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    mock.get(f"{REQUESTS}/r1").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(500, json={"detail": "boom", "error_type": "runner_server_error"}),
        ]
    )
    with pytest.raises(ServerError) as caught:
        await afal.result("r1")
    assert caught.value.error_type == "runner_server_error"
    assert len(sleeps) == 1


async def test_upload(afal: AsyncFalClient, mock: respx.MockRouter) -> None:
    cdn_token(mock)
    mock.post("https://v3.fal.media/files/upload").respond(
        200, json={"access_url": "https://cdn/a"}
    )
    assert await afal.upload(b"bytes") == "https://cdn/a"

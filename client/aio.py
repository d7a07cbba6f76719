"""`AsyncFalClient`: the same calls as `FalClient`, driven with `httpx.AsyncClient`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, Literal, TypeVar

import httpx

from falfake.client.config import Hosts
from falfake.client.errors import TransportError
from falfake.client.models import Completed, Status, Submitted
from falfake.client.operations import (
    Calls,
    Input,
    LogCallback,
    LogFollower,
    Operation,
    QueueCallback,
    Sleep,
    Upload,
    any_shape,
    api_error,
    seed_calls,
)
from falfake.client.retry import RetryPolicy
from falfake.client.sse import SSEDecoder, status_from_event
from falfake.client.sync import DEFAULT_TIMEOUT
from falfake.contracts import InputLimits, ReferenceToVideoOutput

T = TypeVar("T")
Out = TypeVar("Out")


async def drive(
    operation: Operation[T],
    send: Callable[[httpx.Request], Awaitable[httpx.Response]],
    sleep: Callable[[float], Awaitable[None]],
) -> T:
    """Run a sans-IO operation to its end with asynchronous I/O."""
    reply: Any = None
    error: httpx.TransportError | None = None
    while True:
        try:
            step = operation.throw(error) if error is not None else operation.send(reply)
        except StopIteration as done:
            result: T = done.value
            return result
        reply, error = None, None
        if isinstance(step, Sleep):
            await sleep(step.seconds)
            continue
        try:
            reply = await send(step)
        except httpx.TransportError as exc:
            error = exc


async def status_events(chunks: AsyncIterator[str]) -> AsyncIterator[Status]:
    """Statuses from an SSE body, up to and including COMPLETED."""
    decoder = SSEDecoder()
    async for text in chunks:
        for data in decoder.feed(text):
            status = status_from_event(data)
            yield status
            if isinstance(status, Completed):
                return


class AsyncEndpoint(Generic[Out]):
    """`Endpoint`'s surface, awaitable."""

    def __init__(
        self,
        calls: Calls[Out],
        http: httpx.AsyncClient,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float],
    ) -> None:
        self._calls = calls
        self._http = http
        self._sleep = sleep
        self._clock = clock

    @property
    def endpoint_id(self) -> str:
        return self._calls.endpoint_id

    async def _drive(self, operation: Operation[T]) -> T:
        return await drive(operation, self._http.send, self._sleep)

    async def submit(self, data: Input, **options: Any) -> Submitted:
        return await self._drive(self._calls.submit(data, **options))

    async def status(self, request_id: str, *, logs: bool = False) -> Status:
        return await self._drive(self._calls.status(request_id, logs=logs))

    async def stream_status(self, request_id: str, *, logs: bool = False) -> AsyncIterator[Status]:
        request = self._calls.stream_request(request_id, logs=logs)
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise TransportError(f"GET {request.url}: {exc!r}") from exc
        try:
            if not response.is_success:
                await response.aread()
                raise api_error(response)
            async for status in status_events(response.aiter_text()):
                yield status
        finally:
            await response.aclose()

    async def result(self, request_id: str) -> Out:
        return await self._drive(self._calls.result(request_id))

    async def cancel(self, request_id: str) -> None:
        await self._drive(self._calls.cancel(request_id))

    async def run(self, data: Input, *, request_timeout: float | None = None) -> Out:
        return await self._drive(self._calls.run(data, request_timeout=request_timeout))

    async def upload(
        self, data: Upload, *, content_type: str | None = None, file_name: str | None = None
    ) -> str:
        operation = self._calls.upload(data, content_type=content_type, file_name=file_name)
        return await self._drive(operation)

    async def subscribe(
        self,
        data: Input,
        *,
        mode: Literal["polling", "streaming"] = "polling",
        logs: bool = False,
        on_queue_update: QueueCallback | None = None,
        on_log: LogCallback | None = None,
        poll_interval: float = 0.5,
        timeout: float | None = None,
        **submit_options: Any,
    ) -> Out:
        if mode == "polling":
            operation = self._calls.subscribe(
                data,
                logs=logs,
                on_queue_update=on_queue_update,
                on_log=on_log,
                poll_interval=poll_interval,
                timeout=timeout,
                **submit_options,
            )
            return await self._drive(operation)
        submitted = await self.submit(data, **submit_options)
        deadline = None if timeout is None else self._clock() + timeout
        follow = LogFollower(on_log, cumulative=False)
        statuses = self.stream_status(submitted.request_id, logs=logs or on_log is not None)
        async for status in statuses:
            follow.update(status, on_queue_update)
            if (
                deadline is not None
                and self._clock() >= deadline
                and not isinstance(status, Completed)
            ):
                await self._drive(self._calls.give_up(submitted.request_id, timeout))
        return await self.result(submitted.request_id)


class AsyncFalClient(AsyncEndpoint[ReferenceToVideoOutput]):
    """`FalClient`'s surface, awaitable."""

    def __init__(
        self,
        key: str | None = None,
        *,
        hosts: Hosts | None = None,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        limits: InputLimits | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        calls = seed_calls(key, hosts, retry, limits, clock)
        super().__init__(calls, http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT), sleep, clock)

    async def __aenter__(self) -> AsyncFalClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def endpoint(self, endpoint_id: str) -> AsyncEndpoint[dict[str, Any]]:
        """`FalClient.endpoint`, awaitable."""
        calls = self._calls.of(any_shape(endpoint_id))
        return AsyncEndpoint(calls, self._http, self._sleep, self._clock)

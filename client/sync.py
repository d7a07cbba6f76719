"""`FalClient`: the blocking client, a thin driver of `client.operations` over `httpx.Client`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
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
from falfake.contracts import InputLimits, ReferenceToVideoOutput

T = TypeVar("T")
Out = TypeVar("Out")
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def drive(
    operation: Operation[T],
    send: Callable[[httpx.Request], httpx.Response],
    sleep: Callable[[float], None],
) -> T:
    """Run a sans-IO operation to its end with blocking I/O."""
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
            sleep(step.seconds)
            continue
        try:
            reply = send(step)
        except httpx.TransportError as exc:
            error = exc


def status_events(lines: Iterator[str]) -> Iterator[Status]:
    """Statuses from an SSE body, up to and including COMPLETED."""
    decoder = SSEDecoder()
    for text in lines:
        for data in decoder.feed(text):
            status = status_from_event(data)
            yield status
            if isinstance(status, Completed):
                return


class Endpoint(Generic[Out]):
    """One endpoint's calls over a shared `httpx.Client`: the seed's typed surface (`FalClient`
    is one), or any endpoint's from `FalClient.endpoint(endpoint_id)`, whose outputs are the
    JSON objects fal returns."""

    def __init__(
        self,
        calls: Calls[Out],
        http: httpx.Client,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self._calls = calls
        self._http = http
        self._sleep = sleep
        self._clock = clock

    @property
    def endpoint_id(self) -> str:
        return self._calls.endpoint_id

    def _drive(self, operation: Operation[T]) -> T:
        return drive(operation, self._http.send, self._sleep)

    def submit(self, data: Input, **options: Any) -> Submitted:
        """Queue a request; options: `webhook_url`, `priority`, `request_timeout` (seconds)."""
        return self._drive(self._calls.submit(data, **options))

    def status(self, request_id: str, *, logs: bool = False) -> Status:
        return self._drive(self._calls.status(request_id, logs=logs))

    def stream_status(self, request_id: str, *, logs: bool = False) -> Iterator[Status]:
        """Status updates from the SSE stream until COMPLETED (new log lines only in each)."""
        request = self._calls.stream_request(request_id, logs=logs)
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise TransportError(f"GET {request.url}: {exc!r}") from exc
        try:
            if not response.is_success:
                response.read()
                raise api_error(response)
            yield from status_events(response.iter_text())
        finally:
            response.close()

    def result(self, request_id: str) -> Out:
        return self._drive(self._calls.result(request_id))

    def cancel(self, request_id: str) -> None:
        self._drive(self._calls.cancel(request_id))

    def run(self, data: Input, *, request_timeout: float | None = None) -> Out:
        """The sync endpoint: one request that returns the output."""
        return self._drive(self._calls.run(data, request_timeout=request_timeout))

    def upload(
        self, data: Upload, *, content_type: str | None = None, file_name: str | None = None
    ) -> str:
        """Store bytes, a path or a file object on fal's CDN; returns its URL."""
        operation = self._calls.upload(data, content_type=content_type, file_name=file_name)
        return self._drive(operation)

    def subscribe(
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
        """Submit, follow the request (polling or SSE) with callbacks, and return the output.

        With `timeout`, a request not done in time is cancelled and `SubscribeTimeout` raised
        (checked at each poll, or at each status event when streaming).
        """
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
            return self._drive(operation)
        submitted = self.submit(data, **submit_options)
        deadline = None if timeout is None else self._clock() + timeout
        follow = LogFollower(on_log, cumulative=False)
        for status in self.stream_status(submitted.request_id, logs=logs or on_log is not None):
            follow.update(status, on_queue_update)
            if (
                deadline is not None
                and self._clock() >= deadline
                and not isinstance(status, Completed)
            ):
                self._drive(self._calls.give_up(submitted.request_id, timeout))
        return self.result(submitted.request_id)


class FalClient(Endpoint[ReferenceToVideoOutput]):
    """gemini-omni-flash/reference-to-video on fal, or on falfake with `Hosts.falfake(url)`."""

    def __init__(
        self,
        key: str | None = None,
        *,
        hosts: Hosts | None = None,
        http: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
        limits: InputLimits | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        calls = seed_calls(key, hosts, retry, limits, clock)
        super().__init__(calls, http or httpx.Client(timeout=DEFAULT_TIMEOUT), sleep, clock)

    def __enter__(self) -> FalClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def endpoint(self, endpoint_id: str) -> Endpoint[dict[str, Any]]:
        """Any fal endpoint (`"fal-ai/flux/dev"`) with this client's key, hosts, retries and
        connections: `run`, `submit`, `subscribe`, ... returning the output's JSON object."""
        return Endpoint(
            self._calls.of(any_shape(endpoint_id)), self._http, self._sleep, self._clock
        )

"""What each client call does, without doing any I/O ("sans-IO").

Every operation is a generator: it yields an `httpx.Request` (and receives the `httpx.Response`, or
has the transport error thrown in) or a `Sleep`, and returns its result. `client.sync` and
`client.aio` only drive these generators, so both clients behave exactly alike.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

import httpx
import pydantic

from falfake.client.config import Hosts, resolve_key
from falfake.client.errors import (
    ApiError,
    FalClientError,
    SubscribeTimeout,
    TransportError,
    UnexpectedResponse,
    ValidationError,
    error_class,
)
from falfake.client.files import FileData, read_file
from falfake.client.models import (
    Completed,
    LogEntry,
    Status,
    Submitted,
    parse_status,
    parse_submitted,
)
from falfake.client.retry import RetryPolicy, should_retry, should_retry_error
from falfake.contracts import (
    ENDPOINT_ID,
    InputLimits,
    ReferenceToVideoInput,
    ReferenceToVideoOutput,
)
from falfake.contracts import validate_input as validate_contract
from falfake.contracts.detail import validation_detail

T = TypeVar("T")
Out = TypeVar("Out")
USER_AGENT = "falfake-client/0.1"
MULTIPART_THRESHOLD = 90 * 1024 * 1024
PART_SIZE = 10 * 1024 * 1024
_TOKEN_MARGIN_SECONDS = 60.0

Input = ReferenceToVideoInput | Mapping[str, Any]
Upload = bytes | Path | BinaryIO


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


Step = httpx.Request | Sleep
Operation = Generator[Step, Any, T]
QueueCallback = Callable[[Status], None]
LogCallback = Callable[[LogEntry], None]


def send(
    request: httpx.Request, policy: RetryPolicy, *, timeout_sent: bool = False
) -> Operation[httpx.Response]:
    """The response to `request`, retried as fal's own clients retry."""
    attempt = 0
    while True:
        attempt += 1
        try:
            response: httpx.Response = yield request
        except httpx.TransportError as error:
            if attempt >= policy.max_attempts or not should_retry_error(error, timeout_sent):
                raise TransportError(f"{request.method} {request.url}: {error!r}") from error
            yield Sleep(policy.delay(attempt))
            continue
        if response.is_success or attempt >= policy.max_attempts or not should_retry(response):
            return response
        yield Sleep(policy.delay(attempt, response.headers.get("retry-after")))


def checked(response: httpx.Response) -> httpx.Response:
    """The response if it succeeded; the matching `ApiError` for an error status."""
    if not response.is_success:
        raise api_error(response)
    return response


def checked_json(response: httpx.Response) -> Any:
    """The JSON of a successful response; the matching `ApiError` for an error status."""
    checked(response)
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        where = f"{response.status_code} from {response.request.url}"
        raise UnexpectedResponse(f"{where} is not JSON: {response.text!r:.200}") from None


def api_error(response: httpx.Response) -> ApiError:
    """fal's error answer as an exception: `detail` and `error_type` from the body or headers."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = response.text
    detail = body.get("detail", body) if isinstance(body, dict) else body
    error_type = body.get("error_type") if isinstance(body, dict) else None
    error_type = error_type or response.headers.get("x-fal-error-type")
    timeout_type = response.headers.get("x-fal-request-timeout-type")
    return error_class(response.status_code, detail, timeout_type)(
        response.status_code,
        detail,
        error_type=error_type,
        request_id=response.headers.get("x-fal-request-id"),
        body=body,
    )


def validate_input(data: Mapping[str, Any], limits: InputLimits) -> dict[str, Any]:
    """The input as fal's app will see it, or the same 422 it would give, raised locally."""
    try:
        model = validate_contract(dict(data), limits)
    except pydantic.ValidationError as exc:
        raise ValidationError(422, validation_detail(exc)) from None
    sent: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True)
    return sent


@dataclass(frozen=True, slots=True)
class Shape(Generic[Out]):
    """What the client knows of an endpoint's input and output."""

    endpoint_id: str
    holds_files: Callable[[str], bool]  # whether an input field's local files are uploaded first
    validate: Callable[[dict[str, Any]], dict[str, Any]]  # the body to send, or a 422 raised
    parse: Callable[[Any], Out]  # the output from the result's JSON


def seed_shape(limits: InputLimits | None = None) -> Shape[ReferenceToVideoOutput]:
    """The seed endpoint, typed: validated locally as fal's app would, the output parsed."""
    chosen = limits or InputLimits()
    return Shape(
        ENDPOINT_ID,
        holds_files=lambda name: name == "image_urls",
        validate=lambda data: validate_input(data, chosen),
        parse=parse_output,
    )


def any_shape(endpoint_id: str) -> Shape[dict[str, Any]]:
    """Any endpoint, untyped: fal validates the input, the output is the JSON object returned.

    Local files in fields named as fal names file inputs (`image_url`, `image_urls`,
    `audio_url`, ...) are uploaded first, as for the seed's `image_urls`.
    """
    return Shape(
        endpoint_id,
        holds_files=lambda name: name.endswith(("_url", "_urls")),
        validate=dict,
        parse=json_object,
    )


def seed_calls(
    key: str | None,
    hosts: Hosts | None,
    retry: RetryPolicy | None,
    limits: InputLimits | None,
    clock: Callable[[], float],
) -> Calls[ReferenceToVideoOutput]:
    """The seed endpoint's calls as both clients make them from their arguments."""
    return Calls(
        resolve_key(key), hosts or Hosts.from_env(), seed_shape(limits), policy=retry, clock=clock
    )


class Calls(Generic[Out]):
    """One endpoint's operations for one key, set of hosts and retry policy."""

    def __init__(
        self,
        key: str,
        hosts: Hosts,
        shape: Shape[Out],
        *,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hosts = hosts
        self.shape = shape
        self.endpoint_id = shape.endpoint_id
        self.app_id = "/".join(shape.endpoint_id.split("/")[:2])
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self._key = key
        self._headers = {"Authorization": f"Key {key}", "User-Agent": USER_AGENT}
        self._token: tuple[str, str, float] | None = None  # token, CDN base URL, expiry

    def of(self, shape: Shape[T]) -> Calls[T]:
        """The same key, hosts and retries for another endpoint."""
        return Calls(self._key, self.hosts, shape, policy=self.policy, clock=self.clock)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Request:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        return httpx.Request(method, url, headers=headers, **kwargs)

    def _queue_url(self, request_id: str, suffix: str = "") -> str:
        return f"{self.hosts.queue}/{self.app_id}/requests/{request_id}{suffix}"

    def prepare(self, data: Input) -> Operation[dict[str, Any]]:
        """Upload the local files given in file fields, then validate as the server would."""
        plain = data.model_dump(mode="json") if isinstance(data, pydantic.BaseModel) else dict(data)
        for name, value in plain.items():
            if not self.shape.holds_files(name):
                continue
            if isinstance(value, list | tuple):
                urls = []
                for item in value:
                    urls.append((yield from self._uploaded(item)))
                plain[name] = urls
            else:
                plain[name] = yield from self._uploaded(value)
        return self.shape.validate(plain)

    def _uploaded(self, value: Any) -> Operation[Any]:
        """The URL of the local file `value` stands for, once uploaded; else `value` itself."""
        local = read_file(value)
        return value if local is None else (yield from self.upload_file(local))

    def submit(
        self,
        data: Input,
        *,
        webhook_url: str | None = None,
        priority: str | None = None,
        request_timeout: float | None = None,
    ) -> Operation[Submitted]:
        payload = yield from self.prepare(data)
        headers = {}
        if priority is not None:
            headers["X-Fal-Queue-Priority"] = priority
        if request_timeout is not None:
            headers["X-Fal-Request-Timeout"] = str(request_timeout)
        params = {} if webhook_url is None else {"fal_webhook": webhook_url}
        request = self.request(
            "POST",
            f"{self.hosts.queue}/{self.endpoint_id}",
            json=payload,
            headers=headers,
            params=params,
        )
        response = yield from send(request, self.policy, timeout_sent=request_timeout is not None)
        return parse_submitted(checked_json(response))

    def status(self, request_id: str, *, logs: bool = False) -> Operation[Status]:
        params = {"logs": "1" if logs else "0"}
        request = self.request("GET", self._queue_url(request_id, "/status"), params=params)
        return parse_status(checked_json((yield from send(request, self.policy))))

    def stream_request(self, request_id: str, *, logs: bool = False) -> httpx.Request:
        """The SSE status stream's request; the drivers read it incrementally."""
        params = {"logs": "1" if logs else "0"}
        headers = {"Accept": "text/event-stream"}
        url = self._queue_url(request_id, "/status/stream")
        return self.request("GET", url, params=params, headers=headers)

    def result(self, request_id: str) -> Operation[Out]:
        request = self.request("GET", self._queue_url(request_id))
        body = checked_json((yield from send(request, self.policy)))
        return self.shape.parse(body)

    def cancel(self, request_id: str) -> Operation[None]:
        request = self.request("PUT", self._queue_url(request_id, "/cancel"))
        checked((yield from send(request, self.policy)))

    def run(self, data: Input, *, request_timeout: float | None = None) -> Operation[Out]:
        payload = yield from self.prepare(data)
        headers = {} if request_timeout is None else {"X-Fal-Request-Timeout": str(request_timeout)}
        url = f"{self.hosts.run}/{self.endpoint_id}"
        request = self.request("POST", url, json=payload, headers=headers)
        response = yield from send(request, self.policy, timeout_sent=request_timeout is not None)
        return self.shape.parse(checked_json(response))

    def subscribe(
        self,
        data: Input,
        *,
        logs: bool = False,
        on_queue_update: QueueCallback | None = None,
        on_log: LogCallback | None = None,
        poll_interval: float = 0.5,
        timeout: float | None = None,
        **submit_options: Any,
    ) -> Operation[Out]:
        """Submit, poll until COMPLETED (calling back on each update), and return the output."""
        submitted = yield from self.submit(data, **submit_options)
        deadline = None if timeout is None else self.clock() + timeout
        follow = LogFollower(on_log)
        while True:
            status = yield from self.status(submitted.request_id, logs=logs or on_log is not None)
            follow.update(status, on_queue_update)
            if isinstance(status, Completed):
                return (yield from self.result(submitted.request_id))
            if deadline is not None and self.clock() >= deadline:
                yield from self.give_up(submitted.request_id, timeout)
            yield Sleep(poll_interval)

    def give_up(self, request_id: str, timeout: float | None) -> Operation[None]:
        """Cancel, best effort, and raise `SubscribeTimeout`."""
        # The request may have finished meanwhile; the timeout is what the caller asked about.
        with contextlib.suppress(FalClientError):
            yield from self.cancel(request_id)
        raise SubscribeTimeout(f"No result within {timeout} s; request cancelled.", request_id)

    def upload(
        self, data: Upload, *, content_type: str | None = None, file_name: str | None = None
    ) -> Operation[str]:
        """Store a file on fal's CDN and return its URL; large files go in parts."""
        local = read_file(data, content_type=content_type, file_name=file_name)
        if local is None:
            raise FalClientError(f"Not a file to upload: {data!r:.100}")
        return (yield from self.upload_file(local))

    def upload_file(self, local: FileData) -> Operation[str]:
        token, base_url = yield from self._cdn_token()
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": local.content_type,
            "X-Fal-File-Name": local.name,
        }
        if len(local.data) <= MULTIPART_THRESHOLD:
            url = f"{self.hosts.cdn}/files/upload"
            request = self.request("POST", url, content=local.data, headers=headers)
            return str(checked_json((yield from send(request, self.policy)))["access_url"])
        start = self.request("POST", f"{base_url}/files/upload/multipart", headers=headers)
        started = checked_json((yield from send(start, self.policy)))
        access_url, upload_id = started["access_url"], started["uploadId"]
        parts = []
        for number, offset in enumerate(range(0, len(local.data), PART_SIZE), start=1):
            chunk = local.data[offset : offset + PART_SIZE]
            url = f"{access_url}/multipart/{upload_id}/{number}"
            response = checked(
                (yield from send(self.request("PUT", url, content=chunk), self.policy))
            )
            parts.append({"partNumber": number, "etag": response.headers["etag"]})
        url = f"{access_url}/multipart/{upload_id}/complete"
        finish = self.request("POST", url, json={"parts": parts})
        checked((yield from send(finish, self.policy)))
        return str(access_url)

    def _cdn_token(self) -> Operation[tuple[str, str]]:
        """A CDN token, reused until a minute before it expires."""
        if self._token is None or self._token[2] - _TOKEN_MARGIN_SECONDS <= self.clock():
            url = f"{self.hosts.rest}/storage/auth/token"
            request = self.request("POST", url, params={"storage_type": "fal-cdn-v3"}, json={})
            body = checked_json((yield from send(request, self.policy)))
            expires = _timestamp(body.get("expires_at"))
            self._token = (body["token"], str(body["base_url"]).rstrip("/"), expires)
        return self._token[0], self._token[1]


class LogFollower:
    """Calls back once per new log line: polling returns every line so far, SSE only new ones."""

    def __init__(self, on_log: LogCallback | None, *, cumulative: bool = True) -> None:
        self._on_log = on_log
        self._cumulative = cumulative
        self._seen = 0

    def update(self, status: Status, on_queue_update: QueueCallback | None) -> None:
        if on_queue_update is not None:
            on_queue_update(status)
        lines = getattr(status, "logs", [])
        fresh = lines[self._seen :] if self._cumulative else lines
        self._seen = len(lines) if self._cumulative else self._seen + len(lines)
        if self._on_log is not None:
            for line in fresh:
                self._on_log(line)


def parse_output(body: Any) -> ReferenceToVideoOutput:
    try:
        return ReferenceToVideoOutput.model_validate(body)
    except pydantic.ValidationError as exc:
        raise UnexpectedResponse(f"Output does not match the schema: {exc}") from None


def json_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise UnexpectedResponse(f"Output is not a JSON object: {body!r:.200}")
    return body


def _timestamp(value: object) -> float:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return 0.0  # unparsable: treat as expired, so the next upload asks again
    return moment.timestamp()

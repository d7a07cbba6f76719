"""The fake's error hierarchy, one class per wire error; `falfake.http.render` answers them.

Request (infrastructure) errors have a flat body `{"detail": str, "error_type": str}` and the header
`X-Fal-Error-Type` (PROTOCOL.md §9.4); model errors have a `detail` list (§9.1-9.2).

    FalError
    ├── BadRequest (400)
    ├── Unauthorized (401)
    ├── Forbidden (403)
    ├── NotFound (404)
    │   ├── RequestNotFound
    │   └── CancelTargetNotFound
    ├── Conflict (409, falfake's control plane)
    ├── StillInProgress (400)
    ├── AlreadyCompleted (400)
    ├── RangeNotSatisfiable (416)
    ├── PayloadTooLarge (413)
    ├── BodyNotParsed (400)
    ├── InvalidInput (422)
    ├── ClientCancelled (499)
    ├── RateLimited (429)
    ├── StartTimeout (504)
    ├── StorageUnavailable (503)
    ├── PaidRequestsSpent (402, upstream mode's cost guard)
    ├── UpstreamUnavailable (502, or 504 when it did not answer in time)
    ├── ContractBroken (502, an upstream reply with --strict-contract)
    ├── NoRecording (404, replay mode)
    └── RecordedFailure (any status: a replayed lifecycle's recorded error)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar


class FalError(Exception):
    """An error answered in fal's shape; subclasses only set data."""

    status_code: ClassVar[int] = 500
    error_type: ClassVar[str | None] = None
    extra_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(self, detail: object, *, request_id: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.request_id = request_id

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail}
        if self.error_type is not None:
            body["error_type"] = self.error_type
        return body

    def headers(self) -> dict[str, str]:
        return dict(self.extra_headers)

    def message(self) -> str:
        """One line for a COMPLETED status's `error`: the first `msg` or the flat `detail`."""
        if isinstance(self.detail, list) and self.detail and isinstance(self.detail[0], dict):
            return str(self.detail[0].get("msg", ""))
        return str(self.detail)


class BadRequest(FalError):
    status_code = 400
    error_type = "bad_request"


class Unauthorized(FalError):
    status_code = 401


class Forbidden(FalError):
    status_code = 403


class NotFound(FalError):
    status_code = 404


class RequestNotFound(NotFound):
    # fal does not document this; answer like an unknown route (PROTOCOL.md §19 q1). No request id
    # header: the id is the caller's text, not a request of ours.
    def __init__(self) -> None:
        super().__init__("Request not found")


class UnknownApplication(NotFound):
    """An endpoint id the fake does not serve: fal's words for an unknown app (PROTOCOL.md §2),
    and how to serve it."""

    def __init__(self, path: str) -> None:
        parts = [part for part in path.split("/") if part]
        app = parts[1] if len(parts) > 1 else (parts[0] if parts else "")
        super().__init__(
            f'Application "{app}" not found (falfake serves the endpoints `falfake endpoints`'
            " lists; to fake another, pass its fal OpenAPI document with --endpoint FILE)"
        )


class CancelTargetNotFound(NotFound):
    """Cancel of an unknown id: the documented `NOT_FOUND` outcome (PROTOCOL.md §7)."""

    def __init__(self) -> None:
        super().__init__("Request not found")

    def body(self) -> dict[str, Any]:
        return {"status": "NOT_FOUND"}


class Conflict(FalError):
    """A control call that cannot be done in the fake's state (falfake's own API)."""

    status_code = 409


class StillInProgress(FalError):
    """Result asked for before COMPLETED: the recorded body has the queue URLs, keys sorted (§6)."""

    status_code = 400

    def __init__(self, request_id: str, urls: Mapping[str, str]) -> None:
        super().__init__("Request is still in progress", request_id=request_id)
        self.urls = dict(urls)

    def body(self) -> dict[str, Any]:
        body = {"detail": self.detail, "request_id": self.request_id, **self.urls}
        return dict(sorted(body.items()))


class AlreadyCompleted(FalError):
    status_code = 400

    def __init__(self, request_id: str, *, documented_shape: bool) -> None:
        super().__init__("Request already completed", request_id=request_id)
        self.documented_shape = documented_shape

    def body(self) -> dict[str, Any]:
        return {"status": "ALREADY_COMPLETED"} if self.documented_shape else {"detail": self.detail}


class RangeNotSatisfiable(FalError):
    """A `Range` header past the end of a file."""

    status_code = 416

    def __init__(self, size: int) -> None:
        super().__init__("Requested range not satisfiable")
        self.size = size

    def headers(self) -> dict[str, str]:
        return {"Content-Range": f"bytes */{self.size}"}


class PayloadTooLarge(FalError):
    # fal's gateway limit and body are undocumented; FastAPI-style flat detail.
    status_code = 413


class BodyNotParsed(FalError):
    """A body FastAPI cannot even decode (not UTF-8/16/32 JSON): its plain 400."""

    status_code = 400

    def __init__(self) -> None:
        super().__init__("There was an error parsing the body")


class InvalidInput(FalError):
    """422 with pydantic-style entries; FastAPI bills nothing for it."""

    status_code = 422
    extra_headers: ClassVar[Mapping[str, str]] = {"x-fal-billable-units": "0"}


class ClientCancelled(FalError):
    status_code = 499
    error_type = "client_cancelled"

    def __init__(self, request_id: str) -> None:
        super().__init__("Request cancelled by the client.", request_id=request_id)


class RateLimited(FalError):
    status_code = 429
    error_type = "rate_limited"

    def __init__(self, detail: object, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class StartTimeout(FalError):
    """The request could not start before its `X-Fal-Request-Timeout` deadline."""

    status_code = 504
    error_type = "request_timeout"
    extra_headers: ClassVar[Mapping[str, str]] = {"X-Fal-Request-Timeout-Type": "user"}

    def __init__(self, request_id: str) -> None:
        super().__init__("Request timed out before it could start.", request_id=request_id)


class StorageError(Exception):
    """The fake's state cannot be kept where it was asked to be (a data directory taken by another
    fake, or written by another version): the start stops with this message. Not a reply."""


class StorageUnavailable(FalError):
    """The shared database does not answer (down, restarting, or too slow): the request was not
    taken, and a retry after a moment may be. fal answers its own outages with 503s too; the body
    here is the fake's."""

    status_code = 503
    extra_headers: ClassVar[Mapping[str, str]] = {"Retry-After": "1"}


class PaidRequestsSpent(FalError):
    """Upstream mode has forwarded `--max-paid-requests` submits, runs and streams: this one is
    refused here and costs nothing. The fake's own error; fal never sends it."""

    status_code = 402
    error_type = "falfake_paid_requests_spent"


class UpstreamUnavailable(FalError):
    """The upstream (fal, or the URL given) could not be reached or failed to answer."""

    status_code = 502
    error_type = "falfake_upstream_unavailable"


class UpstreamTimeout(UpstreamUnavailable):
    status_code = 504


class NoRecording(FalError):
    """Replay mode: no recording matches the call (the detail names the closest)."""

    status_code = 404
    error_type = "falfake_no_recording"


class RecordedFailure(FalError):
    """Replay mode: the error a recorded lifecycle ended with, answered as it was recorded."""

    def __init__(self, status: int, body: object) -> None:
        super().__init__(body.get("detail") if isinstance(body, dict) else body)
        # This one error's status and type are the recording's, not its class's.
        self.status_code = status  # type: ignore[misc]
        recorded_type = body.get("error_type") if isinstance(body, dict) else None
        self.error_type = recorded_type if isinstance(recorded_type, str) else None  # type: ignore[misc]
        self.recorded = body

    def body(self) -> dict[str, Any]:
        return self.recorded if isinstance(self.recorded, dict) else {"detail": self.recorded}


class ContractBroken(FalError):
    """With `--strict-contract`, an upstream reply that breaks the contract, in its place."""

    status_code = 502
    error_type = "falfake_contract_violation"


def error_state(error: FalError) -> tuple[str, dict[str, Any]]:
    """Any FalError as plain data: its class name and its state (subclasses keep theirs in
    instance attributes), for a record that outlives the object."""
    return type(error).__name__, vars(error)


def restored_error(type_name: str, state: dict[str, Any]) -> FalError:
    """The error `error_state` described, as it was."""
    cls = _error_types().get(type_name) or _error_types(refresh=True)[type_name]
    # Subclasses' constructors differ; the state is what they set, so restore it as it was.
    error = cls.__new__(cls)
    FalError.__init__(error, state["detail"], request_id=state["request_id"])
    vars(error).update(state)
    return error


_TYPES: dict[str, type[FalError]] = {}


def _error_types(*, refresh: bool = False) -> dict[str, type[FalError]]:
    """Every FalError class by name (refreshed for a class defined since the last look)."""
    if refresh or not _TYPES:
        _TYPES.update({cls.__name__: cls for cls in _subclasses(FalError)})
    return _TYPES


def _subclasses(cls: type[FalError]) -> Iterator[type[FalError]]:
    yield cls
    for subclass in cls.__subclasses__():
        yield from _subclasses(subclass)

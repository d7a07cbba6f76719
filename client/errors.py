"""The client's exceptions; it raises nothing else.

FalClientError
├── MissingCredentials         no key given and none in the environment
├── LocalFileError             a file to upload cannot be read
├── TransportError             the request never got an answer (after retries)
├── SubscribeTimeout           `subscribe(timeout=...)` ran out; the request was cancelled
├── UnexpectedResponse         an answer that is not fal's protocol
├── WebhookVerificationError   a webhook delivery that is not provably fal's (client.webhooks)
└── ApiError                   fal answered with an error: status_code, detail, error_type,
    │                          request_id, body
    ├── ValidationError        422 with field errors (also raised before sending bad input)
    │   └── ContentPolicyViolation   a 422 whose errors include `content_policy_violation`
    ├── AuthenticationError    401 / 403
    ├── RateLimited            429
    ├── RequestCancelled       499
    ├── StartTimeout           504 with `X-Fal-Request-Timeout-Type: user`
    └── ServerError            other 5xx
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class FalClientError(Exception):
    """Every error the client raises."""


class MissingCredentials(FalClientError):
    pass


class LocalFileError(FalClientError):
    pass


class TransportError(FalClientError):
    pass


class SubscribeTimeout(FalClientError):
    def __init__(self, message: str, request_id: str) -> None:
        super().__init__(message)
        self.request_id = request_id


class UnexpectedResponse(FalClientError):
    pass


class ApiError(FalClientError):
    """fal answered with an error status; `detail` is the body's `detail`, a list for 422s."""

    def __init__(
        self,
        status_code: int,
        detail: Any,
        *,
        error_type: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(_summary(status_code, detail))
        self.status_code = status_code
        self.detail = detail
        self.error_type = error_type
        self.request_id = request_id
        self.body = body


class ValidationError(ApiError):
    @property
    def field_errors(self) -> list[dict[str, Any]]:
        """The `detail` entries (`loc`, `msg`, `type`, ...)."""
        if isinstance(self.detail, list):
            return [entry for entry in self.detail if isinstance(entry, dict)]
        return [{"loc": ["body"], "msg": str(self.detail), "type": "value_error"}]


class ContentPolicyViolation(ValidationError):
    pass


class AuthenticationError(ApiError):
    pass


class RateLimited(ApiError):
    pass


class RequestCancelled(ApiError):
    pass


class StartTimeout(ApiError):
    pass


class ServerError(ApiError):
    pass


def _summary(status_code: int, detail: Any) -> str:
    if isinstance(detail, list) and detail and isinstance(detail[0], Mapping):
        first = detail[0]
        where = ".".join(str(part) for part in first.get("loc", [])[1:]) or "body"
        more = f" (and {len(detail) - 1} more)" if len(detail) > 1 else ""
        return f"HTTP {status_code}: {where}: {first.get('msg', '')}{more}"
    return f"HTTP {status_code}: {detail}"


def error_class(status_code: int, detail: Any, timeout_type: str | None) -> type[ApiError]:
    """The exception class for an error answer."""
    if status_code == 422:
        types = (
            {e.get("type") for e in detail if isinstance(e, Mapping)}
            if isinstance(detail, list)
            else set()
        )
        return ContentPolicyViolation if "content_policy_violation" in types else ValidationError
    if status_code == 504 and timeout_type == "user":
        return StartTimeout
    classes: dict[int, type[ApiError]] = {
        401: AuthenticationError,
        403: AuthenticationError,
        429: RateLimited,
        499: RequestCancelled,
    }
    if status_code in classes:
        return classes[status_code]
    return ServerError if status_code >= 500 else ApiError

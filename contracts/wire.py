"""fal's wire shapes around the endpoint (PROTOCOL.md §3-§13), as pydantic models.

Replies forbid unknown keys, so a schema check also notices a key that appeared or vanished.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LogEntry(_Reply):
    message: str
    level: Literal["STDERR", "STDOUT", "ERROR", "INFO", "WARN", "DEBUG"]
    source: str
    timestamp: str


class QueueStatus(_Reply):
    """Submit reply and status (§3-§5); `queue_position` only while IN_QUEUE."""

    status: Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    request_id: str
    gateway_request_id: str | None = None
    response_url: str
    status_url: str
    cancel_url: str
    logs: list[LogEntry] | None
    metrics: dict[str, float]
    queue_position: int | None = Field(default=None, ge=0)
    error: str | None = None
    error_type: str | None = None


class CancelReply(_Reply):
    status: Literal["CANCELLATION_REQUESTED", "ALREADY_COMPLETED", "NOT_FOUND"]


class DetailEntry(BaseModel):
    """One entry of a 422 `detail`: pydantic's or fal's model error (§9.1-9.2)."""

    loc: list[str | int]
    msg: str
    type: str
    url: str | None = None
    ctx: dict[str, Any] | None = None
    input: Any = None


class ValidationErrorBody(_Reply):
    detail: list[DetailEntry]


class RequestErrorBody(_Reply):
    """A request error (§9.4): flat `detail`, and `error_type` when fal has one."""

    detail: str
    error_type: str | None = None


class StillInProgressBody(_Reply):
    """The result before COMPLETED (§6): keys as recorded, sorted."""

    cancel_url: str
    detail: Literal["Request is still in progress"]
    request_id: str
    response_url: str
    status_url: str


class CdnToken(_Reply):
    token: str
    token_type: Literal["Bearer"]
    base_url: str
    expires_at: str


class UploadUrls(_Reply):
    upload_url: str
    file_url: str


class AccessUrl(_Reply):
    access_url: str


class MultipartStarted(_Reply):
    access_url: str
    upload_id: str = Field(alias="uploadId")


class UploadCompleted(_Reply):
    """The end of a multipart upload: the file's URL under both names the clients read."""

    access_url: str
    file_url: str


class UploadPart(_Reply):
    part_number: int = Field(alias="partNumber")
    etag: str


class Jwk(_Reply):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    kid: str
    x: str
    use: Literal["sig"]


class Jwks(_Reply):
    keys: list[Jwk]


class WebhookPayload(_Reply):
    """What fal POSTs to `fal_webhook` (§12)."""

    error: str | None
    gateway_request_id: str
    payload: Any
    payload_error: str | None = None
    request_id: str
    status: Literal["OK", "ERROR"]


WIRE_MODELS: tuple[type[BaseModel], ...] = (
    QueueStatus,
    CancelReply,
    ValidationErrorBody,
    RequestErrorBody,
    StillInProgressBody,
    CdnToken,
    UploadUrls,
    AccessUrl,
    MultipartStarted,
    UploadPart,
    UploadCompleted,
    Jwks,
    WebhookPayload,
)

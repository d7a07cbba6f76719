"""Typed values the client returns: queue status updates, and the endpoint's own models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from falfake.client.errors import UnexpectedResponse
from falfake.contracts import ReferenceToVideoInput, ReferenceToVideoOutput

__all__ = [
    "Completed",
    "InProgress",
    "LogEntry",
    "Queued",
    "ReferenceToVideoInput",
    "ReferenceToVideoOutput",
    "Status",
    "Submitted",
    "parse_status",
]


@dataclass(frozen=True, slots=True)
class LogEntry:
    message: str
    level: str
    source: str
    timestamp: str


@dataclass(frozen=True, slots=True)
class Queued:
    request_id: str
    position: int


@dataclass(frozen=True, slots=True)
class InProgress:
    request_id: str
    logs: list[LogEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Completed:
    """Done; `error`/`error_type` say it failed, and `result` would raise."""

    request_id: str
    logs: list[LogEntry] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_type: str | None = None


Status = Queued | InProgress | Completed


@dataclass(frozen=True, slots=True)
class Submitted:
    """A queued request and the URLs fal handed out for it."""

    request_id: str
    response_url: str
    status_url: str
    cancel_url: str


def _logs(body: dict[str, Any]) -> list[LogEntry]:
    entries = body.get("logs") or []
    return [
        LogEntry(
            message=str(entry.get("message", "")),
            level=str(entry.get("level", "INFO")),
            source=str(entry.get("source", "")),
            timestamp=str(entry.get("timestamp", "")),
        )
        for entry in entries
        if isinstance(entry, dict)
    ]


def parse_status(body: object) -> Status:
    """A status object from fal (§4); `UnexpectedResponse` for anything else."""
    if not isinstance(body, dict) or not isinstance(body.get("request_id"), str):
        raise UnexpectedResponse(f"Not a fal status object: {body!r:.200}")
    request_id, status = body["request_id"], body.get("status")
    if status == "IN_QUEUE":
        return Queued(request_id, int(body.get("queue_position") or 0))
    if status == "IN_PROGRESS":
        return InProgress(request_id, _logs(body))
    if status == "COMPLETED":
        metrics = body.get("metrics")
        metrics = metrics if isinstance(metrics, dict) else {}
        return Completed(
            request_id, _logs(body), metrics, body.get("error"), body.get("error_type")
        )
    raise UnexpectedResponse(f"Unknown status {status!r}")


def parse_submitted(body: object) -> Submitted:
    if not isinstance(body, dict):
        raise UnexpectedResponse(f"Not a fal submit reply: {body!r:.200}")
    try:
        return Submitted(
            request_id=body["request_id"],
            response_url=body["response_url"],
            status_url=body["status_url"],
            cancel_url=body["cancel_url"],
        )
    except KeyError as missing:
        raise UnexpectedResponse(f"Submit reply without {missing}") from None

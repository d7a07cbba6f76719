"""Pure functions from stored requests to fal's wire JSON (PROTOCOL.md §3-§7)."""

from __future__ import annotations

from typing import Any, NoReturn, TypedDict

from falfake.clock import log_timestamp
from falfake.errors import FalError, StillInProgress
from falfake.media.specs import Generation
from falfake.queue.models import Job, QueuedRequest, Snapshot, Status


class CancelBody(TypedDict):
    """What `falfake.contracts.wire.CancelReply` describes; tests compare the two."""

    status: str


class LogBody(TypedDict):
    """What `falfake.contracts.wire.LogEntry` describes, built without pydantic (it is on every
    poll with logs); tests compare the two."""

    message: str
    level: str
    source: str
    timestamp: str


def queue_urls(root: str, app_id: str, request_id: str) -> dict[str, str]:
    """The URLs fal hands out, always in the `owner/app` form (§2)."""
    base = f"{root}/{app_id}/requests/{request_id}"
    return {"response_url": base, "status_url": f"{base}/status", "cancel_url": f"{base}/cancel"}


def visible_logs(request: QueuedRequest, now: float) -> list[LogBody]:
    """The log lines the runner has printed by `now`, oldest first."""
    if request.started_at is None or request.finishes_at is None:
        return []
    end = request.completed_at if request.completed_at is not None else now
    span = request.finishes_at - request.started_at
    entries: list[LogBody] = []
    for line in request.job.logs:
        at = request.started_at + line.at * span
        if at <= end:
            entries.append(
                {
                    "message": line.message,
                    "level": line.level,
                    "source": "USER",
                    "timestamp": log_timestamp(at),
                }
            )
    return entries


def status_body(
    snapshot: Snapshot,
    root: str,
    *,
    with_logs: bool,
    logs_from: int = 0,
    error_fields: bool = True,
    gateway: bool = False,
) -> dict[str, Any]:
    """A status object (§4) with the fields of `QueueStatus` in its order; with `logs_from`, only
    the log lines after that many (SSE, §5); with `gateway`, the submit reply's
    `gateway_request_id`. Built by hand because it is the hottest reply: the tests check every
    shape of it against the contract model, so a drift fails there."""
    request = snapshot.request
    body: dict[str, Any] = {"status": request.status.value, "request_id": request.request_id}
    if gateway:
        body["gateway_request_id"] = request.request_id
    body.update(queue_urls(root, request.app_id, request.request_id))
    body["logs"] = visible_logs(request, snapshot.now)[logs_from:] if with_logs else None
    body["metrics"] = {}
    if snapshot.queue_position is not None:
        body["queue_position"] = snapshot.queue_position
    if request.status is Status.COMPLETED:
        if request.inference_time is not None:
            body["metrics"] = {"inference_time": request.inference_time}
        if request.failure is not None and error_fields:
            body["error"] = request.failure.message()
            body["error_type"] = request.failure.error_type or _first_entry_type(request)
    return body


def submit_body(snapshot: Snapshot, root: str) -> dict[str, Any]:
    """The submit reply: the IN_QUEUE status, plus `gateway_request_id` with a webhook (§3)."""
    has_webhook = snapshot.request.webhook_url is not None
    return status_body(snapshot, root, with_logs=False, gateway=has_webhook)


def _first_entry_type(request: QueuedRequest) -> str | None:
    detail = request.failure.detail if request.failure is not None else None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        entry_type = detail[0].get("type")
        return entry_type if isinstance(entry_type, str) else None
    return None


def status_code(snapshot: Snapshot) -> int:
    """202 until COMPLETED, then 200: fal's own SDK reads any 200 as done (§4)."""
    return 200 if snapshot.request.status is Status.COMPLETED else 202


def finished_output(snapshot: Snapshot, root: str) -> Generation:
    """What the result holds; raises 400 before COMPLETED, or the request's error."""
    request = snapshot.request
    if request.status is not Status.COMPLETED:
        urls = queue_urls(root, request.app_id, request.request_id)
        raise StillInProgress(request.request_id, urls)
    if request.failure is not None:
        raise_failure(request.failure)
    return job_output(request.job)


def reject_early(job: Job) -> None:
    """Raise the job's error if the runner finds it before generating anything."""
    if job.failure is not None and not job.fails_late:
        raise_failure(job.failure)


def job_output(job: Job) -> Generation:
    """What a job makes; raises the job's error when it fails."""
    outcome = job.outcome  # made from the packed output on its first use
    if isinstance(outcome, FalError):
        raise_failure(outcome)
    return outcome


def raise_failure(failure: FalError) -> NoReturn:
    # A fresh traceback each time, so a failed result polled forever does not grow one.
    raise failure.with_traceback(None)


def cancel_body() -> CancelBody:
    """The reply to a cancel that reached a queued or running request (§7)."""
    return {"status": "CANCELLATION_REQUESTED"}

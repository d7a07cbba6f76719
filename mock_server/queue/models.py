"""Values the fake keeps about a request: its status, its planned work and its timeline."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from falfake.errors import FalError
from falfake.media.specs import Generation
from falfake.validation import Priority


class Status(enum.StrEnum):
    """fal's only statuses; a failed or cancelled request is COMPLETED too (PROTOCOL.md §4)."""

    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"

    @property
    def rank(self) -> int:
        """Statuses only move forward: this is their order."""
        return list(Status).index(self)


@dataclass(frozen=True, slots=True)
class LogLine:
    """A log line the runner prints `at` a fraction (0 to 1) of its run."""

    at: float
    message: str
    level: str = "INFO"


@dataclass(frozen=True, slots=True)
class Job:
    """What a runner will do with a request: make its output, or fail with an error."""

    logs: tuple[LogLine, ...]
    outcome: Generation | FalError
    # A failure found only after running (a flagged output), not when the input is read.
    fails_late: bool = False

    @property
    def failure(self) -> FalError | None:
        return self.outcome if isinstance(self.outcome, FalError) else None

    @property
    def stored_bytes(self) -> int:
        """The bytes of reference images the request keeps until it is forgotten."""
        if isinstance(self.outcome, FalError):
            return 0
        return sum(len(image.data or b"") for image in self.outcome.images)


@dataclass(frozen=True)  # not slots: a transition copies the instance dict in one C call
class QueuedRequest:
    """One request and its timeline; transitions return a new value."""

    request_id: str
    endpoint_id: str
    app_id: str
    job: Job
    priority: Priority
    seq: int
    submitted_at: float
    eligible_at: float
    start_deadline: float | None
    output_path: str
    webhook_url: str | None = None
    media_root: str = ""  # where the output's URL points, for webhook payloads
    run_seconds: float | None = None  # its own run time, from a scenario
    status: Status = Status.IN_QUEUE
    started_at: float | None = None
    finishes_at: float | None = None
    completed_at: float | None = None
    failure: FalError | None = None
    # Finished with a webhook that has not been handed to the deliverer yet.
    webhook_pending: bool = False

    @property
    def inference_time(self) -> float | None:
        if self.started_at is None or self.completed_at is None:
            return None
        return self.completed_at - self.started_at

    def started(self, at: float, finishes_at: float) -> QueuedRequest:
        return self._with(status=Status.IN_PROGRESS, started_at=at, finishes_at=finishes_at)

    def completed(self, at: float, failure: FalError | None) -> QueuedRequest:
        return self._with(
            status=Status.COMPLETED,
            completed_at=at,
            failure=failure,
            webhook_pending=self.webhook_url is not None,
        )

    def webhook_handed_over(self) -> QueuedRequest:
        return self._with(webhook_pending=False)

    def _with(self, **changes: Any) -> QueuedRequest:
        """`dataclasses.replace` without its introspection and frozen `__init__`: twice per
        request, it was the store's largest cost at submit. The new value's dict is filled
        from this one's (the frozen class guards attributes, not its dict), which keeps the
        keys shared between instances."""
        new = object.__new__(QueuedRequest)
        values = new.__dict__
        values.update(self.__dict__)
        values.update(changes)
        return new


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A request as seen at time `now`, with the number of requests ahead of it while queued."""

    request: QueuedRequest
    now: float
    queue_position: int | None = None

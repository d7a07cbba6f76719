"""Values the fake keeps about a request: its status, its planned work and its timeline."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from falfake.errors import FalError
from falfake.media.packed import pack_generation, unpack_generation
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


class Job:
    """What a runner will do with a request: make its output, or fail with an error.

    The output is kept packed (`falfake.media.packed`) from submit, and made again when it is
    first asked for (a result, a webhook): as objects an output was six the garbage collector
    walked on every collection of its generation, and thousands of requests are in flight. Made,
    it stays with the job, which the store drops when it packs a request it has not read lately.
    """

    __slots__ = ("_kept", "_payloads", "_record", "fails_late", "failure", "logs", "stored_bytes")

    def __init__(
        self,
        logs: tuple[LogLine, ...],
        outcome: Generation | FalError,
        fails_late: bool = False,  # a failure found only after running (a flagged output)
    ) -> None:
        self.logs = logs
        self.fails_late = fails_late
        self._record: bytes | None = None
        self._payloads: tuple[bytes, ...] = ()
        # The output as objects: made again once asked for, or one marshal cannot keep.
        self._kept: Generation | None = None
        if isinstance(outcome, FalError):
            self.failure: FalError | None = outcome
            self.stored_bytes = 0
            return
        self.failure = None
        # The bytes of reference images the request keeps until it is forgotten.
        self.stored_bytes = sum(len(image.data or b"") for image in outcome.images)
        packed = pack_generation(outcome)
        if packed is None:
            self._kept = outcome
        else:
            self._record, self._payloads = packed

    @classmethod
    def packed(
        cls,
        logs: tuple[LogLine, ...],
        record: bytes,
        payloads: tuple[bytes, ...],
        *,
        fails_late: bool,
        stored_bytes: int,
    ) -> Job:
        """A job whose output is already packed, without making it again."""
        job = cls.__new__(cls)
        job.logs, job.fails_late, job.failure = logs, fails_late, None
        job._record, job._payloads, job._kept = record, payloads, None
        job.stored_bytes = stored_bytes
        return job

    @property
    def outcome(self) -> Generation | FalError:
        if self.failure is not None:
            return self.failure
        if self._kept is None:
            assert self._record is not None, "a job that does not fail has an output"
            self._kept = unpack_generation(self._record, self._payloads)
        return self._kept

    @property
    def packed_output(self) -> tuple[bytes, tuple[bytes, ...]] | None:
        """The output's record and payloads, if packed."""
        return None if self._record is None else (self._record, self._payloads)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Job):
            return NotImplemented
        mine = (self.logs, self.fails_late, self.failure)
        return mine == (other.logs, other.fails_late, other.failure) and (
            self.outcome == other.outcome
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Job(logs={self.logs!r}, outcome={self.outcome!r}, fails_late={self.fails_late})"


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

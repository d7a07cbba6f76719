"""A submit or a sync run as the queue's operations take it: everything they need from the
request, read once by the web layer (`falfake.http.calls`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from falfake.errors import FalError
from falfake.queue.stubs import Stub
from falfake.validation import Priority


@dataclass(frozen=True, slots=True)
class Call:
    body: bytes
    content_type: str | None
    media_root: str  # where the output's URLs point
    own_roots: tuple[str, ...]  # the addresses the fake's own files are reached at
    forced_safety: frozenset[str] = frozenset()  # by header or by a scenario
    start_timeout: float | None = None  # X-Fal-Request-Timeout
    # A queued request's own knobs (a sync run has none).
    priority: Priority = Priority.NORMAL
    max_queue_length: int | None = None
    webhook: str | None = None
    # A matched scenario's effect.
    queue_seconds: float | None = None
    run_seconds: float | None = None
    stuck: bool = False
    stub: Stub = field(default_factory=Stub)
    drop_after_events: int | None = None  # on `/stream`
    failure: FalError | None = None  # what the job ends with after its run (a replay's)

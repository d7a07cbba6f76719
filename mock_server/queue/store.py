"""State of queued requests, and the simulated runners that move them forward.

Nothing runs in the background: every operation first replays, in time order, what the runners
did since the last call (starts, finishes, start-timeouts) up to `clock()`. So progress follows any
clock, including a manual one, and the same calls at the same times always give the same answers.

Finding the next event never scans (`falfake.queue.timetable`): each operation costs
O(log n) in the requests held.

The store works in memory; a `RequestRecords` (SQLite with `--data-dir`) is told every change and
hands the requests back after a restart. Finished requests are packed (`falfake.queue.compact`)
once they have not been read for a while, so a long history costs little memory and no pauses.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable, Iterable
from typing import cast

from falfake.errors import (
    AlreadyCompleted,
    CancelTargetNotFound,
    ClientCancelled,
    FalError,
    RateLimited,
    RequestNotFound,
    StartTimeout,
)
from falfake.queue.compact import Packed, pack, unpack
from falfake.queue.models import Job, QueuedRequest, Snapshot, Status
from falfake.queue.records import NoRecords, RequestRecords
from falfake.queue.timetable import Timetable
from falfake.settings import Retention, Timing
from falfake.validation import Priority

# Finished requests kept as objects, the last finished or read: clients read a request just after
# it finishes (its status, its result, its webhook's payload) and seldom later; older ones are
# packed (a few microseconds each). About 2 KiB each as objects, under 1 KiB packed; as many as
# the default retention keeps, so that with the defaults nothing is packed.
YOUNG_FINISHED = 10_000


# Not frozen: a frozen dataclass sets each field through `object.__setattr__`, and this one is
# made on every submit and read once.
@dataclasses.dataclass(slots=True)
class NewRequest:
    """What a submit asks for."""

    request_id: str
    endpoint_id: str
    app_id: str
    job: Job
    output_path: str
    priority: Priority = Priority.NORMAL
    start_timeout: float | None = None
    max_queue_length: int | None = None
    webhook_url: str | None = None
    media_root: str = ""
    queue_seconds: float | None = None  # this request's own times, set by a scenario
    run_seconds: float | None = None


class RequestStore:
    """All requests, their queue and the runners; its methods are the queue API's operations."""

    def __init__(
        self,
        timing: Timing,
        retention: Retention,
        clock: Callable[[], float],
        *,
        honour_cancel: bool = True,
        documented_cancel_body: bool = False,
        records: RequestRecords | None = None,
        young_finished: int = YOUNG_FINISHED,
    ) -> None:
        """`young_finished`: how many finished requests stay objects (tests make it small)."""
        self._timing = timing
        self._young_finished = young_finished
        self._retention = retention
        self._clock = clock
        self._honour_cancel = honour_cancel
        self._documented_cancel_body = documented_cancel_body
        self._records = records or NoRecords()
        self._forget()
        self._restore(*self._records.load())

    def reset(self) -> None:
        """Forget every request."""
        self._forget()
        self._records.clear()

    def _forget(self) -> None:
        # Submit order; a finished request is packed once it leaves `_young`.
        self._requests: dict[str, QueuedRequest | Packed] = {}
        self._young: deque[str] = deque()  # finished requests kept as objects, oldest first
        self._timetable = Timetable(self._timing.runners, self._is_queued)
        # Finished requests in completion order, and when each finished: two queues rather than
        # one of pairs, a tuple less for each request kept.
        self._finished_ids: deque[str] = deque()
        self._finished_at: deque[float] = deque()
        self._seq = 0
        self._webhooks: list[tuple[str, QueuedRequest]] = []  # finished, not yet handed out
        self._bytes = 0  # of reference images held by all requests
        # Each request's share of it, where it holds any: most hold none, and reading a job's
        # images again when a request is forgotten cost every submit past the retention bound.
        self._sizes: dict[str, int] = {}

    def _restore(self, requests: Iterable[QueuedRequest], saved_at: float | None) -> None:
        """Take back the requests of an earlier run. Time stood still while the fake was down:
        queued requests wait what they had left to wait, running ones run what they had left
        (their moved times are saved, so the next restart moves them on from there)."""
        now = self._clock()
        paused = 0.0 if saved_at is None else max(now - saved_at, 0.0)
        finished: list[tuple[float, str]] = []
        for request in sorted(requests, key=lambda r: r.seq):
            self._seq = max(self._seq, request.seq)
            self._hold(request.request_id, request.job.stored_bytes)
            if request.status is Status.COMPLETED:
                self._requests[request.request_id] = request
                finished.append((request.completed_at or 0.0, request.request_id))
                if request.webhook_pending and request.webhook_url is not None:
                    self._webhooks.append((request.webhook_url, request))
                self._retire(request.request_id)
                continue
            request = _resumed(request, paused)
            if paused:
                self._records.update(request)
            if request.status is Status.IN_QUEUE:
                self._timetable.enqueue(request)
            else:
                self._timetable.run(request.request_id, request.finishes_at or now)
            self._requests[request.request_id] = request
        for at, request_id in sorted(finished):
            self._finished_at.append(at)
            self._finished_ids.append(request_id)
        self._records.seen(now)

    def __len__(self) -> int:
        return len(self._requests)

    def submit(self, new: NewRequest) -> Snapshot:
        """Queue a request; 429 when `max_queue_length` requests already wait, or when the
        retention bounds are filled by unfinished requests alone."""
        now = self._advance()
        if new.max_queue_length is not None and self._timetable.queued >= new.max_queue_length:
            raise RateLimited("Too many requests")
        stored_bytes = new.job.stored_bytes
        self._make_room(stored_bytes)
        self._seq += 1
        request = queued(new, self._seq, now, self._timing)
        self._requests[request.request_id] = request
        self._records.add(request)
        self._hold(request.request_id, stored_bytes)
        self._timetable.enqueue(request)
        return self._snapshot(request, now)

    def status(self, app_id: str, request_id: str) -> Snapshot:
        """The request as it is now; RequestNotFound for ids unknown under this app."""
        now = self._advance()
        return self._snapshot(self._find(app_id, request_id), now)

    def get(self, request_id: str) -> Snapshot:
        """The request as it is now, whatever its app; RequestNotFound if unknown."""
        now = self._advance()
        request = self._read(request_id)
        if request is None:
            raise RequestNotFound
        return self._snapshot(request, now)

    def recent(
        self,
        limit: int,
        *,
        before: int | None = None,
        endpoint_id: str | None = None,
        status: Status | None = None,
    ) -> list[Snapshot]:
        """Newest first: up to `limit` requests submitted before sequence number `before`, of
        one endpoint and one status if given (the dashboard's pages)."""
        now = self._advance()
        found: list[Snapshot] = []
        for entry in reversed(self._requests.values()):
            if isinstance(entry, QueuedRequest):
                seq, endpoint, state = entry.seq, entry.endpoint_id, entry.status
            else:
                seq, endpoint, state = entry[0], entry[1], Status.COMPLETED
            if before is not None and seq >= before:
                continue
            if endpoint_id is not None and endpoint != endpoint_id:
                continue
            if status is not None and state is not status:
                continue
            request = entry if isinstance(entry, QueuedRequest) else unpack(entry)
            found.append(self._snapshot(request, now))
            if len(found) == limit:
                break
        return found

    def cancel(self, app_id: str, request_id: str) -> None:
        """Cancel a queued request at once, or signal a running one; 400 once COMPLETED."""
        now = self._advance()
        request = self._read(request_id)
        if request is None or request.app_id != app_id:
            raise CancelTargetNotFound
        if request.status is Status.COMPLETED:
            raise AlreadyCompleted(request_id, documented_shape=self._documented_cancel_body)
        if request.status is Status.IN_QUEUE:
            self._timetable.dequeue(request)
            self._complete(request, now, ClientCancelled(request_id))
        elif self._honour_cancel:
            self._timetable.stop(request_id)
            self._complete(request, now, ClientCancelled(request_id))
        # Otherwise the model ignores the signal and finishes as planned, as fal allows (§7).

    def take_webhooks(self) -> list[tuple[str, QueuedRequest]]:
        """(target, request) for each request finished since the last call with a webhook.

        Until `webhook_started` says its delivery is under way, a restart hands it out again.
        """
        self._advance()
        due, self._webhooks = self._webhooks, []
        return due

    def webhook_started(self, request_id: str) -> None:
        request = self._read(request_id)
        if request is not None and request.webhook_pending:
            self._put(request.webhook_handed_over())
            self._retire(request_id)

    def _find(self, app_id: str, request_id: str) -> QueuedRequest:
        request = self._read(request_id)
        if request is None or request.app_id != app_id:
            raise RequestNotFound
        return request

    def _read(self, request_id: str) -> QueuedRequest | None:
        """The request, unpacked (and kept so a while: one read is often followed by more)."""
        entry = self._requests.get(request_id)
        if entry is None or isinstance(entry, QueuedRequest):
            return entry
        request = unpack(entry)
        self._requests[request_id] = request
        self._retire(request_id)
        return request

    def _live(self, request_id: str) -> QueuedRequest:
        """A request with a coming event: not finished, so never packed."""
        return cast(QueuedRequest, self._requests[request_id])

    def _retire(self, request_id: str) -> None:
        """A finished request was just made or read: it is kept as an object for a while, and
        the one finished or read longest ago is packed if this makes too many."""
        young = self._young
        young.append(request_id)
        if len(young) > self._young_finished:
            oldest = young.popleft()
            entry = self._requests.get(oldest)
            # Still pending a webhook (handed out by `take_webhooks`): it changes once more, and
            # `webhook_started` retires it again.
            if isinstance(entry, QueuedRequest) and not entry.webhook_pending:
                packed = pack(entry)
                if packed is not None:
                    self._requests[oldest] = packed

    def _snapshot(self, request: QueuedRequest, now: float) -> Snapshot:
        position = None
        if request.status is Status.IN_QUEUE:
            position = self._timetable.position(request)
        return Snapshot(request=request, now=now, queue_position=position)

    def next_event_time(self) -> float | None:
        """When the runners next change something (a start, a finish, a timeout), if ever."""
        self._advance()
        moment = self._next_moment()
        return None if math.isinf(moment) else moment

    def keep_up(self, limit: int) -> float | None:
        """Replay at most `limit` of the events due by now: None while more are due, else when
        the next one falls due (inf: none is coming). A task calls this between requests, in
        slices, so that no request finds thousands of moves to replay before it can answer."""
        now = self._clock()
        for _ in range(limit):
            if not self._replay_next(now):
                self._expire(now)
                return self._next_moment()
        return None

    def _advance(self) -> float:
        """Replay the runners' events up to now, in time order; returns now."""
        now = self._clock()
        while self._replay_next(now):
            pass
        self._expire(now)
        return now

    def _replay_next(self, now: float) -> bool:
        """Replay the earliest event due by `now`; False if none is."""
        found = self._timetable.next_event(now)
        if found is None:
            return False
        kind, (at, request_id) = found
        self._timetable.cursor = max(self._timetable.cursor, at)
        if kind == "finish":
            self._finish(self._live(request_id), at)
        elif kind == "start":
            self._start(self._live(request_id), at)
        else:
            self._time_out(self._live(request_id), at)
        return True

    def _next_moment(self) -> float:
        event = self._timetable.next_event(math.inf)
        return math.inf if event is None else event[1][0]

    def _is_queued(self, request_id: str) -> bool:
        request = self._requests.get(request_id)
        return isinstance(request, QueuedRequest) and request.status is Status.IN_QUEUE

    def _start(self, request: QueuedRequest, at: float) -> None:
        self._timetable.dequeue(request)
        finishes_at = at + first(request.run_seconds, self._timing.run_seconds)
        self._timetable.run(request.request_id, finishes_at)
        self._put(request.started(at, finishes_at))

    def _time_out(self, request: QueuedRequest, at: float) -> None:
        self._timetable.dequeue(request)
        self._complete(request, at, StartTimeout(request.request_id))

    def _finish(self, request: QueuedRequest, at: float) -> None:
        self._timetable.stop(request.request_id)
        self._complete(request, at, request.job.failure)

    def _complete(self, request: QueuedRequest, at: float, failure: FalError | None) -> None:
        done = request.completed(at, failure)
        self._put(done)
        self._finished_at.append(at)
        self._finished_ids.append(request.request_id)
        if done.webhook_url is not None:
            self._webhooks.append((done.webhook_url, done))
        self._retire(request.request_id)

    def _put(self, request: QueuedRequest) -> None:
        self._requests[request.request_id] = request
        self._records.update(request)

    def _make_room(self, incoming_bytes: int) -> None:
        """Forget the oldest finished requests so one more fits; 429 when only unfinished ones
        fill the limits (fal answers a full queue so, and clients retry it)."""
        retention = self._retention
        while (
            len(self._requests) >= retention.max_requests
            or self._bytes + incoming_bytes > retention.max_request_bytes
        ):
            if not self._finished_ids:
                raise RateLimited("Too many requests")
            self._drop_oldest()

    def _expire(self, now: float) -> None:
        """Drop finished requests past their time to live."""
        ttl = self._retention.request_ttl_seconds
        while self._finished_at and self._finished_at[0] + ttl <= now:
            self._drop_oldest()
        self._records.seen(now)

    def _hold(self, request_id: str, stored_bytes: int) -> None:
        if stored_bytes:
            self._sizes[request_id] = stored_bytes
            self._bytes += stored_bytes

    def _drop_oldest(self) -> None:
        self._finished_at.popleft()
        request_id = self._finished_ids.popleft()
        del self._requests[request_id]
        self._bytes -= self._sizes.pop(request_id, 0)
        self._records.delete(request_id)


def queued(new: NewRequest, seq: int, now: float, timing: Timing) -> QueuedRequest:
    """The request `new` asks for, queued at `now` as number `seq`."""
    return QueuedRequest(
        request_id=new.request_id,
        endpoint_id=new.endpoint_id,
        app_id=new.app_id,
        job=new.job,
        priority=new.priority,
        seq=seq,
        submitted_at=now,
        eligible_at=now + first(new.queue_seconds, timing.queue_seconds),
        start_deadline=None if new.start_timeout is None else now + new.start_timeout,
        output_path=new.output_path,
        webhook_url=new.webhook_url,
        media_root=new.media_root,
        run_seconds=new.run_seconds,
    )


def first(value: float | None, default: float) -> float:
    """A request's own time where a scenario set one, else the fake's."""
    return default if value is None else value


def _resumed(request: QueuedRequest, paused: float) -> QueuedRequest:
    """An unfinished request with its coming moments `paused` seconds later."""

    def later(moment: float | None) -> float | None:
        return None if moment is None else moment + paused

    if request.status is Status.IN_QUEUE:
        return dataclasses.replace(
            request,
            eligible_at=request.eligible_at + paused,
            start_deadline=later(request.start_deadline),
        )
    return dataclasses.replace(
        request, started_at=later(request.started_at), finishes_at=later(request.finishes_at)
    )

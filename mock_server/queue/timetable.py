"""The runners' timetable: which request starts, finishes or times out next, found without scans.

Finishes, deadlines and requests still queueing sit in heaps by time, requests ready to start in a
heap by serving order, and the queue itself in a sorted list that tells a request's position.
Each operation costs O(log n) in the requests held. Heap entries of requests that left the queue
(or stopped running) are skipped when they reach the top: `is_queued` says which are still in it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

from sortedcontainers import SortedList

from falfake.queue.models import QueuedRequest

QueueKey = tuple[int, int, str]  # (priority rank, seq, id): the serving order
Event = tuple[str, tuple[float, str]]  # ("start" | "finish" | "deadline", (time, id))


def queue_key(request: QueuedRequest) -> QueueKey:
    return request.priority.rank, request.seq, request.request_id


class Timetable:
    def __init__(self, runners: int, is_queued: Callable[[str], bool]) -> None:
        self._runners = runners
        self._is_queued = is_queued
        self._queue: SortedList[QueueKey] = SortedList()  # every queued request, serving order
        # Queued requests still queueing, by (eligible_at, *key): the top is the next to be ready.
        self._queueing: list[tuple[float, int, int, str]] = []
        self._ready: list[QueueKey] = []  # queued and eligible by the cursor, serving order
        self._deadlines: list[tuple[float, str]] = []  # (start deadline, id) of queued requests
        self._running: dict[str, float] = {}  # id -> planned finish time
        self._finishes: list[tuple[float, str]] = []  # (planned finish, id)
        self.cursor = -math.inf  # time of the last replayed event

    @property
    def queued(self) -> int:
        return len(self._queue)

    def position(self, request: QueuedRequest) -> int:
        """How many queued requests are served before this one."""
        return self._queue.bisect_left(queue_key(request))

    def enqueue(self, request: QueuedRequest) -> None:
        key = queue_key(request)
        self._queue.add(key)
        heapq.heappush(self._queueing, (request.eligible_at, *key))
        if request.start_deadline is not None:
            heapq.heappush(self._deadlines, (request.start_deadline, request.request_id))

    def dequeue(self, request: QueuedRequest) -> None:
        """Out of the queue; its heap entries go stale with its status, which changes next."""
        self._queue.remove(queue_key(request))

    def run(self, request_id: str, finishes_at: float) -> None:
        self._running[request_id] = finishes_at
        heapq.heappush(self._finishes, (finishes_at, request_id))

    def stop(self, request_id: str) -> None:
        """No longer running (finished or cancelled); its finish entry is skipped from now on."""
        del self._running[request_id]

    def next_event(self, until: float) -> Event | None:
        """The earliest event at or before `until`, by kind; on a tie a finish frees its runner
        first, and a start beats its own deadline."""
        earliest: Event | None = None
        finish = self._next_finish()
        if finish is not None and finish[0] <= until:
            earliest = "finish", finish
        start = self._next_start()
        if (
            start is not None
            and start[0] <= until
            and (earliest is None or start[0] < earliest[1][0])
        ):
            earliest = "start", start
        deadline = self._next_deadline() if self._deadlines else None
        if (
            deadline is not None
            and deadline[0] <= until
            and (earliest is None or deadline[0] < earliest[1][0])
        ):
            earliest = "deadline", deadline
        return earliest

    def _next_finish(self) -> tuple[float, str] | None:
        finishes = self._finishes
        while finishes and self._running.get(finishes[0][1]) != finishes[0][0]:
            heapq.heappop(finishes)  # cancelled while running
        return finishes[0] if finishes else None

    def _next_start(self) -> tuple[float, str] | None:
        """When a free runner next takes a request, and which: the first in serving order of
        those eligible by then (every request ready by the cursor, else the first to be)."""
        if len(self._running) >= self._runners or not self._queue:
            return None
        queueing, ready = self._queueing, self._ready
        while queueing and queueing[0][0] <= self.cursor:
            _, rank, seq, request_id = heapq.heappop(queueing)
            if self._is_queued(request_id):
                heapq.heappush(ready, (rank, seq, request_id))
        while ready and not self._is_queued(ready[0][2]):
            heapq.heappop(ready)
        if ready:
            return self.cursor, ready[0][2]
        while queueing and not self._is_queued(queueing[0][3]):
            heapq.heappop(queueing)
        # Everything ready by the cursor has been taken: the first to become eligible is next,
        # and on equal times the heap's order is the serving order.
        return (queueing[0][0], queueing[0][3]) if queueing else None

    def _next_deadline(self) -> tuple[float, str] | None:
        deadlines = self._deadlines
        while deadlines and not self._is_queued(deadlines[0][1]):
            heapq.heappop(deadlines)
        return deadlines[0] if deadlines else None

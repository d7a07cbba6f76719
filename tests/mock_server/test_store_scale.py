"""The store's heaps give exactly what scanning every request gives, in every order of events,
and neither packing finished requests nor replaying moves in slices changes what a client sees.

`ScanningStore` finds the next finish, start and deadline, and each queue position, by looking at
every request, as the store did before it kept heaps; hypothesis drives both stores through the
same submits (priorities, per-request queue and run times, start deadlines), cancels and time,
and every snapshot must agree.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from falfake import ManualClock
from falfake.endpoints.reference_to_video import video_output
from falfake.errors import FalError
from falfake.media.specs import VideoSpec
from falfake.queue.models import Job, LogLine, QueuedRequest, Snapshot, Status
from falfake.queue.store import NewRequest, RequestStore
from falfake.queue.timetable import Timetable
from falfake.runtime.codec import encode_request
from falfake.settings import Retention, Timing
from falfake.validation import Priority

APP = "o/a"
JOB = Job(logs=(LogLine(0.0, "start"),), outcome=video_output(VideoSpec(64, 36, 3)))


class ScanningTimetable(Timetable):
    """The timetable with every event found by a scan over all of the store's requests."""

    def __init__(self, store: ScanningStore) -> None:
        super().__init__(store._timing.runners, store._is_queued)
        self._store = store

    def _queued(self) -> list[QueuedRequest]:
        requests = self._store._requests.values()
        queued = [
            r for r in requests if isinstance(r, QueuedRequest) and r.status is Status.IN_QUEUE
        ]
        return sorted(queued, key=lambda r: (r.priority.rank, r.seq, r.request_id))

    def _next_finish(self) -> tuple[float, str] | None:
        return min(((t, rid) for rid, t in self._running.items()), default=None)

    def _next_start(self) -> tuple[float, str] | None:
        queued = self._queued()
        if len(self._running) >= self._runners or not queued:
            return None
        at = max(self.cursor, min(r.eligible_at for r in queued))
        first = next(r for r in queued if r.eligible_at <= at)
        return at, first.request_id

    def _next_deadline(self) -> tuple[float, str] | None:
        deadlines = [
            (r.start_deadline, r.request_id) for r in self._queued() if r.start_deadline is not None
        ]
        return min(deadlines, default=None)

    def position(self, request: QueuedRequest) -> int:
        return [r.request_id for r in self._queued()].index(request.request_id)


class ScanningStore(RequestStore):
    """The store with the scanning timetable."""

    def _forget(self) -> None:
        super()._forget()
        self._timetable = ScanningTimetable(self)


submits: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "priority": st.sampled_from(list(Priority)),
        "queue_seconds": st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0, 3.0])),
        "run_seconds": st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.5])),
        "start_timeout": st.one_of(st.none(), st.sampled_from([0.5, 2.0, 6.0])),
    }
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), submits),
        st.tuples(st.just("wait"), st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 5.0])),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("keep_up"), st.integers(1, 3)),
    ),
    max_size=60,
)


def seen(snapshot: Snapshot) -> tuple[object, ...]:
    request = snapshot.request
    failure = None if request.failure is None else type(request.failure).__name__
    return (
        request.status,
        request.started_at,
        request.finishes_at,
        request.completed_at,
        failure,
        snapshot.queue_position,
    )


@settings(max_examples=150, deadline=None)
@given(runners=st.integers(1, 3), steps=steps)
def test_the_heap_store_tells_what_a_full_scan_tells(
    runners: int, steps: list[tuple[str, object]]
) -> None:
    clock = ManualClock()
    timing = Timing(queue_seconds=1.0, run_seconds=2.0, runners=runners)
    stores = [
        RequestStore(timing, Retention(), clock.now),
        ScanningStore(timing, Retention(), clock.now),
        # Every finished request packed at once, and again after each read; moves replayed in
        # slices between requests too.
        RequestStore(timing, Retention(), clock.now, young_finished=0),
    ]
    ids = itertools.count()
    submitted: list[str] = []
    for kind, value in steps:
        if kind == "submit":
            assert isinstance(value, dict)
            request_id = f"r{next(ids)}"
            new = NewRequest(request_id, "o/a/p", APP, JOB, f"{request_id}.mp4", **value)
            for store in stores:
                store.submit(dataclasses.replace(new))
            submitted.append(request_id)
        elif kind == "wait":
            assert isinstance(value, float)
            clock.advance(value)
        elif kind == "keep_up":  # a few of the moves due replayed ahead, in one store only
            assert isinstance(value, int)
            stores[2].keep_up(value)
        elif submitted:
            assert isinstance(value, int)
            target = submitted[value % len(submitted)]
            outcomes = []
            for store in stores:
                try:
                    store.cancel(APP, target)
                    outcomes.append("cancelled")
                except FalError as exc:
                    outcomes.append(type(exc).__name__)
            assert outcomes[0] == outcomes[1] == outcomes[2]
        for request_id in submitted:
            heap, scan, packing = (store.status(APP, request_id) for store in stores)
            assert seen(heap) == seen(scan) == seen(packing), request_id
            assert encode_request(packing.request) == encode_request(heap.request)
        times = {store.next_event_time() for store in stores}
        assert len(times) == 1

"""The store's simulated runners: queue order, lifecycle timing, cancel, timeouts and expiry."""

from __future__ import annotations

import gc
import itertools
import math
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from hashlib import sha256
from pathlib import Path

import pytest

from falfake import ManualClock
from falfake.endpoints.reference_to_video import video_output
from falfake.errors import (
    AlreadyCompleted,
    CancelTargetNotFound,
    ClientCancelled,
    InvalidInput,
    RateLimited,
    RequestNotFound,
    StartTimeout,
)
from falfake.ids import file_segment, uuid7
from falfake.media.specs import ImageSource, VideoSpec
from falfake.queue.models import Job, LogLine, Status
from falfake.queue.store import YOUNG_FINISHED, NewRequest, RequestStore
from falfake.runtime.data_dir import DataDir
from falfake.settings import Retention, Timing
from falfake.validation import Priority

APP = "owner/app"
VIDEO_JOB = Job(logs=(LogLine(0.0, "start"),), outcome=video_output(VideoSpec(320, 180, 3)))


def job_with_image(size: int) -> Job:
    image = ImageSource(digest=f"sha-{size}", label="reference", data=b"x" * size)
    return Job(logs=(), outcome=video_output(VideoSpec(320, 180, 3, images=(image,))))


@pytest.fixture
def make_store(clock: ManualClock) -> Callable[..., RequestStore]:
    def make(
        runners: int = 1,
        *,
        honour_cancel: bool = True,
        retention: Retention | None = None,
        young_finished: int = YOUNG_FINISHED,
    ) -> RequestStore:
        timing = Timing(queue_seconds=1.0, run_seconds=2.0, runners=runners)
        return RequestStore(
            timing,
            retention or Retention(),
            clock.now,
            honour_cancel=honour_cancel,
            young_finished=young_finished,
        )

    return make


@pytest.fixture
def store(make_store: Callable[..., RequestStore]) -> RequestStore:
    return make_store()


_ids = itertools.count()


def submit(
    store: RequestStore,
    priority: Priority = Priority.NORMAL,
    *,
    job: Job = VIDEO_JOB,
    start_timeout: float | None = None,
    max_queue_length: int | None = None,
    webhook_url: str | None = None,
) -> str:
    request_id = f"r{next(_ids)}"
    store.submit(
        NewRequest(
            request_id=request_id,
            endpoint_id=f"{APP}/path",
            app_id=APP,
            job=job,
            output_path=f"{request_id}.mp4",
            priority=priority,
            start_timeout=start_timeout,
            max_queue_length=max_queue_length,
            webhook_url=webhook_url,
        )
    )
    return request_id


def status_of(store: RequestStore, request_id: str) -> Status:
    return store.status(APP, request_id).request.status


def test_request_waits_in_queue_then_runs_then_completes(
    store: RequestStore, clock: ManualClock
) -> None:
    request_id = submit(store)
    assert status_of(store, request_id) is Status.IN_QUEUE
    clock.advance(1.0)
    assert status_of(store, request_id) is Status.IN_PROGRESS
    clock.advance(1.999)
    assert status_of(store, request_id) is Status.IN_PROGRESS
    clock.advance(0.001)
    snapshot = store.status(APP, request_id)
    assert snapshot.request.status is Status.COMPLETED
    assert snapshot.request.inference_time == pytest.approx(2.0)
    assert snapshot.request.failure is None


def test_queue_position_counts_requests_ahead_and_falls(
    store: RequestStore, clock: ManualClock
) -> None:
    ids = [submit(store) for _ in range(3)]
    assert [store.status(APP, i).queue_position for i in ids] == [0, 1, 2]
    clock.advance(1.0)  # the first starts on the only runner
    assert [store.status(APP, i).queue_position for i in ids] == [None, 0, 1]
    clock.advance(2.0)  # the first finishes and the second takes the runner at once
    assert [status_of(store, i) for i in ids] == [
        Status.COMPLETED,
        Status.IN_PROGRESS,
        Status.IN_QUEUE,
    ]
    assert store.status(APP, ids[2]).queue_position == 0


def test_low_priority_waits_behind_every_normal_request(
    store: RequestStore, clock: ManualClock
) -> None:
    low = submit(store, Priority.LOW)
    normal = submit(store)
    assert store.status(APP, low).queue_position == 1
    assert store.status(APP, normal).queue_position == 0
    clock.advance(1.0)
    assert status_of(store, normal) is Status.IN_PROGRESS
    assert status_of(store, low) is Status.IN_QUEUE


def test_a_runner_takes_an_eligible_low_request_before_a_normal_one_still_queueing(
    store: RequestStore, clock: ManualClock
) -> None:
    low = submit(store, Priority.LOW)
    clock.advance(0.5)
    normal = submit(store)
    clock.advance(0.5)  # only the low request has waited its second in the queue
    assert status_of(store, low) is Status.IN_PROGRESS
    assert status_of(store, normal) is Status.IN_QUEUE


def test_runners_work_in_parallel(
    make_store: Callable[..., RequestStore], clock: ManualClock
) -> None:
    store = make_store(runners=2)
    ids = [submit(store) for _ in range(3)]
    clock.advance(1.0)
    assert [status_of(store, i) for i in ids] == [
        Status.IN_PROGRESS,
        Status.IN_PROGRESS,
        Status.IN_QUEUE,
    ]


def test_events_between_calls_are_replayed_in_time_order(
    store: RequestStore, clock: ManualClock
) -> None:
    ids = [submit(store) for _ in range(3)]
    clock.advance(7.0)  # three back-to-back runs of two seconds after one second of queueing
    finished = [store.status(APP, i).request for i in ids]
    assert [r.started_at for r in finished] == [clock.now() - 6, clock.now() - 4, clock.now() - 2]
    assert all(r.status is Status.COMPLETED for r in finished)


def test_failing_job_completes_with_its_error(store: RequestStore, clock: ManualClock) -> None:
    failure = InvalidInput([{"type": "missing", "loc": ["body"], "msg": "Field required"}])
    request_id = submit(store, job=Job(logs=(), outcome=failure))
    clock.advance(3.0)
    request = store.status(APP, request_id).request
    assert request.status is Status.COMPLETED
    assert request.failure is failure


def test_unknown_id_and_wrong_app_are_not_found(store: RequestStore) -> None:
    request_id = submit(store)
    with pytest.raises(RequestNotFound):
        store.status(APP, "nope")
    with pytest.raises(RequestNotFound):
        store.status("other/app", request_id)


def test_cancel_in_queue_completes_at_once_and_never_runs(
    store: RequestStore, clock: ManualClock
) -> None:
    request_id = submit(store)
    store.cancel(APP, request_id)
    request = store.status(APP, request_id).request
    assert request.status is Status.COMPLETED
    assert isinstance(request.failure, ClientCancelled)
    assert request.started_at is None
    clock.advance(10.0)
    assert store.status(APP, request_id).request.started_at is None


def test_cancel_in_queue_moves_the_others_up(store: RequestStore) -> None:
    first, second = submit(store), submit(store)
    store.cancel(APP, first)
    assert store.status(APP, second).queue_position == 0


def test_honoured_cancel_of_a_running_request_frees_its_runner(
    store: RequestStore, clock: ManualClock
) -> None:
    running, waiting = submit(store), submit(store)
    clock.advance(1.5)
    store.cancel(APP, running)
    assert isinstance(store.status(APP, running).request.failure, ClientCancelled)
    assert status_of(store, waiting) is Status.IN_PROGRESS


def test_ignored_cancel_lets_the_request_finish(
    make_store: Callable[..., RequestStore], clock: ManualClock
) -> None:
    store = make_store(honour_cancel=False)
    request_id = submit(store)
    clock.advance(1.5)
    store.cancel(APP, request_id)
    assert status_of(store, request_id) is Status.IN_PROGRESS
    clock.advance(2.0)
    request = store.status(APP, request_id).request
    assert request.status is Status.COMPLETED
    assert request.failure is None


def test_cancel_after_completion_is_refused_every_time(
    store: RequestStore, clock: ManualClock
) -> None:
    request_id = submit(store)
    store.cancel(APP, request_id)
    for _ in range(2):
        with pytest.raises(AlreadyCompleted):
            store.cancel(APP, request_id)


def test_cancel_of_unknown_id_is_not_found(store: RequestStore) -> None:
    with pytest.raises(CancelTargetNotFound):
        store.cancel(APP, "nope")


def test_cancel_through_another_apps_path_is_not_found_and_changes_nothing(
    store: RequestStore,
) -> None:
    request_id = submit(store)
    with pytest.raises(CancelTargetNotFound):
        store.cancel("other/app", request_id)
    assert store.status(APP, request_id).request.status is Status.IN_QUEUE


def test_request_that_cannot_start_in_time_completes_with_a_timeout(
    store: RequestStore, clock: ManualClock
) -> None:
    busy = submit(store)
    late = submit(store, start_timeout=2.0)
    clock.advance(2.0)
    assert status_of(store, busy) is Status.IN_PROGRESS
    request = store.status(APP, late).request
    assert request.status is Status.COMPLETED
    assert isinstance(request.failure, StartTimeout)
    assert request.completed_at == clock.now()


def test_request_that_starts_before_its_deadline_runs_normally(
    store: RequestStore, clock: ManualClock
) -> None:
    request_id = submit(store, start_timeout=1.0)  # starts exactly at its deadline
    clock.advance(3.0)
    request = store.status(APP, request_id).request
    assert request.status is Status.COMPLETED
    assert request.failure is None


def test_submit_over_max_queue_length_is_rate_limited(store: RequestStore) -> None:
    submit(store, max_queue_length=1)
    with pytest.raises(RateLimited):
        submit(store, max_queue_length=1)
    assert len(store) == 1


def test_finished_requests_expire_after_their_time_to_live(
    make_store: Callable[..., RequestStore], clock: ManualClock
) -> None:
    store = make_store(retention=Retention(request_ttl_seconds=10.0))
    request_id = submit(store)
    clock.advance(3.0 + 9.9)
    assert status_of(store, request_id) is Status.COMPLETED
    clock.advance(0.1)
    with pytest.raises(RequestNotFound):
        store.status(APP, request_id)


def test_oldest_finished_requests_go_first_past_the_count_limit(
    make_store: Callable[..., RequestStore], clock: ManualClock
) -> None:
    store = make_store(runners=3, retention=Retention(max_requests=2))
    done = [submit(store) for _ in range(2)]
    clock.advance(3.0)
    newest = submit(store)
    assert len(store) == 2
    with pytest.raises(RequestNotFound):
        store.status(APP, done[0])
    assert status_of(store, done[1]) is Status.COMPLETED
    assert status_of(store, newest) is Status.IN_QUEUE


def test_a_store_full_of_requests_in_flight_answers_429_and_evicts_none(
    make_store: Callable[..., RequestStore],
) -> None:
    store = make_store(retention=Retention(max_requests=2))
    ids = [submit(store) for _ in range(2)]
    with pytest.raises(RateLimited):
        submit(store)
    assert [status_of(store, i) for i in ids] == [Status.IN_QUEUE] * 2


def test_oldest_finished_requests_go_first_past_the_image_byte_limit(
    make_store: Callable[..., RequestStore], clock: ManualClock
) -> None:
    store = make_store(runners=3, retention=Retention(max_request_bytes=250))
    done = [submit(store, job=job_with_image(100)) for _ in range(2)]
    clock.advance(3.0)
    newest = submit(store, job=job_with_image(100))
    with pytest.raises(RequestNotFound):
        store.status(APP, done[0])
    assert status_of(store, done[1]) is Status.COMPLETED
    assert status_of(store, newest) is Status.IN_QUEUE


def test_images_of_requests_in_flight_over_the_byte_limit_answer_429(
    make_store: Callable[..., RequestStore],
) -> None:
    store = make_store(retention=Retention(max_request_bytes=250))
    first = submit(store, job=job_with_image(200))
    with pytest.raises(RateLimited):
        submit(store, job=job_with_image(100))
    assert status_of(store, first) is Status.IN_QUEUE


def test_a_store_taken_back_from_its_records_counts_the_images_it_holds(
    clock: ManualClock, tmp_path: Path
) -> None:
    timing, retention = Timing(1.0, 2.0, 1), Retention(max_request_bytes=250)
    before = DataDir(tmp_path)
    first = submit(
        RequestStore(timing, retention, clock.now, records=before.requests), job=job_with_image(200)
    )
    before.release()
    after = DataDir(tmp_path)
    store = RequestStore(timing, retention, clock.now, records=after.requests)
    try:
        with pytest.raises(RateLimited):
            submit(store, job=job_with_image(100))
        clock.advance(3.0)
        submit(store, job=job_with_image(200))  # the first, finished, is forgotten to make room
        with pytest.raises(RequestNotFound):
            store.status(APP, first)
    finally:
        after.release()


def test_reset_forgets_everything(store: RequestStore) -> None:
    request_id = submit(store)
    store.reset()
    assert len(store) == 0
    with pytest.raises(RequestNotFound):
        store.status(APP, request_id)


def test_recent_requests_come_newest_first_paged_and_filtered(
    store: RequestStore, clock: ManualClock
) -> None:
    ids = [submit(store) for _ in range(5)]
    clock.advance(1.5)  # one runner: the oldest is running, the others wait

    newest = store.recent(3)
    assert [s.request.request_id for s in newest] == ids[:1:-1]
    assert newest[0].queue_position == 3
    older = store.recent(3, before=newest[-1].request.seq)
    assert [s.request.request_id for s in older] == [ids[1], ids[0]]
    running = store.recent(10, status=Status.IN_PROGRESS)
    assert [s.request.request_id for s in running] == [ids[0]]
    assert store.recent(10, endpoint_id="other/app/path") == []
    assert len(store.recent(10, endpoint_id=f"{APP}/path")) == 5


def seed_like(clock: ManualClock) -> NewRequest:
    """A request as the seed endpoint plans one: its own id, output path, prompt and image."""
    request_id = uuid7(clock.now())
    image = ImageSource(digest=sha256(request_id.encode()).hexdigest(), label="reference: a.png")
    video = VideoSpec(1280, 720, 8, prompt="A cat <IMAGE_REF_0>", request_id=request_id)
    job = Job(logs=VIDEO_JOB.logs, outcome=video_output(replace(video, images=(image,))))
    return NewRequest(request_id, f"{APP}/path", APP, job, f"b/{file_segment()}")


def run_many(store: RequestStore, clock: ManualClock, count: int) -> None:
    for _ in range(count):
        store.submit(seed_like(clock))
        clock.advance(0.01)
    clock.advance(10.0)
    store.next_event_time()  # everything finishes


def test_a_long_history_adds_nothing_the_garbage_collector_walks(
    make_store: Callable[..., RequestStore], clock: ManualClock
) -> None:
    store = make_store(runners=1000, young_finished=100)
    run_many(store, clock, 200)
    gc.collect()
    before = len(gc.get_objects())
    run_many(store, clock, 3000)
    gc.collect()
    # Only the last finished requests stay objects (about ten tracked each); as objects, the
    # 3,000 would be 30,000.
    assert len(gc.get_objects()) - before < 100 * 12


def test_a_finished_request_kept_takes_under_a_kib(
    make_store: Callable[..., RequestStore], clock: ManualClock
) -> None:
    store = make_store(runners=1000, retention=Retention(max_requests=100_000))
    tracemalloc.start()
    try:
        run_many(store, clock, YOUNG_FINISHED)  # the objects kept young, there before and after
        before = tracemalloc.get_traced_memory()[0]
        run_many(store, clock, 5000)
        per_request = (tracemalloc.get_traced_memory()[0] - before) / 5000
    finally:
        tracemalloc.stop()
    assert per_request < 1024


def test_a_request_waiting_for_its_webhook_is_packed_only_once_handed_over(
    make_store: Callable[..., RequestStore], clock: ManualClock
) -> None:
    store = make_store(young_finished=0)
    request_id = submit(store, webhook_url="http://127.0.0.1:9/hook")
    clock.advance(3.0)
    [(target, finished)] = store.take_webhooks()
    assert (target, finished.webhook_pending) == ("http://127.0.0.1:9/hook", True)
    assert store.get(request_id).request.webhook_pending
    store.webhook_started(request_id)
    again = store.get(request_id).request
    assert (again.status, again.webhook_pending) == (Status.COMPLETED, False)
    assert again.job.logs == VIDEO_JOB.logs
    assert store.take_webhooks() == []


def test_keeping_up_replays_at_most_a_slice_then_tells_the_next_move(
    make_store: Callable[..., RequestStore], clock: ManualClock
) -> None:
    store = make_store(runners=100)
    ids = [submit(store) for _ in range(10)]
    clock.advance(1.0)  # ten starts due at once
    assert store.keep_up(4) is None
    assert store.keep_up(4) is None
    assert store.keep_up(4) == clock.now() + 2.0  # caught up: the first finish is next
    assert [status_of(store, i) for i in ids] == [Status.IN_PROGRESS] * 10
    clock.advance(2.0)
    assert store.keep_up(100) == math.inf  # all finished, nothing coming

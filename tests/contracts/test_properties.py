"""Property tests: any valid input yields a schema-valid output; anything else a fal-shaped 422;
and the queue's lifecycle invariants hold under any sequence of calls and passing time."""

from __future__ import annotations

import asyncio
import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from falfake import ManualClock, Settings, Timing, create_app
from falfake.contracts import ReferenceToVideoOutput
from falfake.contracts.wire import QueueStatus, ValidationErrorBody
from falfake.endpoints.reference_to_video import video_output
from falfake.errors import AlreadyCompleted, FalError, StillInProgress
from falfake.media.specs import VideoSpec
from falfake.queue.models import Job, LogLine, Snapshot, Status
from falfake.queue.replies import finished_output, status_body
from falfake.queue.store import NewRequest, RequestStore
from falfake.runtime.codec import encode_request
from falfake.runtime.data_dir import DataDir
from falfake.settings import Retention
from tests.conftest import APP, BASE_URL, KEY, SUBMIT_URL
from tests.strategies import near_inputs, valid_inputs

PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
FAST = Settings(timing=Timing(0.0, 0.0, 4), video_width=64, video_height=36, validate_at="submit")


def exchange(body: Any) -> tuple[int, Any, int, Any]:
    """Submit `body` to a fresh fake, let it finish, and read the result."""

    async def run() -> tuple[int, Any, int, Any]:
        clock = ManualClock()
        app = create_app(FAST, clock=clock)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
            content = json.dumps(body).encode()
            headers = {"Content-Type": "application/json"}
            submitted = await http.post(SUBMIT_URL, content=content, headers=headers)
            if submitted.status_code != 200:
                return submitted.status_code, submitted.json(), 0, None
            clock.advance(1.0)
            result = await http.get(f"/queue/{APP}/requests/{submitted.json()['request_id']}")
            return 200, submitted.json(), result.status_code, result.json()

    return asyncio.run(run())


@PROPERTY
@given(valid_inputs)
def test_every_valid_input_is_accepted_and_yields_a_schema_valid_output(
    data: dict[str, Any],
) -> None:
    submit_status, submitted, result_status, result = exchange(data)
    assert submit_status == 200
    QueueStatus.model_validate(submitted)
    assert result_status == 200
    output = ReferenceToVideoOutput.model_validate(result)
    assert output.video.content_type == "video/mp4"


@PROPERTY
@given(near_inputs)
def test_anything_else_gets_a_fal_shaped_answer_never_a_5xx(body: Any) -> None:
    submit_status, submitted, result_status, result = exchange(body)
    assert submit_status in (200, 422)
    if submit_status == 422:
        ValidationErrorBody.model_validate(submitted)
    else:
        assert result_status in (200, 422)
        if result_status == 422:
            ValidationErrorBody.model_validate(result)


ORDER = {Status.IN_QUEUE: 0, Status.IN_PROGRESS: 1, Status.COMPLETED: 2}
JOB = Job(
    logs=(LogLine(0.0, "start"), LogLine(1.0, "done")), outcome=video_output(VideoSpec(64, 36, 3))
)


class Lifecycle(RuleBasedStateMachine):
    """Submits, status reads, cancels, results and time passing, in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.store = self.open_store()
        self.ids = itertools.count()
        self.seen: dict[str, Snapshot] = {}
        self.cancelled: set[str] = set()

    def open_store(self) -> RequestStore:
        timing = Timing(queue_seconds=1.0, run_seconds=2.0, runners=2)
        # One finished request kept as an object: the others are packed, as in a long history.
        return RequestStore(timing, Retention(), self.clock.now, young_finished=1)

    @rule()
    def submit(self) -> None:
        request_id = f"r{next(self.ids)}"
        new = NewRequest(request_id, "o/a/p", "o/a", JOB, f"{request_id}.mp4")
        self.seen[request_id] = self.store.submit(new)

    @rule(seconds=st.floats(0.0, 3.0))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: bool(self.seen))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        request_id = data.draw(st.sampled_from(sorted(self.seen)))
        done_before = self.store.status("o/a", request_id).request.status is Status.COMPLETED
        try:
            self.store.cancel("o/a", request_id)
            assert not done_before
            self.cancelled.add(request_id)
        except AlreadyCompleted:
            assert done_before
        again = self.store.status("o/a", request_id).request
        assert again.status is Status.COMPLETED  # cancel leaves nothing running

    @precondition(lambda self: bool(self.seen))
    @rule(data=st.data())
    def result(self, data: st.DataObject) -> None:
        request_id = data.draw(st.sampled_from(sorted(self.seen)))
        snapshot = self.store.status("o/a", request_id)
        try:
            finished_output(snapshot, "http://fake")
            assert snapshot.request.status is Status.COMPLETED
            assert request_id not in self.cancelled
        except StillInProgress:
            assert snapshot.request.status is not Status.COMPLETED
        except FalError:  # a failure replayed as the result: only for finished requests
            assert snapshot.request.status is Status.COMPLETED

    @invariant()
    def statuses_only_move_forward_and_positions_only_fall(self) -> None:
        for request_id, before in list(self.seen.items()):
            now = self.store.status("o/a", request_id)  # nothing is lost
            assert ORDER[now.request.status] >= ORDER[before.request.status]
            if before.queue_position is not None and now.queue_position is not None:
                assert now.queue_position <= before.queue_position
            QueueStatus.model_validate(status_body(now, "http://fake", with_logs=True))
            self.seen[request_id] = now


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None, derandomize=True
)


class LifecycleAcrossRestarts(Lifecycle):
    """The same, on SQLite, with restarts anywhere: each sees every request as it was."""

    def open_store(self) -> RequestStore:
        if not hasattr(self, "folder"):
            self.folder = tempfile.TemporaryDirectory()
        self.data = DataDir(Path(self.folder.name))
        timing = Timing(queue_seconds=1.0, run_seconds=2.0, runners=2)
        return RequestStore(
            timing, Retention(), self.clock.now, records=self.data.requests, young_finished=1
        )

    @rule()
    def restart(self) -> None:
        before = {rid: self.store.status("o/a", rid) for rid in self.seen}
        self.data.release()
        self.store = self.open_store()
        for request_id, then in before.items():
            now = self.store.status("o/a", request_id)
            assert (now.request.status, now.queue_position) == (
                then.request.status,
                then.queue_position,
            )
            assert encode_request(now.request) == encode_request(then.request)

    def teardown(self) -> None:
        self.data.release()
        self.folder.cleanup()


TestLifecycleAcrossRestarts = LifecycleAcrossRestarts.TestCase
TestLifecycleAcrossRestarts.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None, derandomize=True
)

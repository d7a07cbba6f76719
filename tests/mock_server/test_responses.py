"""Status replies are built by hand for speed; each shape is what the contract model dumps."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from falfake.contracts.wire import CancelReply, QueueStatus
from falfake.endpoints.reference_to_video import video_output
from falfake.errors import ClientCancelled, InvalidInput
from falfake.media.specs import VideoSpec
from falfake.queue.models import Job, LogLine, QueuedRequest, Snapshot, Status
from falfake.queue.replies import cancel_body, status_body, submit_body
from falfake.validation import Priority

ROOT = "https://queue.fal.run"
JOB = Job(
    logs=(LogLine(0.0, "start"), LogLine(0.9, "done")), outcome=video_output(VideoSpec(64, 36, 3))
)
QUEUED = QueuedRequest(
    request_id="r1",
    endpoint_id="owner/app/path",
    app_id="owner/app",
    job=JOB,
    priority=Priority.NORMAL,
    seq=1,
    submitted_at=100.0,
    eligible_at=101.0,
    start_deadline=None,
    output_path="r1.mp4",
)
RUNNING = dataclasses.replace(
    QUEUED, status=Status.IN_PROGRESS, started_at=101.0, finishes_at=103.0
)
DONE = dataclasses.replace(RUNNING, status=Status.COMPLETED, completed_at=103.0)
INVALID = InvalidInput([{"type": "missing", "loc": ["body", "prompt"], "msg": "Field required"}])


def as_the_model_dumps(body: dict[str, Any]) -> dict[str, Any]:
    dumped: dict[str, Any] = QueueStatus.model_validate(body).model_dump(
        mode="json", exclude_unset=True
    )
    return dumped


SNAPSHOTS = {
    "queued": Snapshot(QUEUED, now=100.5, queue_position=3),
    "queued first": Snapshot(QUEUED, now=100.5, queue_position=0),
    "running, a log line out": Snapshot(RUNNING, now=102.0),
    "completed": Snapshot(DONE, now=104.0),
    "cancelled": Snapshot(dataclasses.replace(DONE, failure=ClientCancelled("r1")), now=104.0),
    "invalid input": Snapshot(dataclasses.replace(DONE, failure=INVALID), now=104.0),
    "with a webhook": Snapshot(dataclasses.replace(QUEUED, webhook_url="http://h"), now=100.0),
}


@pytest.mark.parametrize("with_logs", [True, False])
@pytest.mark.parametrize("name", SNAPSHOTS)
def test_status_body_is_the_contract_models_dump_key_for_key(name: str, with_logs: bool) -> None:
    body = status_body(SNAPSHOTS[name], ROOT, with_logs=with_logs)

    assert json.dumps(body) == json.dumps(as_the_model_dumps(body))


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_submit_body_is_the_contract_models_dump_key_for_key(name: str) -> None:
    body = submit_body(SNAPSHOTS[name], ROOT)

    assert json.dumps(body) == json.dumps(as_the_model_dumps(body))


def test_a_queued_status_has_its_position_and_urls_under_the_app() -> None:
    body = status_body(SNAPSHOTS["queued"], ROOT, with_logs=False)

    assert body["queue_position"] == 3
    assert body["status_url"] == f"{ROOT}/owner/app/requests/r1/status"
    assert body["logs"] is None


def test_logs_show_only_what_the_runner_printed_by_now_and_after_logs_from() -> None:
    running = SNAPSHOTS["running, a log line out"]

    assert [e["message"] for e in status_body(running, ROOT, with_logs=True)["logs"]] == ["start"]
    assert status_body(running, ROOT, with_logs=True, logs_from=1)["logs"] == []


def test_a_failure_names_its_error_type_or_its_first_entrys() -> None:
    cancelled = status_body(SNAPSHOTS["cancelled"], ROOT, with_logs=False)
    invalid = status_body(SNAPSHOTS["invalid input"], ROOT, with_logs=False)
    hidden = status_body(SNAPSHOTS["invalid input"], ROOT, with_logs=False, error_fields=False)

    assert cancelled["error_type"] == "client_cancelled"
    assert invalid["error_type"] == "missing"
    assert "error" not in hidden
    assert "error_type" not in hidden
    assert status_body(SNAPSHOTS["completed"], ROOT, with_logs=False)["metrics"] == {
        "inference_time": 2.0
    }


def test_only_a_submit_with_a_webhook_carries_a_gateway_request_id() -> None:
    assert submit_body(SNAPSHOTS["with a webhook"], ROOT)["gateway_request_id"] == "r1"
    assert "gateway_request_id" not in submit_body(SNAPSHOTS["queued"], ROOT)


def test_cancel_body_is_the_contract_models() -> None:
    assert cancel_body() == CancelReply(status="CANCELLATION_REQUESTED").model_dump()

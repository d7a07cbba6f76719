"""Recorded lifecycles held to today's contract, offline (`verify --recordings DIR`)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from falfake.contracts.__main__ import main
from falfake.contracts.lifecycles import lifecycle_drift
from falfake.contracts.runner import output_model
from falfake.upstream.recordings import write

LOG = {"message": "Done", "level": "INFO", "source": "USER", "timestamp": "2026-12-07T10:00:00"}
IMAGE = {"$file": "media/a.jpeg", "$exact": True, "content_type": "image/jpeg",
         "width": 512, "height": 512}  # fmt: skip
GOOD: dict[str, Any] = {
    "format": 1,
    "endpoint": "fal-ai/flux/schnell",
    "states": [
        {"after_seconds": 0.1, "status": "IN_QUEUE", "queue_position": 0, "logs": []},
        {"after_seconds": 1.0, "status": "COMPLETED", "queue_position": None, "logs": [LOG]},
    ],
    "result": {
        "status": 200,
        "body": {
            "images": [IMAGE],
            "timings": {"inference": 0.2},
            "seed": 42,
            "has_nsfw_concepts": [False],
            "prompt": "a fox",
        },
    },
}


def drifted(change: str) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    if change == "status":
        data["states"][0]["status"] = "RUNNING"
    elif change == "log":
        del data["states"][1]["logs"][0]["level"]
    elif change == "output":
        data["result"]["body"]["seed"] = "42"
    elif change == "unfinished":
        data["states"] = data["states"][:1]
    elif change == "error":
        data["result"] = {"status": 500, "body": "<html>"}
    return data


def test_a_recording_as_falfake_writes_it_keeps_the_contract() -> None:
    assert lifecycle_drift(GOOD, output_model) == []


@pytest.mark.parametrize(
    ("change", "found"),
    [
        pytest.param("status", "state 0: status 'RUNNING' is not one of fal's", id="status"),
        pytest.param("log", "state 1 log: level: Field required", id="log"),
        pytest.param("output", "fal-ai/flux/schnell output: seed: Input should be a valid integer",
                     id="output"),
        pytest.param("unfinished", "the lifecycle does not end COMPLETED", id="unfinished"),
        pytest.param("error", "500 body: (root): Input should be a valid dictionary", id="error"),
    ],
)  # fmt: skip
def test_what_drifted_on_the_recorded_side_is_named(change: str, found: str) -> None:
    assert any(line.startswith(found) for line in lifecycle_drift(drifted(change), output_model))


def record(folder: Path, data: dict[str, Any]) -> None:
    recorded = {"states": data["states"], "result": data["result"]}
    write(folder, data["endpoint"], {"prompt": str(id(data))}, recorded,
          secret="k", version="1", now=0.0)  # fmt: skip


def test_the_command_prints_each_recording_and_fails_on_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(tmp_path, GOOD)
    assert main(["verify", "--recordings", str(tmp_path)]) == 0
    assert capsys.readouterr().out.endswith(": 0 differences\n")
    record(tmp_path, drifted("output"))
    assert main(["verify", "--recordings", str(tmp_path)]) == 1
    assert "1 differences\n  fal-ai/flux/schnell output: seed:" in capsys.readouterr().out


def test_a_folder_that_is_not_there_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--recordings", str(tmp_path / "none")]) == 2
    assert "no such folder" in capsys.readouterr().out

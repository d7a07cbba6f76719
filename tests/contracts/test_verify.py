"""The contract runner: recordings replayed against the fake, drift found, live runs guarded."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator

import pytest

from falfake import Auth
from falfake.cli import main as falfake
from falfake.contracts.__main__ import main
from falfake.contracts.drift import Drift, body_drift, reply_drift
from falfake.contracts.runner import generalised, recordings, schema_drift
from falfake.runtime.tls import CertificateAuthority
from tests.conftest import REAL_TIME, running_fake


def test_every_recording_says_where_it_comes_from() -> None:
    found = recordings()
    assert len(found) >= 7
    for recording in found:
        assert recording.provenance["kind"] in {"live", "documented"}
        assert recording.provenance["date"]
        assert recording.provenance["source"]


def test_the_fake_matches_every_recording(capsys: pytest.CaptureFixture[str]) -> None:
    assert falfake(["verify"]) == 0
    assert capsys.readouterr().out.startswith("19 exchanges checked, 0 differences")


def test_the_fake_in_process_is_falfake_verifys_to_hand_in(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["verify"]) == 2
    assert "the fake in process is `falfake verify`" in capsys.readouterr().out


def test_verify_takes_an_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    assert {r.endpoint for r in recordings()} >= {
        "google/gemini-omni-flash/reference-to-video",
        "fal-ai/flux/dev",
    }
    assert falfake(["verify", "--endpoint", "fal-ai/flux/dev"]) == 0
    assert capsys.readouterr().out.startswith("4 exchanges checked, 0 differences")
    assert falfake(["verify", "--endpoint", "acme/none"]) == 2
    assert capsys.readouterr().out.strip() == "no recording matches --only/--endpoint"


def test_an_output_is_held_to_its_own_endpoints_schema() -> None:
    flux_output = {
        "images": [{"url": "u", "width": 1, "height": 1, "content_type": "image/png"}],
        "timings": {"inference": 1.0},
        "seed": 1,
        "has_nsfw_concepts": [False],
        "prompt": "p",
    }
    assert schema_drift("output", flux_output, "fal-ai/flux/dev") == []
    (drift,) = schema_drift("output", {**flux_output, "seed": "x"}, "fal-ai/flux/dev")
    assert drift.where == "body against output"
    assert schema_drift("output", flux_output, "google/gemini-omni-flash/reference-to-video")


def test_a_running_fake_matches_every_recording(
    server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--target", server_url]) == 0
    assert "0 differences" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("recorded", "actual", "drift"),
    [
        pytest.param({"a": 1}, {"a": 2.5}, [], id="numbers-are-numbers"),
        pytest.param({"a": "<volatile>"}, {"a": "anything"}, [], id="volatile"),
        pytest.param(
            {"a": 1}, {"a": 1, "b": 2}, [Drift("body keys", ["a"], ["a", "b"])], id="new-key"
        ),
        pytest.param({"a": "x"}, {"a": None}, [Drift("body.a type", "string", "null")], id="type"),
        pytest.param(
            {"s": "IN_QUEUE"}, {"s": "QUEUED"}, [Drift("body.s", "IN_QUEUE", "QUEUED")], id="value"
        ),
        pytest.param(
            [{"a": 1}], [{"b": 1}], [Drift("body[0] keys", ["a"], ["b"])], id="list-items"
        ),
        pytest.param([1], [], [Drift("body length", 1, 0)], id="emptied-list"),
    ],
)
def test_body_drift(recorded: object, actual: object, drift: list[Drift]) -> None:
    assert body_drift(recorded, actual) == drift


def test_reply_drift_checks_status_and_headers_that_matter() -> None:
    recorded = {"status": 200, "headers": {"X-Fal-Request-Id": "<volatile>", "x-a": "1"}}
    assert reply_drift(recorded, 202, {"x-a": "2"}, None) == [
        Drift("status", 200, 202),
        Drift("header X-Fal-Request-Id", "<volatile>", None),
        Drift("header x-a", "1", "2"),
    ]


def test_drift_makes_a_non_zero_exit_with_a_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import falfake.contracts.__main__ as cli

    (original,) = [r for r in recordings() if r.name == "unknown_request"]
    original.exchanges[0]["response"]["body"] = {"detail": "Gone"}
    monkeypatch.setattr(cli, "recordings", lambda: [original])
    assert falfake(["verify"]) == 1
    out = capsys.readouterr().out
    assert "unknown_request #0: body.detail: recorded 'Gone', got 'Request not found'" in out
    assert "(recording: documented 2026-11-25)" in out


def test_live_checks_are_skipped_without_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FAL_KEY", raising=False)
    assert main(["verify", "--target", "live"]) == 0
    assert capsys.readouterr().out.strip() == "live contract check skipped: FAL_KEY is not set"


def test_live_checks_show_the_cost_and_need_consent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAL_KEY", "id:secret")
    assert main(["verify", "--target", "live", "--only", "sync_run"]) == 2
    assert capsys.readouterr().out.strip() == (
        "1 paid recordings, 3 s of video, about $0.39. Add --yes-i-pay to run against fal."
    )
    assert main(["verify", "--target", "live", "--max-paid-requests", "1"]) == 2
    assert "over --max-paid-requests 1" in capsys.readouterr().out
    assert main(["verify", "--target", "live", "--endpoint", "fal-ai/flux/dev"]) == 2
    assert capsys.readouterr().out.strip() == (
        "2 paid recordings, 0 s of video, about $0.00, and 2 runs of other endpoints at the"
        " prices on their fal pages. Add --yes-i-pay to run against fal."
    )


def test_live_bodies_are_generalised_before_recording() -> None:
    assert generalised({"request_id": "abc", "status": "OK", "logs": [{"timestamp": "t"}]}) == {
        "request_id": "<volatile>",
        "status": "OK",
        "logs": [{"timestamp": "<volatile>"}],
    }


@pytest.fixture(scope="module")
def strict_fake(authority: CertificateAuthority) -> Iterator[str]:
    """A fake that takes one key and validates at submit, as a team's falfake.toml may say."""
    settings = dataclasses.replace(
        REAL_TIME, auth=Auth(keys=frozenset({"a:b"})), validate_at="submit"
    )
    with running_fake(settings, authority) as url:
        yield url


def test_a_fake_that_refuses_the_key_is_a_drift_report_not_a_crash(
    strict_fake: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FAL_KEY", raising=False)
    assert main(["verify", "--target", strict_fake, "--only", "submit_status_result"]) == 1
    out = capsys.readouterr().out
    assert "status: recorded 200, got 401" in out
    assert "cannot go on: no request_id in the reply before (is FAL_KEY, or --key," in out


def test_verify_sends_the_key_it_is_given(
    strict_fake: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--target", strict_fake, "--key", "a:b", "--only", "sync_run"]) == 0
    assert "0 differences" in capsys.readouterr().out


def test_a_fake_validating_at_submit_drifts_where_fal_accepts(
    strict_fake: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAL_KEY", "a:b")
    assert main(["verify", "--target", strict_fake]) == 1
    out = capsys.readouterr().out
    assert "status: recorded 200, got 422" in out
    assert "cannot go on: no request_id in the reply before:" in out


def test_a_target_that_is_not_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--target", "notaurl"]) == 2
    assert capsys.readouterr().out.startswith("--target notaurl: expected fake, live or a falfake")


def test_a_target_that_is_down_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    assert main(["verify", "--target", nowhere, "--only", "sync_run"]) == 2
    assert capsys.readouterr().out == (
        f"cannot reach the target ({nowhere}): ConnectError: All connection attempts failed\n"
    )

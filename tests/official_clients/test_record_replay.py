"""Record once, replay offline: the unmodified Python and JS clients record lifecycles (one with
an uploaded image and a webhook) through a fake forwarding to a second one that plays fal; both
are stopped, and a fake replaying the recordings answers the same calls with the same logs,
byte-identical videos, and webhooks of its own."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from falfake import Auth
from falfake.contracts.__main__ import main as contracts_main
from falfake.runtime.tls import CertificateAuthority
from falfake.settings import Replay, Secret, Upstream
from tests.conftest import REAL_TIME, eventually, running_fake
from tests.loopback import Receiver, receiving
from tests.official_clients.conftest import HERE, KEY, run_scenarios
from tests.official_clients.test_fal_client_python import CLEAN_ENV, ENDPOINT, through_env
from tests.official_clients.test_http_stacks import under_exec

UPSTREAM_SECRET = "upstream-secret-never-recorded"
PYTHON = ["subscribe", "uploaded_image_with_a_webhook"]
JS = "uploaded_image_with_a_webhook"
Phase = dict[str, Any]


def logs_of(outcome: dict[str, Any]) -> list[str]:
    """The lines the updates showed, each once, in order (polls may show a line again)."""
    lines = [log["message"] for u in outcome["updates"] if u["logs"] for log in u["logs"]]
    return list(dict.fromkeys(lines))


@pytest.fixture(scope="module")
def hooks() -> Iterator[tuple[Receiver, str]]:
    with receiving() as pair:
        yield pair


def calls(url: str, authority: CertificateAuthority, hook: str, phase: str) -> Phase:
    """The same calls in each phase: Python's through `falfake env`, JS's under `falfake exec`;
    each outcome with the bytes of its video, fetched while its fake serves."""
    node = shutil.which("node")
    if node is None or not (HERE / "js" / "node_modules" / "@fal-ai" / "client").is_dir():
        pytest.fail("node and tests/official_clients/js/node_modules are needed: run `make test`")
    python = run_scenarios(
        through_env(url, authority, PYTHON, {"WEBHOOK_URL": f"{hook}/{phase}-py"}), CLEAN_ENV
    )
    script = [node, str(HERE / "js" / "streaming.mjs"), JS]
    env = {**CLEAN_ENV, "WEBHOOK_URL": f"{hook}/{phase}-js"}
    js = run_scenarios(under_exec(url, authority, script), env)[JS]
    videos = {
        "subscribe": python["subscribe"]["result"]["video"]["url"],
        "python": python["uploaded_image_with_a_webhook"]["result"]["video"]["url"],
        "js": js["video"]["url"],
    }
    return {
        "url": url,
        "python": python,
        "js": js,
        "bytes": {name: httpx.get(video).content for name, video in videos.items()},
    }


@contextlib.contextmanager
def playing_fal(authority: CertificateAuthority) -> Iterator[Upstream]:
    """A second falfake that plays fal (its own key only), and how to forward to it."""
    upstream_key = f"upstream-id:{UPSTREAM_SECRET}"
    upstream = dataclasses.replace(REAL_TIME, auth=Auth(keys=frozenset({upstream_key})))
    with running_fake(upstream, authority) as upstream_url:
        yield Upstream(upstream_url, Secret(upstream_key), poll_seconds=0.05)


@pytest.fixture(scope="module")
def recorded(
    authority: CertificateAuthority,
    tmp_path_factory: pytest.TempPathFactory,
    hooks: tuple[Receiver, str],
) -> tuple[Path, Phase]:
    folder = tmp_path_factory.mktemp("recordings")
    receiver, hook = hooks
    with playing_fal(authority) as forwarding:
        front = dataclasses.replace(
            REAL_TIME, upstream=dataclasses.replace(forwarding, record_dir=folder)
        )
        with running_fake(front, authority) as url:
            phase = calls(url, authority, hook, "record")
            eventually(lambda: len(list(folder.glob("*/*.json"))) == 3)
            eventually(lambda: len(delivered(receiver, "record")) == 2)
    return folder, phase  # both fakes are stopped now: nothing can reach the upstream


@pytest.fixture(scope="module")
def replayed(
    recorded: tuple[Path, Phase], authority: CertificateAuthority, hooks: tuple[Receiver, str]
) -> Iterator[Phase]:
    receiver, hook = hooks
    replaying = dataclasses.replace(REAL_TIME, replay=Replay(recorded[0], speed=4.0))
    with running_fake(replaying, authority) as url:
        phase = calls(url, authority, hook, "replay")
        eventually(lambda: len(delivered(receiver, "replay")) == 2)
        yield phase


def delivered(receiver: Receiver, phase: str) -> dict[str, dict[str, Any]]:
    return {
        d.path.rsplit("-", 1)[1]: json.loads(d.body)
        for d in receiver.deliveries
        if d.path.startswith(f"/{phase}-")
    }


def test_replayed_lifecycles_give_the_recorded_videos_byte_for_byte(
    recorded: tuple[Path, Phase], replayed: Phase
) -> None:
    _, recording = recorded
    assert replayed["bytes"] == recording["bytes"]
    assert all(len(data) > 1000 for data in replayed["bytes"].values())
    video = replayed["python"]["subscribe"]["result"]["video"]
    assert video["url"].startswith(f"{replayed['url']}/files/")
    recorded_video = recording["python"]["subscribe"]["result"]["video"]
    assert {k: v for k, v in video.items() if k != "url"} == {
        k: v for k, v in recorded_video.items() if k != "url"
    }


def test_replayed_lifecycles_print_the_recorded_logs(
    recorded: tuple[Path, Phase], replayed: Phase
) -> None:
    _, recording = recorded
    python, recorded_python = replayed["python"]["subscribe"], recording["python"]["subscribe"]
    assert logs_of(python) == logs_of(recorded_python)
    assert replayed["js"]["logs"] == recording["js"]["logs"]
    assert "Video generated" in replayed["js"]["logs"]


def test_each_phase_sends_the_webhooks_from_its_own_fake(
    recorded: tuple[Path, Phase], replayed: Phase, hooks: tuple[Receiver, str]
) -> None:
    receiver, _ = hooks
    for phase, outcome in (("record", recorded[1]), ("replay", replayed)):
        payloads = delivered(receiver, phase)
        assert sorted(payloads) == ["js", "py"]
        for payload in payloads.values():
            assert payload["status"] == "OK"
            assert payload["payload"]["video"]["url"].startswith(f"{outcome['url']}/files/")


def test_a_fresh_upload_of_the_same_image_matches_by_its_bytes(
    recorded: tuple[Path, Phase], replayed: Phase
) -> None:
    fresh = replayed["python"]["uploaded_image_with_a_webhook"]["url"]
    assert fresh != recorded[1]["python"]["uploaded_image_with_a_webhook"]["url"]
    assert replayed["js"]["url"] != recorded[1]["js"]["url"]


def test_no_recorded_byte_holds_the_key(recorded: tuple[Path, Phase]) -> None:
    files = [path for path in recorded[0].rglob("*") if path.is_file()]
    assert len(files) >= 6  # three lifecycles, their videos, the uploaded image
    for path in files:
        assert UPSTREAM_SECRET.encode() not in path.read_bytes(), path


def test_a_call_no_recording_matches_names_the_closest_and_the_field(replayed: Phase) -> None:
    body = {"prompt": "A dog <IMAGE_REF_0>", "image_urls": ["https://example.com/cat.png"]}
    missed = httpx.post(
        f"{replayed['url']}/queue/{ENDPOINT}", json=body, headers={"Authorization": f"Key {KEY}"}
    )
    assert missed.status_code == 404
    assert missed.headers["x-fal-error-type"] == "falfake_no_recording"
    detail = missed.json()["detail"]
    assert "the closest is google--gemini-omni-flash--reference-to-video/" in detail
    assert detail.endswith("(it differs in: prompt)")


def test_the_recorded_lifecycles_keep_todays_contract(
    recorded: tuple[Path, Phase], capsys: pytest.CaptureFixture[str]
) -> None:
    assert contracts_main(["verify", "--recordings", str(recorded[0])]) == 0
    assert capsys.readouterr().out.count(": 0 differences") == 3


def test_on_miss_record_forwards_what_no_recording_answers_then_replays_it(
    authority: CertificateAuthority, tmp_path: Path, hooks: tuple[Receiver, str]
) -> None:
    _, hook = hooks
    with playing_fal(authority) as forwarding:
        upstream_url = forwarding.base
        both = dataclasses.replace(
            REAL_TIME,
            upstream=dataclasses.replace(forwarding, record_dir=tmp_path),
            replay=Replay(tmp_path, on_miss="record"),
        )
        submits = {"method": "POST", "path": f"/{ENDPOINT}"}
        with running_fake(both, authority) as url:
            scenario = ["uploaded_image_with_a_webhook"]
            env = {"WEBHOOK_URL": f"{hook}/miss-py"}
            first = run_scenarios(through_env(url, authority, scenario, env), CLEAN_ENV)
            eventually(lambda: len(list(tmp_path.glob("*/*.json"))) == 1)
            forwarded = httpx.get(f"{upstream_url}/_falfake/requests", params=submits).json()
            second = run_scenarios(through_env(url, authority, scenario, env), CLEAN_ENV)
            again = httpx.get(f"{upstream_url}/_falfake/requests", params=submits).json()
            videos = [
                httpx.get(outcome[scenario[0]]["result"]["video"]["url"]).content
                for outcome in (first, second)
            ]
    assert len(forwarded["requests"]) == 1  # the miss went upstream, its image uploaded there:
    (image_url,) = json.loads(forwarded["requests"][0]["body"])["image_urls"]
    assert image_url.startswith(f"{upstream_url}/files/")
    assert len(again["requests"]) == 1  # the same call again was replayed: nothing went upstream
    assert videos[0] == videos[1]
    assert len(videos[0]) > 1000


def test_a_recording_keeps_only_the_allow_listed_headers_of_its_result(
    recorded: tuple[Path, Phase],
) -> None:
    for path in recorded[0].glob("*/*.json"):
        headers = json.loads(path.read_text())["result"]["headers"]
        assert headers["content-type"] == "application/json"
        assert set(headers) <= {"content-type", "x-fal-billable-units", "x-fal-error-type"}

"""Record once, replay offline: the unmodified Python client records lifecycles through a fake
forwarding to a second one that plays fal; that upstream is stopped, and a fake replaying the
recordings answers the same calls with the same logs and byte-identical videos."""

from __future__ import annotations

import dataclasses
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
from tests.official_clients.conftest import KEY, run_scenarios
from tests.official_clients.test_fal_client_python import CLEAN_ENV, ENDPOINT, through_env

UPSTREAM_SECRET = "upstream-secret-never-recorded"
SCENARIOS = ["subscribe", "uploaded_image_in_a_submit"]


def logs_of(outcome: dict[str, Any]) -> list[str]:
    return [log["message"] for u in outcome["updates"] if u["logs"] for log in u["logs"]]


@pytest.fixture(scope="module")
def recordings(
    authority: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], dict[str, bytes]]:
    folder = tmp_path_factory.mktemp("recordings")
    upstream_key = f"upstream-id:{UPSTREAM_SECRET}"
    upstream = dataclasses.replace(REAL_TIME, auth=Auth(keys=frozenset({upstream_key})))
    with running_fake(upstream, authority) as upstream_url:
        forwarding = Upstream(upstream_url, Secret(upstream_key), poll_seconds=0.05)
        recording = dataclasses.replace(forwarding, record_dir=folder)
        with running_fake(dataclasses.replace(REAL_TIME, upstream=recording), authority) as url:
            outcome = run_scenarios(through_env(url, authority, SCENARIOS), CLEAN_ENV)
            eventually(lambda: len(list(folder.glob("*/*.json"))) == 2)
            videos = {
                name: httpx.get(outcome[name]["result"]["video"]["url"]).content
                for name in SCENARIOS
            }
    return folder, outcome, videos  # both fakes are stopped now: nothing can reach the upstream


@pytest.fixture(scope="module")
def replayed(
    recordings: tuple[Path, dict[str, Any], dict[str, bytes]], authority: CertificateAuthority
) -> Iterator[tuple[str, dict[str, Any]]]:
    folder = recordings[0]
    replaying = dataclasses.replace(REAL_TIME, replay=Replay(folder, speed=4.0))
    with running_fake(replaying, authority) as url:
        yield url, run_scenarios(through_env(url, authority, SCENARIOS), CLEAN_ENV)


def test_a_replayed_lifecycle_has_the_recorded_logs_and_the_same_video_bytes(
    recordings: tuple[Path, dict[str, Any], dict[str, bytes]],
    replayed: tuple[str, dict[str, Any]],
) -> None:
    _, recorded, videos = recordings
    url, outcome = replayed
    for name in SCENARIOS:
        video = outcome[name]["result"]["video"]
        assert video["url"].startswith(f"{url}/files/")
        assert httpx.get(video["url"]).content == videos[name]
        assert {k: v for k, v in video.items() if k != "url"} == {
            k: v for k, v in recorded[name]["result"]["video"].items() if k != "url"
        }
    assert logs_of(outcome["subscribe"])[-1] == logs_of(recorded["subscribe"])[-1]
    assert set(logs_of(outcome["subscribe"])) == set(logs_of(recorded["subscribe"]))


def test_a_fresh_upload_of_the_same_image_matches_by_its_bytes(
    recordings: tuple[Path, dict[str, Any], dict[str, bytes]],
    replayed: tuple[str, dict[str, Any]],
) -> None:
    _, recorded, _ = recordings
    _, outcome = replayed
    assert (
        outcome["uploaded_image_in_a_submit"]["url"]
        != recorded["uploaded_image_in_a_submit"]["url"]
    )
    assert "threw" not in outcome["uploaded_image_in_a_submit"]


def test_no_recorded_byte_holds_the_key(
    recordings: tuple[Path, dict[str, Any], dict[str, bytes]],
) -> None:
    folder = recordings[0]
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert files
    for path in files:
        assert UPSTREAM_SECRET.encode() not in path.read_bytes(), path


def test_a_call_no_recording_matches_names_the_closest_and_the_field(
    replayed: tuple[str, dict[str, Any]],
) -> None:
    url, _ = replayed
    body = {"prompt": "A dog <IMAGE_REF_0>", "image_urls": ["https://example.com/cat.png"]}
    missed = httpx.post(
        f"{url}/queue/{ENDPOINT}", json=body, headers={"Authorization": f"Key {KEY}"}
    )
    assert missed.status_code == 404
    assert missed.headers["x-fal-error-type"] == "falfake_no_recording"
    detail = missed.json()["detail"]
    assert "the closest is google--gemini-omni-flash--reference-to-video/" in detail
    assert detail.endswith("(it differs in: prompt)")


def test_the_recorded_lifecycles_keep_todays_contract(
    recordings: tuple[Path, dict[str, Any], dict[str, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert contracts_main(["verify", "--recordings", str(recordings[0])]) == 0
    assert capsys.readouterr().out.count(": 0 differences") == 2

"""The unmodified Python `fal-client` 1.0.3 against a real fake, set up only by environment.

Scenarios run in a fresh process, as a user's app would, after `eval "$(python -m falfake env)"`
(HTTPS_PROXY through the fake's CONNECT proxy, SSL_CERT_FILE its CA), or with FAL_RUN_HOST and
FAL_QUEUE_RUN_HOST pointing at the fake's own TLS.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from falfake import Auth
from falfake.clock import VirtualClock
from falfake.endpoints.text import reply_text
from falfake.runtime.tls import CertificateAuthority
from falfake.settings import Secret, Upstream
from tests.conftest import REAL_TIME, eventually, running_fake
from tests.official_clients.conftest import (
    BAD_KEY,
    HERE,
    KEY,
    journal,
    run_scenarios,
    scenarios_running,
)

ENDPOINT = "google/gemini-omni-flash/reference-to-video"
SCRIPT = str(HERE / "python_scenarios.py")
CLEAN_ENV = {
    name: value
    for name, value in os.environ.items()
    if not name.lower().endswith("_proxy") and not name.startswith("FAL_")
}


def through_env(
    url: str,
    authority: CertificateAuthority,
    scenarios: list[str],
    extra: dict[str, str] | None = None,
) -> list[str]:
    """The scenario script in a shell set up by `eval "$(python -m falfake env ...)"`."""
    port = url.rsplit(":", 1)[1]
    env_command = [sys.executable, "-m", "falfake", "env", "--port", port]
    env_command += ["--ca-dir", str(authority.folder), "--key", KEY]
    exports = "".join(f"export {k}={shlex.quote(v)} && " for k, v in (extra or {}).items())
    script = shlex.join([sys.executable, SCRIPT, BAD_KEY, *scenarios])
    return ["bash", "-c", f'eval "$({shlex.join(env_command)})" && {exports}{script}']


@pytest.fixture(scope="module")
def through_proxy(strict_server_url: str, authority: CertificateAuthority) -> dict[str, Any]:
    scenarios = [
        "subscribe",
        "handle",
        "cancel",
        "upload_cdn",
        "upload_initiate",
        "upload_multipart",
        "uploaded_image_in_a_submit",
        "validation_error",
        "auth_error",
        "run",
        "flux",
        "flux_bounds",
        "pipeline",
        "stream",
        "stream_async",
        "stream_flux",
        "stream_rejected",
        "realtime",
        "realtime_bad_input",
    ]
    return run_scenarios(through_env(strict_server_url, authority, scenarios), CLEAN_ENV)


@pytest.fixture(scope="module")
def through_run_hosts(strict_server_url: str, authority: CertificateAuthority) -> dict[str, Any]:
    host = strict_server_url.removeprefix("http://")
    env = {
        **CLEAN_ENV,
        "FAL_KEY": KEY,
        "FAL_RUN_HOST": f"{host}/run",
        "FAL_QUEUE_RUN_HOST": f"{host}/queue",
        "SSL_CERT_FILE": str(authority.bundle_path),
    }
    scenarios = ["subscribe", "handle", "validation_error", "run", "stream"]
    return run_scenarios([sys.executable, SCRIPT, BAD_KEY, *scenarios], env)


def is_video(result: Any, server_url: str) -> bool:
    video = result["video"]
    return bool(
        video["url"].startswith(f"{server_url}/files/b/")
        and video["content_type"] == "video/mp4"
        and video["file_name"] == "output.mp4"
        and video["file_size"] > 0
    )


def test_subscribe_reports_queue_updates_with_logs(
    through_proxy: dict[str, Any], strict_server_url: str
) -> None:
    outcome = through_proxy["subscribe"]
    assert is_video(outcome["result"], strict_server_url)
    kinds = [update["type"] for update in outcome["updates"]]
    assert "InProgress" in kinds
    assert kinds[-1] == "Completed"
    logs = [log["message"] for u in outcome["updates"] if u["logs"] for log in u["logs"]]
    assert "Validating input" in logs


def test_flux_dev_subscribes_with_logs_and_gives_images_of_the_asked_size(
    through_proxy: dict[str, Any], strict_server_url: str
) -> None:
    outcome = through_proxy["flux"]
    assert outcome["updates"][-1] == "Completed"
    assert "InProgress" in outcome["updates"]
    assert outcome["pictures"] == [["PNG", 512, 512], ["PNG", 512, 512]]
    assert outcome["result"]["has_nsfw_concepts"] == [False, False]
    assert all(
        i["url"].startswith(f"{strict_server_url}/files/") for i in outcome["result"]["images"]
    )


def test_each_flux_bound_is_the_clients_http_error_with_fals_entry(
    through_proxy: dict[str, Any],
) -> None:
    outcomes = through_proxy["flux_bounds"]
    assert [o["status_code"] for o in outcomes] == [422, 422, 422]
    assert [(o["detail"][0]["type"], o["detail"][0]["loc"]) for o in outcomes] == [
        ("less_than_equal", ["body", "num_inference_steps"]),
        ("less_than_equal", ["body", "num_images"]),
        ("literal_error", ["body", "output_format"]),
    ]


def test_a_flux_image_feeds_the_video_model(
    through_proxy: dict[str, Any], strict_server_url: str
) -> None:
    outcome = through_proxy["pipeline"]
    assert outcome["image"]["url"].startswith(f"{strict_server_url}/files/")
    assert is_video(outcome["video"], strict_server_url)


def test_handle_and_by_id_calls_go_back_through_the_proxy(
    through_proxy: dict[str, Any], strict_server_url: str
) -> None:
    outcome = through_proxy["handle"]
    assert outcome["status_url"].startswith(
        "https://queue.fal.run/google/gemini-omni-flash/requests/"
    )
    # The first poll may already see the request running: the fake does not wait for clients.
    assert outcome["first"] in {"Queued", "InProgress"}
    assert outcome["events"][-1] == "Completed"
    assert is_video(outcome["result"], strict_server_url)
    assert outcome["by_id"] == outcome["result"]
    assert outcome["status_by_id"] == "Completed"


def test_cancel_ends_the_wait_and_the_result_raises_499(through_proxy: dict[str, Any]) -> None:
    assert through_proxy["cancel"] == {
        "final": "Completed",
        "error_type": "client_cancelled",
        "result": {
            "name": "FalClientHTTPError",
            "status_code": 499,
            "message": "Request cancelled by the client.",
        },
    }


def test_a_large_upload_goes_in_parts_through_the_cdn(
    through_proxy: dict[str, Any], strict_server_url: str
) -> None:
    file_path = urlsplit(through_proxy["upload_multipart"]["url"]).path
    parts = [
        entry["path"]
        for entry in journal(strict_server_url, method="PUT", path=f"{file_path}/multipart/")
        if not entry["path"].endswith("/complete")
    ]
    completed = journal(strict_server_url, method="POST", path=f"{file_path}/multipart/")
    assert len(parts) >= 2  # 101 MiB in parts of 10 MiB
    assert [entry["status"] for entry in completed] == [200]


@pytest.mark.parametrize("scenario", ["upload_cdn", "upload_initiate", "upload_multipart"])
def test_uploads_store_the_bytes(
    through_proxy: dict[str, Any], strict_server_url: str, scenario: str
) -> None:
    outcome = through_proxy[scenario]
    assert outcome["url"].startswith(f"{strict_server_url}/files/b/")
    assert outcome["same_bytes"] is True


def test_an_uploaded_image_can_be_used_in_a_submit(
    through_proxy: dict[str, Any], strict_server_url: str
) -> None:
    outcome = through_proxy["uploaded_image_in_a_submit"]
    assert is_video(outcome["result"], strict_server_url)


def test_validation_error_is_the_clients_http_error_with_the_detail_list(
    through_proxy: dict[str, Any],
) -> None:
    assert through_proxy["validation_error"] == {
        "name": "FalClientHTTPError",
        "status_code": 422,
        "message": [
            {
                "type": "missing",
                "loc": ["body", "image_urls"],
                "msg": "Field required",
                "input": {"prompt": "no images"},
            }
        ],
    }


def test_unknown_key_is_the_clients_http_error_with_fals_text(
    through_proxy: dict[str, Any],
) -> None:
    assert through_proxy["auth_error"] == {
        "name": "FalClientHTTPError",
        "status_code": 401,
        "message": "No user found for Key ID and Secret",
    }


def test_sync_run_returns_the_output(through_proxy: dict[str, Any], strict_server_url: str) -> None:
    assert is_video(through_proxy["run"], strict_server_url)


def test_run_host_variables_reach_the_fakes_own_tls(
    through_run_hosts: dict[str, Any], strict_server_url: str
) -> None:
    https_root = strict_server_url.replace("http://", "https://")
    assert through_run_hosts["handle"]["status_url"].startswith(f"{https_root}/queue/")
    assert through_run_hosts["handle"]["events"][-1] == "Completed"
    assert through_run_hosts["subscribe"]["updates"][-1]["type"] == "Completed"
    assert through_run_hosts["validation_error"]["status_code"] == 422
    assert through_run_hosts["run"]["video"]["url"].startswith(f"{https_root}/files/b/")


def test_a_request_submitted_before_a_restart_finishes_after_it(
    authority: CertificateAuthority, tmp_path: Path
) -> None:
    # On a virtual clock the request waits, however slowly the client processes start, until the
    # test has seen the second client poll it after the restart; then the test lets it finish.
    settings = dataclasses.replace(REAL_TIME, data_dir=tmp_path / "data")
    with running_fake(settings, authority, clock=VirtualClock()) as url:
        before = run_scenarios(through_env(url, authority, ["before_restart"]), CLEAN_ENV)
    submitted = before["before_restart"]
    port = int(url.rsplit(":", 1)[1])
    ids = {"UPLOADED_URL": submitted["url"], "REQUEST_ID": submitted["request_id"]}
    with running_fake(settings, authority, port=port, clock=VirtualClock()) as url:
        command = through_env(url, authority, ["after_restart"], ids)
        with scenarios_running(command, CLEAN_ENV) as results, httpx.Client(base_url=url) as fake:
            status_path = f"/requests/{submitted['request_id']}/status"
            polled = {"path": status_path}
            requests = "/_falfake/requests"
            eventually(lambda: fake.get(requests, params=polled).json()["requests"], seconds=60)
            body = {"request_id": submitted["request_id"], "status": "COMPLETED"}
            assert fake.post("/_falfake/clock/run-until", json=body).status_code == 200
    finished = results()["after_restart"]
    assert finished["first"] == "Queued"
    assert finished["result"]["video"]["content_type"] == "video/mp4"
    assert finished["same_bytes"] is True


def test_stream_sends_the_llm_text_cumulatively_then_the_whole_output(
    through_proxy: dict[str, Any],
) -> None:
    events = through_proxy["stream"]["events"]
    texts = [event["output"] for event in events]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert [event["partial"] for event in events] == [True] * (len(events) - 1) + [False]
    assert events[-1] == {"output": texts[-1], "partial": False}
    assert texts[-1].startswith('falfake answers "Tell me a story": ')
    assert len(events) > 10


def test_stream_async_gives_the_same_events_as_stream(through_proxy: dict[str, Any]) -> None:
    events = through_proxy["stream_async"]["events"]
    assert events[-1]["partial"] is False
    assert events[-1]["output"].startswith('falfake answers "Tell me": ')
    assert [e["partial"] for e in events[:-1]] == [True] * (len(events) - 1)


def test_a_flux_stream_sends_previews_then_images_of_the_asked_size(
    through_proxy: dict[str, Any],
) -> None:
    outcome = through_proxy["stream_flux"]
    assert outcome["events"] == [["images", "message", "progress"]] * 3 + [
        ["has_nsfw_concepts", "images", "prompt", "seed", "timings"]
    ]
    assert outcome["pictures"] == [[128, 128]] * 3 + [[512, 512]]


def test_bad_input_on_a_stream_is_the_clients_sse_error_as_on_fal(
    through_proxy: dict[str, Any],
) -> None:
    assert through_proxy["stream_rejected"] == {
        "name": "SSEError",
        "status_code": None,
        "message": "Expected response header Content-Type to contain 'text/event-stream',"
        " got 'application/json'",
    }


def test_realtime_answers_each_input_with_an_image_sized_from_it(
    through_proxy: dict[str, Any],
) -> None:
    assert through_proxy["realtime"] == {
        "request_ids": ["r0", "r1"],
        "images": [["JPEG", 16, 16], ["JPEG", 16, 16]],
    }


def test_bad_realtime_input_raises_in_recv_and_the_session_goes_on(
    through_proxy: dict[str, Any],
) -> None:
    assert through_proxy["realtime_bad_input"] == {
        "error": {
            "name": "RealtimeError",
            "status_code": None,
            "message": "INVALID_INPUT: strength must be a number from 0 to 1",
        },
        "then": ["images", "nsfw_content_detected", "num_inference_steps", "seed", "timings"],
    }


def test_stream_reaches_the_fakes_own_tls_through_fal_run_host(
    through_run_hosts: dict[str, Any],
) -> None:
    events = through_run_hosts["stream"]["events"]
    assert events[-1] == {"output": reply_text("Tell me a story"), "partial": False}


@pytest.fixture(scope="module")
def front_url(authority: CertificateAuthority) -> Iterator[str]:
    """A fake forwarding to a second one that plays fal, which takes only its own key."""
    upstream_key = "upstream-id:upstream-secret"
    upstream = dataclasses.replace(REAL_TIME, auth=Auth(keys=frozenset({upstream_key})))
    with running_fake(upstream, authority) as upstream_url:
        forwarding = Upstream(upstream_url, Secret(upstream_key))
        front = dataclasses.replace(REAL_TIME, upstream=forwarding)
        with running_fake(front, authority) as url:
            yield url


@pytest.fixture(scope="module")
def through_upstream(front_url: str, authority: CertificateAuthority) -> dict[str, Any]:
    scenarios = ["subscribe", "upload_cdn", "uploaded_image_in_a_submit", "run", "stream"]
    return run_scenarios(through_env(front_url, authority, scenarios), CLEAN_ENV)


def test_upstream_mode_serves_the_unmodified_client_from_the_upstream(
    through_upstream: dict[str, Any], front_url: str
) -> None:
    assert is_video(through_upstream["subscribe"]["result"], front_url)
    assert through_upstream["upload_cdn"]["same_bytes"] is True
    assert through_upstream["upload_cdn"]["url"].startswith(f"{front_url}/files/")
    assert is_video(through_upstream["uploaded_image_in_a_submit"]["result"], front_url)
    assert through_upstream["stream"]["events"][-1]["partial"] is False

"""Every usual HTTP stack reaches the fake on fal's real host names under `falfake exec` alone,
and the JS client's stream and realtime clients, which bypass `proxyUrl`, through the same
environment (its Node preload)."""

from __future__ import annotations

import shutil
import sys
from typing import Any

import pytest

from falfake.runtime.tls import CertificateAuthority
from tests.official_clients.conftest import HERE, KEY, run_scenarios
from tests.official_clients.test_fal_client_python import CLEAN_ENV

STACKS = ["requests", "urllib", "httpx", "aiohttp", "curl"]


def under_exec(url: str, authority: CertificateAuthority, command: list[str]) -> list[str]:
    port = url.rsplit(":", 1)[1]
    falfake = [sys.executable, "-m", "falfake", "exec", "--port", port]
    return [*falfake, "--ca-dir", str(authority.folder), "--key", KEY, "--", *command]


@pytest.mark.parametrize("stack", STACKS)
def test_a_plain_stack_runs_a_queue_lifecycle_on_fals_host_names(
    strict_server_url: str, authority: CertificateAuthority, stack: str
) -> None:
    if stack == "curl" and shutil.which("curl") is None:
        pytest.fail("curl is needed: apt-get install curl")
    script = [sys.executable, str(HERE / "plain_stacks.py"), stack]
    outcome = run_scenarios(under_exec(strict_server_url, authority, script), CLEAN_ENV)
    assert outcome["last_status"] == "COMPLETED"
    assert outcome["status_url"].startswith("https://queue.fal.run/fal-ai/flux/requests/")
    assert outcome["jpeg"] is True


@pytest.fixture(scope="module")
def node_outcomes(strict_server_url: str, authority: CertificateAuthority) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (HERE / "js" / "node_modules" / "@fal-ai" / "client").is_dir():
        pytest.fail("node and tests/official_clients/js/node_modules are needed: run `make test`")
    scenarios = [
        "stream_server",
        "stream_client",
        "stream_flux",
        "stream_rejected",
        "realtime",
        "realtime_bad_input",
        "plain_fetch",
    ]
    # Node 20 has a global WebSocket only behind this flag (22 and later: by default).
    script = [node, "--experimental-websocket", str(HERE / "js" / "streaming.mjs"), *scenarios]
    return run_scenarios(under_exec(strict_server_url, authority, script), CLEAN_ENV)


def test_nodes_own_fetch_runs_a_queue_lifecycle_on_fals_host_names(
    node_outcomes: dict[str, Any], strict_server_url: str
) -> None:
    outcome = node_outcomes["plain_fetch"]
    assert outcome["status"] == "COMPLETED"
    assert outcome["jpeg"] is True
    assert outcome["status_url"].startswith(f"{strict_server_url}/queue/fal-ai/flux/requests/")


@pytest.mark.parametrize("mode", ["stream_server", "stream_client"])
def test_js_stream_yields_cumulative_text_and_done_resolves_to_the_last_event(
    node_outcomes: dict[str, Any], mode: str
) -> None:
    outcome = node_outcomes[mode]
    events = outcome["events"]
    assert outcome["done"] == events[-1]
    assert events[-1]["partial"] is False
    assert events[-1]["output"].startswith('falfake answers "Tell me a story": ')
    assert all(event["partial"] is True for event in events[:-1])
    assert len(events) > 10


def test_js_stream_of_flux_sends_previews_then_the_images(node_outcomes: dict[str, Any]) -> None:
    assert node_outcomes["stream_flux"] == {
        "kinds": [["images", "message", "progress"]] * 3
        + [["has_nsfw_concepts", "images", "prompt", "seed", "timings"]],
        "done": [[512, 512]],
    }


def test_js_stream_rejects_done_with_the_validation_error(node_outcomes: dict[str, Any]) -> None:
    assert node_outcomes["stream_rejected"] == {
        "name": "ValidationError",
        "status": 422,
        "body": {
            "detail": [
                {
                    "type": "string_type",
                    "loc": ["body", "prompt"],
                    "msg": "Input should be a valid string",
                    "input": 42,
                }
            ]
        },
    }


def test_js_realtime_gets_one_image_per_input_as_bytes(node_outcomes: dict[str, Any]) -> None:
    assert node_outcomes["realtime"] == {
        "results": [{"request_id": "r0", "images": [["Uint8Array", True, 16, 16]]}],
        "errors": [],
    }


def test_js_realtime_bad_input_reaches_on_error_as_a_400(node_outcomes: dict[str, Any]) -> None:
    assert node_outcomes["realtime_bad_input"] == {
        "results": [],
        "errors": [
            {"status": 400, "message": "INVALID_INPUT: strength must be a number from 0 to 1"}
        ],
    }

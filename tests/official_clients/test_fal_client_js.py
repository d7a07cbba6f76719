"""The unmodified JS `@fal-ai/client` 1.10.1 against a real fake, through its `proxyUrl` option.

The Makefile installs the client into tests/official_clients/js/node_modules from its lock file.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import Any

import pytest

from falfake.endpoints.text import reply_text
from tests.official_clients.conftest import BAD_KEY, HERE, KEY, journal, run_scenarios

JS = HERE / "js"


@pytest.fixture(scope="module")
def outcomes(strict_server_url: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "@fal-ai" / "client").is_dir():
        pytest.fail("node and tests/official_clients/js/node_modules are needed: run `make test`")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return run_scenarios([node, str(JS / "scenarios.mjs"), strict_server_url, KEY, BAD_KEY], env)


def is_video(data: Any, server_url: str) -> bool:
    video = data["video"]
    return bool(video["url"].startswith(f"{server_url}/files/b/") and video["file_size"] > 0)


def test_subscribe_polls_until_completed_with_logs(
    outcomes: dict[str, Any], strict_server_url: str
) -> None:
    outcome = outcomes["subscribe"]
    assert is_video(outcome["result"]["data"], strict_server_url)
    assert outcome["result"]["requestId"]
    statuses = [update["status"] for update in outcome["updates"]]
    assert statuses[-1] == "COMPLETED"
    assert "IN_PROGRESS" in statuses
    assert any(update["logs"] for update in outcome["updates"])


def test_streaming_subscribe_follows_the_sse_stream(
    outcomes: dict[str, Any], strict_server_url: str
) -> None:
    outcome = outcomes["streaming_subscribe"]
    assert is_video(outcome["result"]["data"], strict_server_url)
    assert outcome["statuses"][-1] == "COMPLETED"


def test_submit_status_and_result_by_id(outcomes: dict[str, Any], strict_server_url: str) -> None:
    outcome = outcomes["queue_by_id"]
    request_id = outcome["submitted"]["request_id"]
    assert outcome["submitted"]["status"] == "IN_QUEUE"
    assert outcome["first"]["request_id"] == request_id
    assert outcome["done"]["status"] == "COMPLETED"
    assert outcome["result"]["requestId"] == request_id
    assert is_video(outcome["result"]["data"], strict_server_url)


def test_stream_status_sends_each_log_line_once(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["stream_status"]
    assert outcome["done"] == "COMPLETED"
    messages = [log["message"] for event in outcome["events"] for log in event["logs"] or []]
    assert messages == [
        "Validating input",
        "Loading 1 reference image",
        "Generating 3 s of video at 16:9",
        "Encoding video",
        "Video generated",
    ]


def test_cancel_ends_the_wait_and_the_result_is_an_api_error_499(
    outcomes: dict[str, Any],
) -> None:
    outcome = outcomes["cancel"]
    assert outcome["done"]["status"] == "COMPLETED"
    assert outcome["result"]["name"] == "ApiError"
    assert outcome["result"]["status"] == 499
    assert outcome["result"]["body"] == {
        "detail": "Request cancelled by the client.",
        "error_type": "client_cancelled",
    }


def test_upload_stores_the_bytes(outcomes: dict[str, Any], strict_server_url: str) -> None:
    outcome = outcomes["upload"]
    assert outcome["url"].startswith(f"{strict_server_url}/files/b/")
    assert bytes(outcome["bytes"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert len(outcome["bytes"]) == 82


def test_large_upload_goes_in_parts(outcomes: dict[str, Any], strict_server_url: str) -> None:
    outcome = outcomes["upload_multipart"]
    assert outcome == {
        "url": outcome["url"],
        "size": 91 * 1024 * 1024,
        "first": 7,
        "last": 9,
    }
    # The JS client alone starts uploads with initiate-multipart (Python's go to the CDN),
    # through the proxy protocol at /fal/proxy.
    started = [
        entry
        for entry in journal(strict_server_url, method="POST", path="/fal/proxy")
        if "/storage/upload/initiate-multipart?" in entry["headers"].get("x-fal-target-url", "")
    ]
    parts = [
        entry["path"]
        for entry in journal(strict_server_url, method="PUT", path="/uploads/")
        if re.fullmatch(r"/uploads/[^/]+/[0-9]+", entry["path"])
    ]
    completed = journal(strict_server_url, method="POST", path="/complete")
    assert len(started) == 1
    assert len(parts) >= 2  # 91 MiB in parts of at most 10 MiB: ten of them
    assert any(entry["path"].startswith("/uploads/") for entry in completed)


def test_an_uploaded_image_can_be_used_in_a_submit(
    outcomes: dict[str, Any], strict_server_url: str
) -> None:
    assert is_video(outcomes["uploaded_image_in_a_submit"]["data"], strict_server_url)


def test_validation_error_is_a_validation_error_with_field_errors(
    outcomes: dict[str, Any],
) -> None:
    outcome = outcomes["validation_error"]
    assert outcome["name"] == "ValidationError"
    assert outcome["status"] == 422
    assert outcome["fieldErrors"] == [
        {
            "type": "missing",
            "loc": ["body", "image_urls"],
            "msg": "Field required",
            "input": {"prompt": "no images"},
        }
    ]
    assert outcome["requestId"]


def test_unknown_key_is_an_api_error_401(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["auth_error"]
    assert outcome["name"] == "ApiError"
    assert outcome["status"] == 401
    assert outcome["body"] == {"detail": "No user found for Key ID and Secret"}


def test_sync_run_returns_data_and_request_id(
    outcomes: dict[str, Any], strict_server_url: str
) -> None:
    assert is_video(outcomes["run"]["data"], strict_server_url)
    assert outcomes["run"]["requestId"]


def test_flux_dev_polls_until_completed_and_gives_jpegs_of_the_asked_size(
    outcomes: dict[str, Any], strict_server_url: str
) -> None:
    outcome = outcomes["flux"]
    assert outcome["statuses"][-1] == "COMPLETED"
    assert [
        image["url"].startswith(f"{strict_server_url}/files/")
        for image in outcome["data"]["images"]
    ] == [True, True]
    assert outcome["sizes"] == [{"soi": True, "width": 576, "height": 1024}] * 2


def test_a_flux_bound_is_a_validation_error_with_fals_entry(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["flux_bound"]
    assert (outcome["name"], outcome["status"]) == ("ValidationError", 422)
    (entry,) = outcome["body"]["detail"]
    assert (entry["type"], entry["loc"]) == ("less_than_equal", ["body", "num_inference_steps"])


def test_a_scenario_sets_the_output_and_logs_it_gets(
    outcomes: dict[str, Any], strict_server_url: str
) -> None:
    outcome = outcomes["stubbed"]
    assert outcome["added"] == 201
    video = outcome["data"]["video"]
    assert video["url"].startswith(f"{strict_server_url}/files/b/")
    assert (video["file_name"], video["content_type"]) == ("golden.mp4", "video/mp4")
    assert video["file_size"] == len("golden video")
    assert outcome["video"] == "golden video"
    assert outcome["logs"] == ["Loading the golden path", "Done"]


def test_stream_goes_through_proxy_url_and_done_is_the_last_event(
    outcomes: dict[str, Any], strict_server_url: str
) -> None:
    outcome = outcomes["stream_through_the_proxy"]
    assert outcome["events"] > 10
    assert outcome["done"] == {"output": reply_text("Tell me a story"), "partial": False}
    proxied = journal(strict_server_url, path="/fal/proxy", method="POST")
    streams = [e for e in proxied if e["headers"].get("x-fal-target-url", "").endswith("/stream")]
    assert [e["headers"]["x-fal-target-url"] for e in streams] == [
        "https://fal.run/fal-ai/any-llm/stream"
    ]
    assert streams[0]["reply"].count("data: ") == outcome["events"]

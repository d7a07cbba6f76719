"""Every scenario kind through the official Python client and ours, via the `falfake` fixture."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import fal_client
import httpx
import pytest

from falfake.client import ApiError, FalClient, Hosts, RateLimited, ServerError, TransportError
from falfake.client.retry import RetryPolicy
from falfake.endpoints.text import reply_text
from falfake.errors import Conflict
from falfake.pytest_plugin import Falfake, InProcessFalfake
from tests.loopback import QuietHandler, serving

ENDPOINT = "google/gemini-omni-flash/reference-to-video"
INPUT = {
    "prompt": "A cat <IMAGE_REF_0>",
    "image_urls": ["https://example.com/cat.png"],
    "duration": 3,
}


@pytest.fixture
def ours(falfake: Falfake) -> Iterator[FalClient]:
    """The minimal client aimed at fal's real hosts, which the fixture answers."""
    with FalClient(hosts=Hosts(), retry=RetryPolicy(max_attempts=3, base_delay=0.01)) as client:
        yield client


def test_a_full_lifecycle_takes_milliseconds(falfake: Falfake) -> None:
    started = time.perf_counter()
    handle = fal_client.submit(ENDPOINT, INPUT)
    assert handle.get()["video"]["content_type"] == "video/mp4"
    assert time.perf_counter() - started < 5  # generous; the figure is in `make bench`
    assert falfake.requests(path="/status")  # it polled, and the clock moved for it


def test_the_video_url_is_served_by_the_fixture(falfake: Falfake) -> None:
    url = fal_client.run(ENDPOINT, INPUT)["video"]["url"]
    assert url.startswith("https://v3b.fal.media/files/b/")
    assert httpx.get(url).headers["content-type"] == "video/mp4"


def test_a_text_to_image_then_video_pipeline_runs_offline(falfake: Falfake) -> None:
    image = fal_client.subscribe("fal-ai/flux/dev", {"prompt": "a fox"})["images"][0]
    assert httpx.get(image["url"]).headers["content-type"] == "image/jpeg"
    prompt = "The fox <IMAGE_REF_0> runs"
    video = fal_client.subscribe(ENDPOINT, {"prompt": prompt, "image_urls": [image["url"]]})
    assert httpx.get(video["video"]["url"]).headers["content-type"] == "video/mp4"
    submits = falfake.requests(method="POST")
    assert [r.path for r in submits if r.path.startswith("/fal-ai")] == ["/fal-ai/flux/dev"]


def test_latency(falfake: Falfake, ours: FalClient) -> None:
    falfake.scenario(operation="run", latency=0.2)
    ours.run(INPUT)
    (entry,) = falfake.requests(path="/reference-to-video")
    assert entry.duration_ms >= 200


def test_own_time_in_queue_and_running(falfake: InProcessFalfake, ours: FalClient) -> None:
    falfake.auto_advance = False
    falfake.scenario(operation="submit", queue_seconds=30, run_seconds=60)
    submitted = ours.submit(INPUT)
    falfake.advance(29)
    assert type(ours.status(submitted.request_id)).__name__ == "Queued"
    falfake.run_until(submitted.request_id, "IN_PROGRESS")
    start = falfake.clock.now()
    falfake.run_until(submitted.request_id)
    assert falfake.clock.now() - start == pytest.approx(60)


def test_a_typed_fal_error_with_a_request_id_is_not_retried(falfake: Falfake) -> None:
    falfake.scenario(operation="submit", status=503, error_type="runner_scheduling_failure")
    with pytest.raises(fal_client.client.FalClientHTTPError) as caught:
        fal_client.submit(ENDPOINT, INPUT)
    assert caught.value.status_code == 503
    assert len(falfake.requests(method="POST")) == 1


def test_an_ingress_5xx_without_request_id_is_retried(falfake: Falfake, ours: FalClient) -> None:
    falfake.scenario(operation="submit", status=502, request_id_header=False, times=1)
    assert fal_client.submit(ENDPOINT, INPUT).request_id
    assert [r.status for r in falfake.requests(method="POST")] == [502, 200]
    falfake.scenario(operation="run", status=500, error_type="internal_error")
    with pytest.raises(ServerError) as caught:
        ours.run(INPUT)
    assert caught.value.error_type == "internal_error"


def test_429_with_retry_after(falfake: Falfake, ours: FalClient) -> None:
    falfake.scenario(operation="status", status=429, retry_after=0, error_type="rate_limited")
    submitted = ours.submit(INPUT)
    with pytest.raises(RateLimited):
        ours.status(submitted.request_id)
    (first, *_) = falfake.requests(path="/status")
    assert first.status == 429
    assert len(falfake.requests(path="/status")) == 3  # our client gave up after 3 tries


def test_a_dropped_connection_is_retried(falfake: Falfake, ours: FalClient) -> None:
    falfake.scenario(operation="submit", drop=True, times=1)
    assert fal_client.submit(ENDPOINT, INPUT).request_id
    falfake.scenario(operation="run", drop=True)
    with pytest.raises(TransportError):
        ours.run(INPUT)


def test_a_stuck_request_never_starts(falfake: Falfake, ours: FalClient) -> None:
    falfake.scenario(operation="submit", stuck=True)
    submitted = ours.submit(INPUT)
    falfake.advance(86_400)
    assert type(ours.status(submitted.request_id)).__name__ == "Queued"
    with pytest.raises(Conflict):
        falfake.run_until(submitted.request_id)


def test_forced_content_policy_by_input_field(falfake: Falfake, ours: FalClient) -> None:
    from falfake.client import ContentPolicyViolation

    falfake.scenario(operation="submit", input={"duration": 4}, content_policy=("output",))
    assert ours.subscribe(INPUT, poll_interval=0).video.file_name == "output.mp4"
    with pytest.raises(ContentPolicyViolation) as caught:
        ours.subscribe({**INPUT, "duration": 4}, poll_interval=0)
    assert caught.value.field_errors[0]["loc"] == ["body"]


def test_a_header_match_and_a_count(falfake: Falfake) -> None:
    falfake.scenario(header=("x-fal-queue-priority", "low"), status=400, error_type="bad_request")
    falfake.scenario(operation="submit", after=1, status=409, times=1)
    assert fal_client.submit(ENDPOINT, INPUT).request_id  # first submit: untouched
    with pytest.raises(fal_client.client.FalClientHTTPError) as caught:
        fal_client.submit(ENDPOINT, INPUT, priority="low")
    assert caught.value.status_code == 400  # the header scenario, registered first, wins
    # The count: one match skipped, then one 409 (which fal-client retries, getting a 200).
    assert fal_client.submit(ENDPOINT, INPUT).request_id
    assert [r.status for r in falfake.requests(method="POST")] == [200, 400, 409, 200]


def test_reset_forgets_everything(falfake: Falfake, ours: FalClient) -> None:
    falfake.scenario(operation="run", status=500)
    submitted = ours.submit(INPUT)
    falfake.reset()
    assert falfake.requests() == []
    assert falfake.scenarios() == []
    assert ours.run(INPUT).video.file_name == "output.mp4"
    with pytest.raises(ApiError, match="Request not found") as caught:
        ours.status(submitted.request_id)
    assert caught.value.status_code == 404


def printed_by(app: str) -> list[str]:
    """What `app` prints, run as a subprocess in the test's environment, word by word."""
    finished = subprocess.run(
        [sys.executable, "-c", app], capture_output=True, text=True, timeout=60, check=True
    )
    return finished.stdout.split()


def test_the_server_fixture_sets_the_environment_for_an_unchanged_app(
    falfake_server: Falfake,
) -> None:
    app = (
        "import fal_client\n"
        f"result = fal_client.subscribe({ENDPOINT!r}, {INPUT!r})\n"
        "print(result['video']['url'])\n"
    )
    assert printed_by(app)[0].startswith(falfake_server.base_url)
    assert falfake_server.requests(host="queue.fal.run", method="POST")


def test_the_server_fixture_passes_other_hosts_through(falfake_server: Falfake) -> None:
    """An app under test calls more than fal through HTTPS_PROXY: those calls are tunnelled."""
    with serving(QuietHandler) as other:
        target = other.removeprefix("http://").encode()
        port = int(falfake_server.base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"CONNECT " + target + b" HTTP/1.1\r\n\r\n")
            assert sock.recv(4096) == b"HTTP/1.1 200 Connection established\r\n\r\n"
            sock.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.0 501")  # the other server's own answer
    (entry,) = falfake_server.requests(method="CONNECT")
    assert (entry.path, entry.status) == (target.decode(), 200)


def test_helpers_for_common_scenarios(falfake: Falfake, ours: FalClient) -> None:
    from falfake.client import ContentPolicyViolation

    falfake.rate_limited(times=1, operation="run")
    assert ours.run(INPUT).video.file_name == "output.mp4"  # retried once
    falfake.reset()
    falfake.failing(504, "request_timeout", operation="run", times=1)
    with pytest.raises(ServerError):
        ours.run(INPUT)
    falfake.flagged("prompt", operation="run")
    with pytest.raises(ContentPolicyViolation):
        ours.run(INPUT)


def test_a_scenario_sets_the_output_fal_client_gets(falfake: Falfake, tmp_path: Path) -> None:
    golden = tmp_path / "golden.mp4"
    golden.write_bytes(b"the product's golden video")
    falfake.scenario(
        operation="submit",
        output_fields={"video": falfake.file(golden), "seed": 7},
        logs=["Loading the golden path", "Done"],
    )
    logs: list[str] = []

    def on_update(update: object) -> None:
        if isinstance(update, fal_client.InProgress | fal_client.Completed):
            logs.extend(line["message"] for line in update.logs or [])

    result = fal_client.subscribe(ENDPOINT, INPUT, with_logs=True, on_queue_update=on_update)
    assert result["seed"] == 7
    assert (result["video"]["file_name"], result["video"]["content_type"]) == (
        "golden.mp4",
        "video/mp4",
    )
    assert httpx.get(result["video"]["url"]).content == b"the product's golden video"
    assert list(dict.fromkeys(logs)) == ["Loading the golden path", "Done"]


def test_a_scenario_can_give_the_whole_output(falfake: Falfake) -> None:
    picture = falfake.file(b"\x89PNG fixed", content_type="image/png", file_name="fixed.png")
    falfake.scenario(operation="run", output={"images": [picture], "note": "stubbed"})
    result = fal_client.run("fal-ai/flux/dev", {"prompt": "a red cube"})
    assert result["note"] == "stubbed"
    (image,) = result["images"]
    assert (image["content_type"], image["file_size"]) == ("image/png", 10)
    assert httpx.get(image["url"]).content == b"\x89PNG fixed"


def test_a_stream_through_the_in_process_fixture(falfake: Falfake) -> None:
    events = list(fal_client.stream("fal-ai/any-llm", {"prompt": "Name a cat"}))
    assert events[-1] == {"output": reply_text("Name a cat"), "partial": False}
    assert [e["partial"] for e in events[:-1]] == [True] * (len(events) - 1)


def test_realtime_through_the_server_fixture(falfake_server: Falfake) -> None:
    app = (
        "import fal_client\n"
        "with fal_client.realtime('fal-ai/fast-lcm-diffusion/image-to-image') as connection:\n"
        "    connection.send({'prompt': 'a cat', 'image_size': 'square', 'request_id': 'r'})\n"
        "    result = connection.recv()\n"
        "print(result['request_id'], result['images'][0]['width'])\n"
    )
    assert printed_by(app) == ["r", "512"]
    assert falfake_server.requests(host="rest.fal.ai", path="/tokens/", method="POST")


def test_the_server_fixture_sets_what_plain_requests_needs(falfake_server: Falfake) -> None:
    app = (
        "import os, requests\n"
        "reply = requests.post('https://rest.fal.ai/tokens/', json={'allowed_apps': ['x']},"
        " headers={'Authorization': 'Key ' + os.environ['FAL_KEY']}, timeout=30)\n"
        "print(reply.status_code)\n"
    )
    assert printed_by(app) == ["201"]

"""A fake with `--data-dir` killed with SIGKILL mid-lifecycle keeps every promise of the README's
"survives restarts" section when it starts again: the real command, a real kill, no graceful stop.

The fake runs on a virtual clock, so what is queued, running or waiting for a retry at the kill
is decided by the test, not by how fast the machine is.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import APP, ENDPOINT, KEY, VALID_INPUT, eventually, png
from tests.loopback import Receiver, received, receiving

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def hook() -> Iterator[tuple[Receiver, str]]:
    """A webhook receiver whose first POST to /hook fails; the retry is answered."""
    with receiving() as (receiver, url):
        receiver.scripts["/hook"] = [500, 200]
        yield receiver, url


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[], tuple[subprocess.Popen[str], httpx.Client]]]:
    """Starts `falfake serve` on one data directory; each start gets a free port of its own."""
    started: list[tuple[subprocess.Popen[str], httpx.Client]] = []

    def run() -> tuple[subprocess.Popen[str], httpx.Client]:
        command = [sys.executable, "-m", "falfake", "serve", "--port", "0", "--clock"]
        command += ["virtual", "--data-dir", str(tmp_path / "data"), "--ca-dir"]
        command += [str(tmp_path / "ca"), "--runners", "1", "--queue-seconds", "1"]
        command += ["--run-seconds", "5", "--video-size", "64x36"]
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+)$", line.strip())
        assert match, line + process.stderr.read()
        client = httpx.Client(base_url=match.group(1), headers=KEY, timeout=30)
        started.append((process, client))
        return process, client

    yield run
    for process, client in started:
        client.close()
        process.kill()
        process.wait()
        if process.stderr is not None:
            process.stderr.close()


def submit(fake: httpx.Client, body: dict[str, Any], **params: str) -> str:
    reply = fake.post(f"/queue/{ENDPOINT}", json=body, params=params)
    assert reply.status_code == 200, reply.text
    request_id: str = reply.json()["request_id"]
    return request_id


def status(fake: httpx.Client, request_id: str) -> str:
    state: str = fake.get(f"/queue/{APP}/requests/{request_id}/status").json()["status"]
    return state


def run_until(fake: httpx.Client, request_id: str, state: str) -> None:
    reply = fake.post("/_falfake/clock/run-until", json={"request_id": request_id, "status": state})
    assert reply.status_code == 200, reply.text


def attempts(fake: httpx.Client, request_id: str) -> list[tuple[int, int | None, bool]]:
    log = fake.get("/_falfake/webhooks", params={"request_id": request_id}).json()["attempts"]
    return [(a["attempt"], a["status_code"], a["delivered"]) for a in log]


def on(fake: httpx.Client, url: str) -> str:
    """`url` (made by a fake before the kill, with its port) as a path for the fake now running."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_after_a_sigkill_nothing_stored_is_lost(
    start: Callable[[], tuple[subprocess.Popen[str], httpx.Client]], hook: tuple[Receiver, str]
) -> None:
    receiver, hook_url = hook
    first, fake = start()

    # A webhook whose first POST failed: its retry is due 7 s (of the fake's time) later.
    hooked = submit(fake, VALID_INPUT, fal_webhook=f"{hook_url}/hook")
    run_until(fake, hooked, "COMPLETED")
    eventually(lambda: attempts(fake, hooked) == [(1, 500, False)], seconds=60)
    # A finished request with its result and video, and one that failed validation at the runner.
    done = submit(fake, VALID_INPUT)
    run_until(fake, done, "COMPLETED")
    result = fake.get(f"/queue/{APP}/requests/{done}").json()
    video = fake.get(on(fake, result["video"]["url"]))
    assert video.status_code == 200
    failed = submit(fake, {**VALID_INPUT, "duration": 99})
    run_until(fake, failed, "COMPLETED")
    rejected = fake.get(f"/queue/{APP}/requests/{failed}")
    assert rejected.status_code == 422
    # One running (one runner) and one queued behind it.
    running = submit(fake, VALID_INPUT)
    run_until(fake, running, "IN_PROGRESS")
    queued = submit(fake, VALID_INPUT)
    assert (status(fake, running), status(fake, queued)) == ("IN_PROGRESS", "IN_QUEUE")
    # A CDN token with a file uploaded through it, and a multipart upload half done.
    token = fake.post("/rest/storage/auth/token", json={}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    uploaded = fake.post("/cdn/files/upload", content=png(), headers=bearer).json()["access_url"]
    multipart = fake.post("/rest/storage/upload/initiate-multipart", json={}).json()
    part_one = fake.put(on(fake, f"{multipart['upload_url']}/1"), content=b"first-")
    assert part_one.status_code == 200

    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    _, fake = start()

    # Results, failures and files are all there, byte for byte.
    after = fake.get(f"/queue/{APP}/requests/{done}").json()
    # The same file; only the address in its URL is the new fake's.
    assert on(fake, after["video"].pop("url")) == on(fake, result["video"].pop("url"))
    assert after == result
    assert fake.get(video.request.url.path).content == video.content
    again = fake.get(f"/queue/{APP}/requests/{failed}")
    assert (again.status_code, again.json()) == (422, rejected.json())
    assert fake.get(on(fake, uploaded)).content == png()
    # The token still works, and the multipart upload completes with the part sent before.
    assert fake.post("/cdn/files/upload", content=b"x", headers=bearer).status_code == 200
    part_two = fake.put(on(fake, f"{multipart['upload_url']}/2"), content=b"second")
    assert part_two.status_code == 200
    parts = [{"partNumber": n, **part.json()} for n, part in [(1, part_one), (2, part_two)]]
    completed = fake.post(on(fake, f"{multipart['upload_url']}/complete"), json={"parts": parts})
    assert completed.status_code == 200, completed.text
    assert fake.get(on(fake, multipart["file_url"])).content == b"first-second"
    # The running request finishes, the queued one then starts: both with their videos.
    assert (status(fake, running), status(fake, queued)) == ("IN_PROGRESS", "IN_QUEUE")
    run_until(fake, queued, "COMPLETED")
    for request_id in (running, queued):
        output = fake.get(f"/queue/{APP}/requests/{request_id}").json()
        assert fake.get(on(fake, output["video"]["url"])).status_code == 200
    # The webhook retry carries on with its attempt number and the same body.
    assert attempts(fake, hooked)[0] == (1, 500, False)
    fake.post("/_falfake/clock/advance", json={"seconds": 8})
    eventually(lambda: attempts(fake, hooked)[-1] == (2, 200, True), seconds=60)
    first_post, second_post = received(receiver, hooked)
    assert first_post.body == second_post.body

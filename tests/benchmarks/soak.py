"""Soak (`make soak`): a tool, not a test. N clients run full lifecycles against a real fake for a
set time, and the fake is stopped and started again midway on the same `--data-dir` and port.

Each lifecycle uploads a reference image, submits it with a webhook, polls to COMPLETED, fetches
the result and its video. A receiver on the loopback takes the webhooks, checks each signature
against the fake's JWKS and answers 500 to the first attempt of every fifth request, so retries run
too. Everything stays on 127.0.0.1.

Reported: lifecycles done, errors, lost results (submitted, never fetched), duplicated request
ids, lost webhooks (submitted, never accepted), duplicated webhooks (accepted twice), bad
signatures. The exit status is 1 when any figure but `done` is not zero.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from falfake.client import FalClient, FalClientError, Hosts, verify_webhook
from falfake.client.models import Completed
from falfake.client.webhooks import WebhookVerificationError
from tests.benchmarks.load import free_port
from tests.loopback import QuietHandler, serving

WEBHOOK_GRACE_SECONDS = 30.0


@dataclass
class Tally:
    """What the clients and the receiver saw; one lock for all of it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    submitted: list[str] = field(default_factory=list)
    fetched: set[str] = field(default_factory=set)
    accepted: collections.Counter[str] = field(default_factory=collections.Counter)
    refused_first: set[str] = field(default_factory=set)
    bad_signatures: int = 0
    seen: int = 0
    retried_gets: int = 0


class Fake:
    """`python -m falfake serve` in a child process, on a fixed port and data directory."""

    def __init__(self, port: int, root: Path, run_seconds: float) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._command = [
            sys.executable,
            "-m",
            "falfake",
            "serve",
            *("--port", str(port), "--data-dir", str(root / "data"), "--ca-dir", str(root / "ca")),
            *("--queue-seconds", "0.2", "--run-seconds", str(run_seconds), "--runners", "8"),
            *("--video-size", "320x180", "--webhook-time-scale", "0.01"),
        ]
        self._log = (root / "fake.log").open("ab")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start and wait until it answers; returns the seconds that took."""
        started = time.perf_counter()
        self._process = subprocess.Popen(self._command, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the fake exited with {self._process.returncode}")
            try:
                httpx.get(f"{self.url}/.well-known/jwks.json", timeout=1).raise_for_status()
                return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the fake did not start in 60 s")

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        """SIGTERM, as a service manager stops it (or SIGKILL, a crash), and wait for the end."""
        if self._process is not None:
            self._process.send_signal(how)
            self._process.wait(timeout=60)
            self._process = None

    def jwks(self) -> dict[str, Any]:
        keys: dict[str, Any] = httpx.get(f"{self.url}/.well-known/jwks.json").json()
        return keys


def receiver(tally: Tally, jwks: dict[str, Any]) -> type[QuietHandler]:
    """Takes webhooks: checks each signature, refuses the first attempt of every fifth."""

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request_id = self.headers.get("X-Fal-Webhook-Request-Id", "")
            try:
                verify_webhook(dict(self.headers), body, jwks)
                genuine = True
            except WebhookVerificationError:
                genuine = False
            with tally.lock:
                tally.seen += 1
                tally.bad_signatures += not genuine
                refuse = (
                    genuine and hash(request_id) % 5 == 0 and request_id not in tally.refused_first
                )
                if refuse:
                    tally.refused_first.add(request_id)
                elif genuine:
                    tally.accepted[request_id] += 1
            self.send_response(500 if refuse else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def reference_png(index: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (index * 37 % 256, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def lifecycles(index: int, fake_url: str, hook: str, tally: Tally, stop: threading.Event) -> None:
    """One client: lifecycle after lifecycle until told to stop."""
    image = reference_png(index)
    with FalClient("soak-key", hosts=Hosts.falfake(fake_url)) as fal, httpx.Client() as http:
        while not stop.is_set():
            request_id = None
            try:
                url = fal.upload(image, content_type="image/png", file_name=f"ref{index}.png")
                body = {"prompt": f"Client {index} <IMAGE_REF_0>", "image_urls": [url]}
                request_id = fal.submit(body, webhook_url=hook).request_id
                with tally.lock:
                    tally.submitted.append(request_id)
                while not isinstance(fal.status(request_id), Completed):
                    time.sleep(0.1)
                video = download(http, fal.result(request_id).video.url, tally)
                if video.status_code != 200 or video.content[4:8] != b"ftyp":
                    raise RuntimeError(f"video answered {video.status_code}")
                with tally.lock:
                    tally.fetched.add(request_id)
                    tally.done += 1
            except (FalClientError, httpx.HTTPError, RuntimeError) as exc:
                with tally.lock:
                    tally.errors[f"{type(exc).__name__}: {exc}"[:160]] += 1


def download(http: httpx.Client, url: str, tally: Tally) -> httpx.Response:
    """GET the video, retried with backoff like fal's client retries its own calls (a GET that
    meets the restart finds the port closed or its pooled connection reset); retries are
    counted and reported."""
    for attempt in range(6):
        try:
            return http.get(url)
        except httpx.TransportError:
            with tally.lock:
                tally.retried_gets += 1
            time.sleep(0.1 * 2**attempt)
    return http.get(url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--run-seconds", type=float, default=0.5, help="simulated run time")
    parser.add_argument(
        "--restart",
        choices=["term", "kill", "none"],
        default="term",
        help="midway: SIGTERM and start again (default), SIGKILL (a crash) and start again, or not",
    )
    args = parser.parse_args(argv)
    tally, stop = Tally(), threading.Event()
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="falfake-soak-"))
        fake = Fake(free_port(), Path(tmp), args.run_seconds)
        first_start = fake.start()
        stack.callback(fake.stop)
        hook = f"{stack.enter_context(serving(receiver(tally, fake.jwks())))}/hook"
        clients = [
            threading.Thread(target=lifecycles, args=(i, fake.url, hook, tally, stop))
            for i in range(args.clients)
        ]
        began = time.monotonic()
        for client in clients:
            client.start()
        downtime = None
        if args.restart != "none":
            time.sleep(args.seconds / 2)
            stopped = time.perf_counter()
            fake.stop(signal.SIGKILL if args.restart == "kill" else signal.SIGTERM)
            fake.start()
            downtime = time.perf_counter() - stopped
        time.sleep(max(0.0, began + args.seconds - time.monotonic()))
        stop.set()
        for client in clients:
            client.join()
        elapsed = time.monotonic() - began
        deadline = time.monotonic() + WEBHOOK_GRACE_SECONDS
        while time.monotonic() < deadline:
            with tally.lock:
                if set(tally.submitted) <= set(tally.accepted):
                    break
            time.sleep(0.1)
    return report(tally, args, elapsed, first_start, downtime)


def report(
    tally: Tally,
    args: argparse.Namespace,
    elapsed: float,
    first_start: float,
    downtime: float | None,
) -> int:
    submitted = set(tally.submitted)
    figures = {
        "errors": sum(tally.errors.values()),
        "lost results": len(submitted - tally.fetched),
        "duplicated request ids": len(tally.submitted) - len(submitted),
        "lost webhooks": len(submitted - set(tally.accepted)),
        "duplicated webhooks": sum(1 for n in tally.accepted.values() if n > 1),
        "bad signatures": tally.bad_signatures,
    }
    restart = (
        "none" if downtime is None else f"SIG{args.restart.upper()} midway, down {downtime:.2f} s"
    )
    print(f"falfake soak: {args.clients} clients, {elapsed:.1f} s, restart: {restart}")
    print(f"  first start {first_start:.2f} s; simulated run {args.run_seconds} s per request")
    print(f"  {'lifecycles done':<24}{tally.done:>8}  ({tally.done / elapsed:.1f}/s)")
    print(f"  {'requests submitted':<24}{len(submitted):>8}")
    print(
        f"  {'webhook POSTs':<24}{tally.seen:>8}"
        f"  ({len(tally.refused_first)} refused once on purpose, then retried)"
    )
    print(f"  {'video GETs retried':<24}{tally.retried_gets:>8}  (met the restart)")
    for name, value in figures.items():
        print(f"  {name:<24}{value:>8}")
    for message, count in tally.errors.most_common(5):
        print(f"    {count} x {message}")
    return 1 if any(figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

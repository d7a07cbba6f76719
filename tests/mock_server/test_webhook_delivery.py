"""Webhooks delivered by a real fake to a real receiver on the loopback, and verified."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from falfake.client import WebhookVerificationError, verify_webhook
from falfake.clock import VirtualClock
from falfake.runtime.tls import CertificateAuthority
from falfake.settings import WebhookSettings
from falfake.webhooks.delivery import Attempt, Deliveries, NoDeliveryRecords, PendingDelivery
from falfake.webhooks.signing import WebhookSigner
from tests.conftest import APP, ENDPOINT, KEY, REAL_TIME, eventually, running_fake
from tests.loopback import Receiver, received, receiving

INPUT = {
    "prompt": "A cat <IMAGE_REF_0>",
    "image_urls": ["https://example.com/cat.png"],
    "duration": 3,
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    with receiving() as pair:
        yield pair


def fake_with(authority: CertificateAuthority, timeout_seconds: float) -> Iterator[str]:
    # fal's schedule compressed ten thousand times: ten retries in under a second.
    hooks = WebhookSettings(time_scale=0.0001, timeout_seconds=timeout_seconds)
    with running_fake(dataclasses.replace(REAL_TIME, webhooks=hooks), authority) as url:
        yield url


@pytest.fixture(scope="module")
def fake_url(authority: CertificateAuthority) -> Iterator[str]:
    # A receiver that answers is never cut off, even on a busy machine.
    yield from fake_with(authority, timeout_seconds=10.0)


@pytest.fixture
def fake(fake_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_url, headers=KEY, timeout=10) as client:
        yield client


def submit(fake: httpx.Client, target: str, body: dict[str, Any] = INPUT) -> str:
    response = fake.post(f"/queue/{ENDPOINT}", json=body, params={"fal_webhook": target})
    assert response.status_code == 200, response.text
    assert response.json()["gateway_request_id"] == response.json()["request_id"]
    request_id: str = response.json()["request_id"]
    return request_id


def attempts(fake: httpx.Client, request_id: str) -> list[dict[str, Any]]:
    log = fake.get("/_falfake/webhooks", params={"request_id": request_id}).json()
    entries: list[dict[str, Any]] = log["attempts"]
    return entries


def test_a_finished_request_is_delivered_signed(
    fake: httpx.Client, receiver: tuple[Receiver, str]
) -> None:
    state, base = receiver
    request_id = submit(fake, f"{base}/ok?x=1")
    eventually(lambda: len(received(state, request_id)) == 1)
    (delivery,) = received(state, request_id)
    assert delivery.path == "/ok?x=1"
    body = json.loads(delivery.body)
    assert list(body) == ["error", "gateway_request_id", "payload", "request_id", "status"]
    assert (body["status"], body["error"], body["request_id"]) == ("OK", None, request_id)
    video = body["payload"]["video"]
    assert fake.get(video["url"]).headers["content-type"] == "video/mp4"
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.headers["X-Fal-Webhook-User-Id"] == "github|0"
    verify_webhook(delivery.headers, delivery.body, fake.get("/.well-known/jwks.json").json())
    result = fake.get(f"/queue/{APP}/requests/{request_id}").json()
    assert result == body["payload"]


def test_the_jwks_is_also_at_fals_rest_path(fake: httpx.Client) -> None:
    assert (
        fake.get("/rest/.well-known/jwks.json").json() == fake.get("/.well-known/jwks.json").json()
    )


@pytest.mark.parametrize(
    ("body", "payload_type", "loc"),
    [
        pytest.param({"prompt": "no images"}, "missing", ["body", "image_urls"], id="validation"),
        pytest.param(
            {**INPUT, "prompt": "falfake:unsafe-output"},
            "content_policy_violation",
            ["body"],
            id="content-policy",
        ),
    ],
)
def test_failures_are_delivered_as_error_payloads(
    fake: httpx.Client,
    receiver: tuple[Receiver, str],
    body: dict[str, Any],
    payload_type: str,
    loc: list[str],
) -> None:
    state, base = receiver
    request_id = submit(fake, f"{base}/ok", body)
    eventually(lambda: len(received(state, request_id)) == 1)
    delivered = json.loads(received(state, request_id)[0].body)
    assert delivered["status"] == "ERROR"
    assert delivered["error"] == "Invalid status code: 422"
    (entry,) = delivered["payload"]["detail"]
    assert (entry["type"], entry["loc"]) == (payload_type, loc)


def test_a_failing_receiver_gets_the_same_body_until_it_accepts(
    fake: httpx.Client, receiver: tuple[Receiver, str]
) -> None:
    state, base = receiver
    state.scripts["/flaky"] = [500, 503, 200]
    request_id = submit(fake, f"{base}/flaky")
    eventually(lambda: any(a["delivered"] for a in attempts(fake, request_id)))
    log = attempts(fake, request_id)
    assert [(a["attempt"], a["status_code"], a["delivered"]) for a in log] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    bodies = {d.body for d in received(state, request_id)}
    assert len(bodies) == 1
    assert all(a["target"] == f"{base}/flaky" and a["latency_ms"] >= 0 for a in log)


def test_a_receiver_that_never_answers_is_retried_ten_times_then_given_up(
    receiver: tuple[Receiver, str], authority: CertificateAuthority
) -> None:
    state, base = receiver
    state.scripts["/hang"] = ["hang"]
    state.release.clear()
    # Its own fake with a short timeout: every attempt times out, however busy the machine.
    with (
        contextlib.contextmanager(fake_with)(authority, timeout_seconds=0.2) as url,
        httpx.Client(base_url=url, headers=KEY, timeout=10) as fake,
    ):
        request_id = submit(fake, f"{base}/hang")
        eventually(lambda: len(attempts(fake, request_id)) == 11, seconds=60)
        log = attempts(fake, request_id)
        assert all(a["error"].startswith("ReadTimeout") and not a["delivered"] for a in log)
        # Given up: the 12th would be due 0.7 s after the 11th; wait well past that.
        time.sleep(1.5)
        assert len(attempts(fake, request_id)) == 11


def test_tampering_a_wrong_key_and_a_stale_timestamp_fail_verification(
    fake: httpx.Client, receiver: tuple[Receiver, str]
) -> None:
    state, base = receiver
    request_id = submit(fake, f"{base}/ok")
    eventually(lambda: len(received(state, request_id)) == 1)
    (delivery,) = received(state, request_id)
    jwks = fake.get("/.well-known/jwks.json").json()
    with pytest.raises(WebhookVerificationError, match="No key"):
        verify_webhook(delivery.headers, delivery.body.replace(b'"OK"', b'"ERROR"'), jwks)
    other = {
        "keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="}
        ]
    }
    with pytest.raises(WebhookVerificationError, match="No key"):
        verify_webhook(delivery.headers, delivery.body, other)
    sent_at = int(delivery.headers["X-Fal-Webhook-Timestamp"])
    with pytest.raises(WebhookVerificationError, match="more than 300 s"):
        verify_webhook(delivery.headers, delivery.body, jwks, now=sent_at + 301)


@pytest.mark.parametrize(
    ("target", "detail"),
    [
        ("not-a-url", "Invalid fal_webhook 'not-a-url': expected an http(s) URL."),
        ("ftp://127.0.0.1/x", "Invalid fal_webhook 'ftp://127.0.0.1/x': expected an http(s) URL."),
        (
            "https://example.com/hook",
            "falfake delivers webhooks only to loopback addresses; 'example.com' needs"
            " --allow-webhook-host.",
        ),
    ],
)
def test_a_bad_webhook_is_refused_at_submit(fake: httpx.Client, target: str, detail: str) -> None:
    response = fake.post(f"/queue/{ENDPOINT}", json=INPUT, params={"fal_webhook": target})
    assert response.status_code == 400
    assert response.json() == {"detail": detail, "error_type": "bad_request"}


def test_without_a_webhook_the_submit_reply_has_no_gateway_id(fake: httpx.Client) -> None:
    assert "gateway_request_id" not in fake.post(f"/queue/{ENDPOINT}", json=INPUT).json()


def test_retries_due_when_the_fake_stopped_continue_after_it_starts_again(
    receiver: tuple[Receiver, str], authority: CertificateAuthority, tmp_path: Path
) -> None:
    state, url = receiver
    state.scripts["/restart"] = [500, 200]
    # On a virtual clock the retry (7 s after the first attempt) cannot come before the stop,
    # however slow the machine: the second fake's clock is moved past it after the restart.
    settings = dataclasses.replace(REAL_TIME, data_dir=tmp_path / "data")
    with (
        running_fake(settings, authority, clock=VirtualClock()) as before,
        httpx.Client(base_url=before, headers=KEY) as fake,
    ):
        request_id = submit(fake, f"{url}/restart")
        fake.post("/_falfake/clock/run-until", json={"request_id": request_id})
        eventually(lambda: len(attempts(fake, request_id)) == 1)
    assert len(received(state, request_id)) == 1
    with (
        running_fake(settings, authority, clock=VirtualClock()) as after,
        httpx.Client(base_url=after, headers=KEY) as fake,
    ):
        assert len(attempts(fake, request_id)) == 1
        fake.post("/_falfake/clock/advance", json={"seconds": 7.0})
        eventually(lambda: len(attempts(fake, request_id)) == 2)
        log = attempts(fake, request_id)
    assert [(a["attempt"], a["status_code"], a["delivered"]) for a in log] == [
        (1, 500, False),
        (2, 200, True),
    ]
    first, second = received(state, request_id)
    assert first.body == second.body


class RecordedDeliveries(NoDeliveryRecords):
    """`DeliveryRecords` that keep what they were told, for checking."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[str, PendingDelivery] = {}
        self.log_entries: list[Attempt] = []

    def load(self) -> list[PendingDelivery]:
        return list(self.pending.values())

    async def schedule(self, delivery: PendingDelivery) -> bool:
        self.pending[delivery.request_id] = delivery
        return True

    async def attempted(self, attempt: Attempt, following: PendingDelivery | None) -> None:
        await super().attempted(attempt, following)
        self.log_entries.append(attempt)
        if following is None:
            del self.pending[attempt.request_id]
        else:
            self.pending[attempt.request_id] = following

    async def clear(self) -> None:
        self.pending.clear()
        await super().clear()

    def logged(self, request_id: str | None = None) -> list[Attempt]:
        return [a for a in self.log_entries if request_id is None or a.request_id == request_id]


@pytest.fixture
def records() -> RecordedDeliveries:
    return RecordedDeliveries()


def deliveries_with(records: RecordedDeliveries) -> Deliveries:
    signer = WebhookSigner(Ed25519PrivateKey.generate())
    hooks = WebhookSettings(first_delay_seconds=60.0, timeout_seconds=5.0)
    return Deliveries(hooks, signer, VirtualClock(), records)


async def async_eventually(check: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


async def stopped_while_held(
    receiver: tuple[Receiver, str], records: RecordedDeliveries, request_id: str, status: int
) -> Deliveries:
    """Start a delivery the receiver holds unanswered, stop while it is held, then let the
    receiver answer `status`: `close` must wait for that answer."""
    state, url = receiver
    path = f"/held-{status}"
    state.scripts[path] = [f"held {status}"]
    state.release.clear()
    deliveries = deliveries_with(records)
    await deliveries.start(f"{url}{path}", request_id, b"{}")

    def under_way() -> bool:
        with state.lock:
            return any(d.path == path for d in state.deliveries)

    await async_eventually(under_way)
    closing = asyncio.ensure_future(deliveries.close(grace_seconds=30.0))
    await asyncio.sleep(0)  # close has begun, the POST still unanswered
    state.release.set()
    await closing
    return deliveries


@pytest.mark.anyio
async def test_stopping_lets_a_post_under_way_finish_so_it_is_not_sent_again(
    receiver: tuple[Receiver, str], records: RecordedDeliveries
) -> None:
    deliveries = await stopped_while_held(receiver, records, "req-slow", 200)
    assert [(a.attempt, a.delivered) for a in await deliveries.attempts("req-slow")] == [(1, True)]
    assert records.pending == {}


@pytest.mark.anyio
async def test_stopping_leaves_a_waiting_retry_recorded_with_its_next_attempt(
    receiver: tuple[Receiver, str], records: RecordedDeliveries
) -> None:
    state, url = receiver
    state.scripts["/fails"] = [500]
    deliveries = deliveries_with(records)
    await deliveries.start(f"{url}/fails", "req-fails", b"{}")
    await async_eventually(lambda: records.pending["req-fails"].attempt == 2)
    await deliveries.close(grace_seconds=5.0)
    waiting = records.pending["req-fails"]
    assert (waiting.attempt, waiting.target, waiting.body) == (2, f"{url}/fails", b"{}")
    # The next start takes it up again, from the records, with the log so far.
    resumed = deliveries_with(records)
    assert [a.attempt for a in await resumed.attempts("req-fails")] == [1]
    assert resumed.resume() == 1
    await resumed.close(grace_seconds=0.0)
    assert records.pending["req-fails"].attempt == 2


@pytest.mark.anyio
async def test_a_post_under_way_that_fails_while_stopping_leaves_its_retry_recorded(
    receiver: tuple[Receiver, str], records: RecordedDeliveries
) -> None:
    deliveries = await stopped_while_held(receiver, records, "req-slow-fail", 503)
    assert [a.status_code for a in await deliveries.attempts("req-slow-fail")] == [503]
    assert records.pending["req-slow-fail"].attempt == 2


@pytest.mark.anyio
async def test_retries_are_spaced_on_fals_schedule(
    receiver: tuple[Receiver, str], records: RecordedDeliveries
) -> None:
    state, url = receiver
    state.scripts["/spaced"] = [500]
    clock = VirtualClock()
    signer = WebhookSigner(Ed25519PrivateKey.generate())
    deliveries = Deliveries(WebhookSettings(timeout_seconds=5.0), signer, clock, records)
    start = clock.now()
    await deliveries.start(f"{url}/spaced", "req-spaced", b"{}")
    await async_eventually(lambda: records.pending["req-spaced"].attempt == 2)
    assert records.pending["req-spaced"].due_at == start + 7.0
    await asyncio.sleep(0.05)  # the retry waits for the fake's clock, not for real time
    assert len(await deliveries.attempts("req-spaced")) == 1
    clock.advance(7.0)
    await async_eventually(lambda: records.pending["req-spaced"].attempt == 3)
    assert records.pending["req-spaced"].due_at == start + 7.0 + 14.0
    await deliveries.close(grace_seconds=0.0)


@pytest.mark.anyio
async def test_deliveries_ignore_the_proxy_settings_of_the_environment(
    receiver: tuple[Receiver, str], records: RecordedDeliveries, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pytest plugin points HTTPS_PROXY at the fake itself; a webhook must go straight out.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, nowhere)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    _, url = receiver
    deliveries = deliveries_with(records)
    await deliveries.start(f"{url}/direct", "req-direct", b"{}")
    await async_eventually(lambda: bool(records.logged("req-direct")))
    assert [a.delivered for a in await deliveries.attempts("req-direct")] == [True]
    await deliveries.close(grace_seconds=0.0)


@pytest.mark.anyio
async def test_the_log_without_a_request_id_holds_every_request(
    receiver: tuple[Receiver, str], records: RecordedDeliveries
) -> None:
    _, url = receiver
    deliveries = deliveries_with(records)
    for request_id in ("req-a", "req-b"):
        await deliveries.start(f"{url}/all", request_id, b"{}")
    await async_eventually(lambda: len(records.logged()) == 2)
    assert sorted(a.request_id for a in await deliveries.attempts()) == ["req-a", "req-b"]
    assert [a.request_id for a in await deliveries.attempts("req-b")] == ["req-b"]
    await deliveries.close(grace_seconds=0.0)


@pytest.mark.anyio
async def test_on_a_virtual_clock_signatures_carry_the_wall_clocks_time(
    receiver: tuple[Receiver, str], records: RecordedDeliveries
) -> None:
    # The receiver checks the timestamp against its own clock; the fake's virtual time
    # (1785000000 at start, and moved at will) would put every webhook outside fal's window.
    state, url = receiver
    signer = WebhookSigner(Ed25519PrivateKey.generate())
    deliveries = Deliveries(WebhookSettings(timeout_seconds=5.0), signer, VirtualClock(), records)
    await deliveries.start(f"{url}/wall", "req-wall", b'{"status": "OK"}')
    await async_eventually(lambda: bool(received(state, "req-wall")))
    (delivery,) = received(state, "req-wall")
    verify_webhook(delivery.headers, delivery.body, signer.jwks())  # now: this machine's clock
    await deliveries.close(grace_seconds=0.0)

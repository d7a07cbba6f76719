"""Upstream mode: a second falfake on the loopback plays fal; the fake in front forwards to it.

The upstream accepts only its own key, so every call that succeeds proves the app's key was
swapped for falfake's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import respx
from starlette.applications import Starlette

from falfake import Auth, Settings, create_app
from falfake.contracts import webhook_signatures
from falfake.http.forward import VIOLATIONS_HEADER
from falfake.runtime.tls import CertificateAuthority
from falfake.settings import Secret, Upstream
from tests.conftest import ENDPOINT, REAL_TIME, eventually, png, running_fake
from tests.loopback import receiving

pytestmark = pytest.mark.anyio

UPSTREAM_KEY = "up-id:up-secret"
APP_KEY = {"Authorization": "Key app-id:app-secret"}
FLUX = "/queue/fal-ai/flux/schnell"
LOCAL = "http://falfake.local"


@pytest.fixture(scope="module")
def upstream_url(authority: CertificateAuthority) -> Iterator[str]:
    settings = dataclasses.replace(REAL_TIME, auth=Auth(keys=frozenset({UPSTREAM_KEY})))
    with running_fake(settings, authority) as url:
        yield url


def forwarding(
    upstream: str,
    key: str = UPSTREAM_KEY,
    paid: int = 10,
    drift_report: Path | None = None,
    strict: bool = False,
) -> Settings:
    forwarded = Upstream(upstream, Secret(key), paid, drift_report, strict_contract=strict)
    return dataclasses.replace(REAL_TIME, upstream=forwarded)


@pytest.fixture
async def front(upstream_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(create_app(forwarding(upstream_url))) as client:
        yield client


def client_of(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url=LOCAL, headers=APP_KEY, timeout=30)


async def completed(client: httpx.AsyncClient, status_url: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while True:
        status: dict[str, object] = (await client.get(status_url, params={"logs": 1})).json()
        if status["status"] == "COMPLETED" or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.02)  # the upstream runs on real time: poll again, to a deadline


async def test_a_lifecycle_goes_upstream_and_every_url_comes_back_to_the_fake(
    front: httpx.AsyncClient, upstream_url: str
) -> None:
    submitted = (await front.post(FLUX, json={"prompt": "a fox", "image_size": "square"})).json()
    assert submitted["status_url"].startswith(f"{LOCAL}/queue/fal-ai/flux/requests/")
    status = await completed(front, submitted["status_url"])
    assert status["status"] == "COMPLETED"
    assert status["logs"]
    result = (await front.get(submitted["response_url"])).json()
    image_url = result["images"][0]["url"]
    assert image_url.startswith(f"{LOCAL}/files/")
    image = await front.get(image_url)
    original = httpx.get(image_url.replace(LOCAL, upstream_url))
    assert image.content == original.content
    assert image.content[:2] == b"\xff\xd8"


async def test_a_stream_is_passed_on_event_by_event(front: httpx.AsyncClient) -> None:
    response = await front.post("/run/fal-ai/any-llm/stream", json={"prompt": "hi"})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.rstrip().endswith('"partial":false}')


async def test_the_upstreams_errors_reach_the_app_as_they_are(front: httpx.AsyncClient) -> None:
    response = await front.post("/run/fal-ai/flux/schnell", json={"prompt": 5})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prompt"]


async def test_the_app_key_is_checked_here_and_the_upstream_gets_falfakes(
    upstream_url: str,
) -> None:
    async with client_of(create_app(forwarding(upstream_url, key="wrong:key"))) as client:
        refused = await client.post(FLUX, json={"prompt": "a fox"})
        client.headers.pop("Authorization")
        unkeyed = await client.post(FLUX, json={"prompt": "a fox"})
    assert refused.status_code == 401  # the upstream's answer to falfake's (wrong) key
    assert unkeyed.status_code == 401  # this fake's own check, before anything goes upstream
    assert unkeyed.json() == {"detail": "Missing authorization header"}


async def test_past_the_paid_requests_the_fake_refuses_and_spends_nothing(
    upstream_url: str,
) -> None:
    async with client_of(create_app(forwarding(upstream_url, paid=2))) as client:
        answers = [(await client.post(FLUX, json={"prompt": "a fox"})) for _ in range(3)]
        polled = await client.get(answers[0].json()["status_url"])
    assert [a.status_code for a in answers] == [200, 200, 402]
    assert answers[2].headers["x-fal-error-type"] == "falfake_paid_requests_spent"
    assert "cost nothing" in answers[2].json()["detail"]
    assert polled.status_code in (200, 202)  # polls are not paid for


async def test_an_upstream_that_is_down_is_a_502_and_the_fake_serves_on() -> None:
    async with client_of(create_app(forwarding("http://127.0.0.1:9"))) as client:
        down = await client.post(FLUX, json={"prompt": "a fox"})
        health = await client.get("/_falfake/health")
    assert down.status_code == 502
    assert down.headers["x-fal-error-type"] == "falfake_upstream_unavailable"
    assert "could not be reached" in down.json()["detail"]
    assert health.json()["status"] == "ok"


async def test_the_key_is_in_no_journal_entry_page_or_repr(
    front: httpx.AsyncClient, upstream_url: str
) -> None:
    await front.post(FLUX, json={"prompt": "a fox"})
    journal = (await front.get("/_falfake/requests")).text
    page = (await front.get("/_falfake/ui/journal")).text
    upstream_journal = httpx.get(f"{upstream_url}/_falfake/requests").text
    settings = repr(forwarding(upstream_url))
    for seen in (journal, page, upstream_journal, settings):
        assert "up-secret" not in seen


STAND_IN = "http://upstream.test"
DRIFTED_STATUS: dict[str, object] = {
    "status": "IN_QUEUE",
    "request_id": "r-1",
    "response_url": f"{STAND_IN}/queue/fal-ai/flux/requests/r-1",
    "status_url": f"{STAND_IN}/queue/fal-ai/flux/requests/r-1/status",
    "cancel_url": f"{STAND_IN}/queue/fal-ai/flux/requests/r-1/cancel",
    "logs": None,
    "metrics": {},
    "queue_position": 0,
    "queue_eta": 12,  # a field fal added to the envelope
}
DRIFTED_OUTPUT = {
    "images": [{"url": f"{STAND_IN}/files/a.jpeg", "width": 512, "height": 512}],
    "timings": {"inference": 0.1},
    "seed": "42",  # a field of the output changed type
    "has_nsfw_concepts": [False],
    "prompt": "a fox",
}


@pytest.fixture
def stand_in() -> Iterator[respx.MockRouter]:
    """An upstream that drifted from the contract: one envelope field, one output field."""
    with respx.mock(base_url=STAND_IN, assert_all_called=False) as router:
        router.post("/queue/fal-ai/flux/schnell").respond(200, json=DRIFTED_STATUS)
        router.get("/queue/fal-ai/flux/requests/r-1").respond(200, json=DRIFTED_OUTPUT)
        router.get("/queue/fal-ai/flux/requests/r-1/status").respond(
            200, json={**DRIFTED_STATUS, "status": "COMPLETED"}
        )
        yield router


async def test_a_drifted_reply_reaches_the_app_with_its_violations_named(
    stand_in: respx.MockRouter, tmp_path: Path
) -> None:
    report = tmp_path / "drift.jsonl"
    async with client_of(create_app(forwarding(STAND_IN, drift_report=report))) as client:
        submitted = await client.post(FLUX, json={"prompt": "a fox"})
        result = await client.get(submitted.json()["response_url"])
        page = (await client.get("/_falfake/ui/contract")).text
    assert "<td>POST /queue/fal-ai/flux/schnell</td><td>200</td>" in page
    assert "<li>status body: queue_eta: Extra inputs are not permitted</li>" in page
    assert submitted.headers[VIOLATIONS_HEADER] == (
        "status body: queue_eta: Extra inputs are not permitted"
    )
    assert result.headers[VIOLATIONS_HEADER].startswith("fal-ai/flux/schnell output: seed: ")
    assert submitted.json()["queue_eta"] == 12  # passed on as fal sent it
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", "/queue/fal-ai/flux/schnell", 200),
        ("GET", "/queue/fal-ai/flux/requests/r-1", 200),
    ]
    assert lines[1]["violations"][0].startswith("fal-ai/flux/schnell output: seed: ")


async def test_with_strict_contract_a_drifted_reply_is_a_502(stand_in: respx.MockRouter) -> None:
    async with client_of(create_app(forwarding(STAND_IN, strict=True))) as client:
        submitted = await client.post(FLUX, json={"prompt": "a fox"})
    assert submitted.status_code == 502
    assert submitted.headers["x-fal-error-type"] == "falfake_contract_violation"
    assert "queue_eta: Extra inputs are not permitted" in submitted.json()["detail"]


async def test_a_faithful_upstream_breaks_nothing(
    front: httpx.AsyncClient,
) -> None:
    submitted = await front.post(FLUX, json={"prompt": "a fox", "image_size": "square"})
    status = await front.get(submitted.json()["status_url"])
    early = await front.get(submitted.json()["response_url"])
    await completed(front, submitted.json()["status_url"])
    result = await front.get(submitted.json()["response_url"])
    bad = await front.post(FLUX, json={"prompt": 5})
    for reply in (submitted, status, early, result, bad):
        assert VIOLATIONS_HEADER.lower() not in reply.headers, reply.headers


def test_a_webhook_is_sent_by_the_fake_once_the_upstream_request_completes(
    upstream_url: str, authority: CertificateAuthority
) -> None:
    quick = forwarding(upstream_url)
    assert quick.upstream is not None
    quick = dataclasses.replace(
        quick, upstream=dataclasses.replace(quick.upstream, poll_seconds=0.05)
    )
    with receiving() as (receiver, hook), running_fake(quick, authority) as front:
        submitted = httpx.post(
            f"{front}{FLUX}",
            params={"fal_webhook": f"{hook}/done"},
            json={"prompt": "a fox", "image_size": "square"},
            headers=APP_KEY,
        ).json()
        eventually(lambda: len(receiver.deliveries) == 1)
        (delivery,) = receiver.deliveries
        jwks = httpx.get(f"{front}/rest/.well-known/jwks.json").json()
    assert submitted["gateway_request_id"] == submitted["request_id"]
    body = json.loads(delivery.body)
    assert (body["status"], body["request_id"]) == ("OK", submitted["request_id"])
    assert body["payload"]["images"][0]["url"].startswith(f"{front}/files/")
    webhook_signatures.check(delivery.headers, delivery.body, jwks, now=time.time())
    forwarded = httpx.get(f"{upstream_url}/_falfake/requests", params={"method": "POST"}).json()
    assert all("fal_webhook" not in entry["query"] for entry in forwarded["requests"])


async def test_a_webhook_the_fake_may_not_deliver_to_is_refused_before_going_upstream(
    front: httpx.AsyncClient,
) -> None:
    refused = await front.post(
        FLUX, params={"fal_webhook": "https://example.com/hook"}, json={"prompt": "a fox"}
    )
    assert refused.status_code == 400
    assert "needs --allow-webhook-host" in refused.json()["detail"]


async def test_an_image_uploaded_through_the_fake_reaches_the_upstream_by_its_own_url(
    front: httpx.AsyncClient, upstream_url: str
) -> None:
    token = (await front.post("/rest/storage/auth/token", json={})).json()["token"]
    uploaded = await front.post(
        "/cdn/files/upload",
        content=png(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "image/png"},
    )
    url = uploaded.json()["access_url"]
    assert url.startswith(f"{LOCAL}/files/")
    prompt = "A cat <IMAGE_REF_0>"
    await front.post(f"/queue/{ENDPOINT}", json={"prompt": prompt, "image_urls": [url]})
    forwarded = httpx.get(f"{upstream_url}/_falfake/requests", params={"path": ENDPOINT}).json()
    assert json.loads(forwarded["requests"][-1]["body"])["image_urls"] == [
        url.replace(LOCAL, upstream_url)
    ]


async def test_the_key_is_in_no_log_line(
    upstream_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = forwarding(upstream_url, drift_report=None)
    async with client_of(create_app(settings)) as client:
        submitted = (await client.post(FLUX, json={"prompt": "a fox"})).json()
        await completed(client, submitted["status_url"])
        await client.get(submitted["response_url"])
    async with client_of(create_app(forwarding("http://127.0.0.1:9"))) as client:
        await client.post(FLUX, json={"prompt": "a fox"})  # an error, logged or not
    assert caplog.records  # httpx logs every request at DEBUG and INFO
    assert "up-secret" not in caplog.text


async def test_without_an_upstream_the_contract_page_says_how_to_have_one() -> None:
    async with client_of(create_app(REAL_TIME)) as client:
        page = (await client.get("/_falfake/ui/contract")).text
    assert "start it with <code>--upstream fal</code>" in page


async def test_a_stream_the_upstream_breaks_off_ends_cut_and_the_fake_serves_on(
    stand_in: respx.MockRouter,
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        async def events() -> AsyncIterator[bytes]:
            yield b'data: {"output":"a","partial":true}\n\n'
            raise httpx.RemoteProtocolError("peer closed connection")

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=events())

    stand_in.post("/run/fal-ai/any-llm/stream").mock(side_effect=broken)
    async with client_of(create_app(forwarding(STAND_IN))) as client:
        cut = await client.post("/run/fal-ai/any-llm/stream", json={"prompt": "x"})
        health = await client.get("/_falfake/health")
    assert cut.text == 'data: {"output":"a","partial":true}\n\n'
    assert health.json()["status"] == "ok"


RUN_OUTPUT = {**DRIFTED_OUTPUT, "seed": 42}


async def test_fal_accepting_an_input_the_contract_rejects_is_drift(
    stand_in: respx.MockRouter,
) -> None:
    stand_in.post("/run/fal-ai/flux/schnell").respond(
        200, json=RUN_OUTPUT, headers={"x-fal-request-id": "r-2"}
    )
    async with client_of(create_app(forwarding(STAND_IN))) as client:
        ran = await client.post(
            "/run/fal-ai/flux/schnell", json={"prompt": "a fox", "num_inference_steps": 13}
        )
    assert ran.status_code == 200
    assert ran.headers[VIOLATIONS_HEADER] == (
        "fal accepted an input the contract rejects: num_inference_steps: Input should be less"
        " than or equal to 12"
    )


async def test_fal_refusing_an_input_the_contract_accepts_is_drift(
    stand_in: respx.MockRouter,
) -> None:
    refusal = {"detail": [{"loc": ["body", "prompt"], "msg": "Prompt too long", "type": "x"}]}
    stand_in.get("/queue/fal-ai/flux/requests/r-1").respond(422, json=refusal)
    async with client_of(create_app(forwarding(STAND_IN))) as client:
        submitted = await client.post(FLUX, json={"prompt": "a fox"})
        result = await client.get(submitted.json()["response_url"])
    assert result.status_code == 422
    assert result.headers[VIOLATIONS_HEADER] == (
        "fal rejected an input the contract accepts: Prompt too long"
    )

"""Sync run (`fal.run`): the output in the reply, after the run time, or the error at once."""

from __future__ import annotations

import dataclasses
import json
import re

import httpx
import pytest
from starlette.applications import Starlette

from falfake import ManualClock, Settings, Timing, create_app
from falfake.clock import VirtualClock
from falfake.endpoints.text import reply_text
from falfake.fake import Fake
from falfake.queue import operations
from falfake.queue.calls import Call
from falfake.runtime.tls import CertificateAuthority
from tests.conftest import BASE_URL, ENDPOINT, KEY, VALID_INPUT, running_fake

pytestmark = pytest.mark.anyio

RUN_URL = f"/run/{ENDPOINT}"


async def test_run_returns_the_output_after_the_run_time(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    before = clock.now()
    response = await http.post(RUN_URL, json=VALID_INPUT)
    assert response.status_code == 200
    assert clock.now() - before == pytest.approx(2.0)
    assert response.headers["x-fal-request-id"] == "00000000-0000-7000-8000-000000000001"
    assert response.headers["x-fal-billable-units"] == "3"
    video = response.json()["video"]
    assert re.fullmatch(rf"{BASE_URL}/files/b/[0-9a-f]{{8}}/[\w-]{{21}}_output\.mp4", video["url"])
    download = await http.get(video["url"])
    assert video["file_size"] == len(download.content)


async def test_run_is_not_visible_in_the_queue(http: httpx.AsyncClient) -> None:
    response = await http.post(RUN_URL, json=VALID_INPUT)
    request_id = response.headers["x-fal-request-id"]
    status = await http.get(f"/queue/google/gemini-omni-flash/requests/{request_id}/status")
    assert status.status_code == 404


async def test_run_validation_error_is_422_with_the_request_id(http: httpx.AsyncClient) -> None:
    response = await http.post(RUN_URL, json={**VALID_INPUT, "aspect_ratio": "4:3"})
    assert response.status_code == 422
    assert response.headers["x-fal-request-id"] == "00000000-0000-7000-8000-000000000001"
    assert response.json() == {
        "detail": [
            {
                "type": "enum",
                "loc": ["body", "aspect_ratio"],
                "msg": "Input should be '16:9' or '9:16'",
                "input": "4:3",
                "ctx": {"expected": "'16:9' or '9:16'"},
            }
        ]
    }


async def test_run_rejects_a_bad_request_timeout(http: httpx.AsyncClient) -> None:
    response = await http.post(RUN_URL, json=VALID_INPUT, headers={"X-Fal-Request-Timeout": "-1"})
    assert response.status_code == 400
    assert response.json()["error_type"] == "bad_request"


LLM_STREAM = "/run/fal-ai/any-llm/stream"


def sse_events(text: str) -> list[dict[str, object]]:
    """The events of an SSE body, checked to be only `data:` lines (no `id:`, no empty events)."""
    blocks = [block for block in text.split("\n\n") if block]
    assert all(block.startswith("data: ") and "\n" not in block for block in blocks)
    return [json.loads(block.removeprefix("data: ")) for block in blocks]


async def test_stream_answers_sse_with_the_request_id(http: httpx.AsyncClient) -> None:
    response = await http.post(LLM_STREAM, json={"prompt": "hi"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["x-fal-request-id"] == "00000000-0000-7000-8000-000000000001"
    events = sse_events(response.text)
    assert events[-1] == {"output": reply_text("hi"), "partial": False}
    assert all(event["partial"] is True for event in events[:-1])


async def test_stream_ignores_accept_as_fal_does(http: httpx.AsyncClient) -> None:
    response = await http.post(
        LLM_STREAM, json={"prompt": "hi"}, headers={"Accept": "application/json"}
    )
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"


async def test_a_media_stream_ends_with_the_output_whose_files_are_served(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(f"/run/{ENDPOINT}/stream", json=VALID_INPUT)
    events = sse_events(response.text)
    assert [sorted(event) for event in events[:-1]] == [["message", "progress"]] * 3
    video = events[-1]["video"]
    assert isinstance(video, dict)
    download = await http.get(video["url"])
    assert download.content[4:8] == b"ftyp"


async def test_stream_paces_its_events_over_the_run_time(
    app: Starlette, clock: ManualClock
) -> None:
    fake: Fake = app.state.fake
    endpoint = app.state.endpoints.endpoints["fal-ai/flux/schnell"]
    call = Call(
        body=b'{"prompt": "a fox"}', content_type="application/json", media_root="", own_roots=()
    )
    start = clock.now()
    _, events = await operations.stream(fake, endpoint, call)
    moments = [clock.now() - start async for _ in events]
    assert moments == pytest.approx([0.5, 1.0, 1.5, 2.0])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"prompt": 42}, 422, id="bad-input"),
        pytest.param(None, 422, id="no-body"),
    ],
)
async def test_bad_input_on_a_stream_is_fals_json_error_before_any_event(
    http: httpx.AsyncClient, body: object, status: int
) -> None:
    response = await http.post(LLM_STREAM, json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert "detail" in response.json()


async def test_a_stream_of_an_unknown_endpoint_is_404(http: httpx.AsyncClient) -> None:
    response = await http.post("/run/fal-ai/no-such-model/stream", json={"prompt": "x"})
    assert response.status_code == 404


async def test_a_stream_without_a_key_is_401(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post(LLM_STREAM, json={"prompt": "x"})
    assert response.status_code == 401


async def test_a_scenario_fails_a_stream_before_its_first_event(http: httpx.AsyncClient) -> None:
    await http.post("/_falfake/scenarios", json={"operation": "stream", "status": 503})
    response = await http.post(LLM_STREAM, json={"prompt": "x"})
    assert response.status_code == 503
    assert response.json() == {"detail": "Scenario error"}


def test_a_scenario_drops_a_stream_mid_way_and_the_fake_serves_on(server_url: str) -> None:
    marker = ["x-test", "drop-mid-stream"]
    scenario = {"operation": "stream", "header": marker, "drop_after_events": 2}
    httpx.post(f"{server_url}/_falfake/scenarios", json=scenario).raise_for_status()
    sent: list[bytes] = []
    client = httpx.Client(base_url=server_url, headers=KEY, timeout=30)
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream(
            "POST", LLM_STREAM, json={"prompt": "x y z w"}, headers={marker[0]: marker[1]}
        ) as response,
    ):
        sent.extend(response.iter_bytes())
    assert len(sse_events(b"".join(sent).decode())) == 2
    after = client.post(LLM_STREAM, json={"prompt": "x"})
    client.close()
    assert sse_events(after.text)[-1]["partial"] is False


async def test_a_token_stands_in_for_the_key_on_a_stream(
    http: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    token = (await http.post("/rest/tokens/", json={"allowed_apps": ["any-llm"]})).json()
    response = await anonymous.post(
        LLM_STREAM, params={"fal_jwt_token": token}, json={"prompt": "x"}
    )
    assert response.status_code == 200
    other = await anonymous.post(
        "/run/fal-ai/flux/schnell/stream", params={"fal_jwt_token": token}, json={"prompt": "x"}
    )
    assert (other.status_code, other.json()) == (401, {"detail": "Token not valid for app flux"})


async def test_an_expired_token_is_401(
    http: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: ManualClock
) -> None:
    token = (
        await http.post("/rest/tokens/", json={"allowed_apps": ["any-llm"], "token_expiration": 5})
    ).json()
    clock.advance(6)
    response = await anonymous.post(
        LLM_STREAM, params={"fal_jwt_token": token}, json={"prompt": "x"}
    )
    assert (response.status_code, response.json()) == (401, {"detail": "Token expired"})


def test_a_stream_follows_the_virtual_clock(authority: CertificateAuthority) -> None:
    # 100 s of run time: the stream ends at once when the clock is told to move, never by itself.
    slow = Settings(timing=Timing(queue_seconds=0, run_seconds=100, runners=1))
    with (
        running_fake(slow, authority, clock=VirtualClock()) as url,
        httpx.Client(base_url=url, headers=KEY, timeout=30) as client,
        client.stream("POST", LLM_STREAM, json={"prompt": "one two three"}) as response,
    ):
        lines = response.iter_lines()
        client.post("/_falfake/clock/advance", json={"seconds": 100}).raise_for_status()
        events = [json.loads(line.removeprefix("data: ")) for line in lines if line]
    assert events[-1] == {"output": reply_text("one two three"), "partial": False}


async def test_the_llm_endpoint_runs_with_its_whole_answer(http: httpx.AsyncClient) -> None:
    response = await http.post("/run/fal-ai/any-llm", json={"prompt": "Name a cat"})
    assert response.json() == {"output": reply_text("Name a cat"), "partial": False}


async def test_stream_events_sets_how_many_progress_events_come_first(
    settings: Settings, clock: ManualClock
) -> None:
    app = create_app(dataclasses.replace(settings, stream_events=1), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as client:
        response = await client.post("/run/fal-ai/flux/schnell/stream", json={"prompt": "a"})
    events = sse_events(response.text)
    assert [sorted(e) for e in events[:-1]] == [["images", "message", "progress"]]

"""The queue API over HTTP, in process: fal's paths, status codes, bodies and headers."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import re
from typing import Any

import av
import httpx
import pytest

import falfake.media.video
from falfake import ManualClock, Retention, Settings, create_app
from tests.conftest import APP, BASE_URL, ENDPOINT, KEY, SUBMIT_URL, VALID_INPUT

pytestmark = pytest.mark.anyio

FIRST_ID = "00000000-0000-7000-8000-000000000001"
QUEUE_ROOT = f"{BASE_URL}/queue/{APP}/requests"


def urls(request_id: str = FIRST_ID) -> dict[str, str]:
    base = f"{QUEUE_ROOT}/{request_id}"
    return {"response_url": base, "status_url": f"{base}/status", "cancel_url": f"{base}/cancel"}


def status_url(request_id: str = FIRST_ID, suffix: str = "/status") -> str:
    return f"/queue/{APP}/requests/{request_id}{suffix}"


async def submit(http: httpx.AsyncClient, body: object = VALID_INPUT, **kwargs: Any) -> str:
    response = await http.post(SUBMIT_URL, json=body, **kwargs)
    assert response.status_code == 200, response.text
    request_id: str = response.json()["request_id"]
    return request_id


async def test_submit_answers_in_queue_with_every_key_fal_sends(http: httpx.AsyncClient) -> None:
    response = await http.post(SUBMIT_URL, json=VALID_INPUT)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-fal-request-id"] == FIRST_ID
    assert response.json() == {
        "status": "IN_QUEUE",
        "request_id": FIRST_ID,
        **urls(),
        "logs": None,
        "metrics": {},
        "queue_position": 0,
    }
    assert list(response.json()) == [
        "status",
        "request_id",
        "response_url",
        "status_url",
        "cancel_url",
        "logs",
        "metrics",
        "queue_position",
    ]


async def test_real_request_ids_are_uuid7(app: Any) -> None:
    from falfake import create_app

    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        response = await client.post(
            SUBMIT_URL, json=VALID_INPUT, headers={"Authorization": "Key k"}
        )
    request_id = response.json()["request_id"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", request_id
    )


async def test_status_in_queue_is_202_with_position(http: httpx.AsyncClient) -> None:
    await submit(http)
    response = await http.get(status_url())
    assert response.status_code == 202
    assert response.json() == {
        "status": "IN_QUEUE",
        "request_id": FIRST_ID,
        **urls(),
        "logs": None,
        "metrics": {},
        "queue_position": 0,
    }


async def test_queue_position_counts_requests_ahead(http: httpx.AsyncClient) -> None:
    ids = [await submit(http) for _ in range(3)]
    positions = [(await http.get(status_url(i))).json()["queue_position"] for i in ids]
    assert positions == [0, 1, 2]


async def test_low_priority_header_puts_a_request_behind_normal_ones(
    http: httpx.AsyncClient,
) -> None:
    low = await submit(http, headers={"X-Fal-Queue-Priority": "low"})
    normal = await submit(http, headers={"x-fal-queue-priority": "normal"})
    assert (await http.get(status_url(low))).json()["queue_position"] == 1
    assert (await http.get(status_url(normal))).json()["queue_position"] == 0


async def test_status_in_progress_is_202_with_logs_so_far(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    await submit(http)
    clock.advance(1.0 + 0.7)  # queued 1 s, then 35% of a 2 s run
    response = await http.get(status_url(), params={"logs": "1"})
    assert response.status_code == 202
    assert response.json() == {
        "status": "IN_PROGRESS",
        "request_id": FIRST_ID,
        **urls(),
        "logs": [
            log("Validating input", "2026-07-25T17:20:01.000000"),
            log("Loading 1 reference image", "2026-07-25T17:20:01.100000"),
            log("Generating 3 s of video at 16:9", "2026-07-25T17:20:01.600000"),
        ],
        "metrics": {},
    }


def log(message: str, timestamp: str, level: str = "INFO") -> dict[str, str]:
    return {"message": message, "level": level, "source": "USER", "timestamp": timestamp}


@pytest.mark.parametrize(
    ("value", "has_logs"),
    [
        pytest.param("1", True, id="js-1"),
        pytest.param("true", True, id="python-true"),
        pytest.param("0", False, id="js-0"),
        pytest.param("false", False, id="python-false"),
        pytest.param(None, False, id="absent"),
    ],
)
async def test_logs_flag_spellings(
    http: httpx.AsyncClient, clock: ManualClock, value: str | None, has_logs: bool
) -> None:
    await submit(http)
    clock.advance(1.5)
    params = {} if value is None else {"logs": value}
    logs = (await http.get(status_url(), params=params)).json()["logs"]
    assert (logs is not None) is has_logs
    if has_logs:
        assert len(logs) == 2


async def test_logs_grow_while_running(http: httpx.AsyncClient, clock: ManualClock) -> None:
    await submit(http)
    counts = []
    for _ in range(4):
        clock.advance(0.6)
        counts.append(len((await http.get(status_url(), params={"logs": 1})).json()["logs"]))
    assert counts == sorted(counts)
    assert counts[0] < counts[-1]


async def test_completed_status_is_200_with_inference_time(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    await submit(http)
    clock.advance(3.0)
    response = await http.get(status_url())
    assert response.status_code == 200
    assert response.json() == {
        "status": "COMPLETED",
        "request_id": FIRST_ID,
        **urls(),
        "logs": None,
        "metrics": {"inference_time": 2.0},
    }


async def test_result_before_completion_is_400_with_the_queue_urls(
    http: httpx.AsyncClient,
) -> None:
    await submit(http)
    response = await http.get(status_url(suffix=""))
    assert response.status_code == 400
    assert response.json() == {
        "cancel_url": urls()["cancel_url"],
        "detail": "Request is still in progress",
        "request_id": FIRST_ID,
        "response_url": urls()["response_url"],
        "status_url": urls()["status_url"],
    }
    assert list(response.json()) == sorted(response.json())


async def test_result_is_the_video_served_by_the_fake(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    await submit(http)
    clock.advance(3.0)
    response = await http.get(status_url(suffix=""))
    assert response.status_code == 200
    assert response.headers["x-fal-request-id"] == FIRST_ID
    video = response.json()["video"]
    assert set(response.json()) == {"video"}
    assert re.fullmatch(
        rf"{BASE_URL}/files/b/[0-9a-f]{{8}}/[A-Za-z0-9_-]{{21}}_output\.mp4", video["url"]
    )
    download = await http.get(video["url"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "video/mp4"
    assert video == {
        "url": video["url"],
        "content_type": "video/mp4",
        "file_name": "output.mp4",
        "file_size": len(download.content),
    }
    assert download.content[4:8] == b"ftyp"


async def test_result_is_the_same_each_time(http: httpx.AsyncClient, clock: ManualClock) -> None:
    await submit(http)
    clock.advance(3.0)
    first = await http.get(status_url(suffix=""))
    second = await http.get(status_url(suffix=""))
    assert first.json() == second.json()


async def test_result_gets_at_once_share_one_render(
    http: httpx.AsyncClient, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders: list[object] = []
    real = falfake.media.video.render_video

    def counted(spec: Any) -> bytes:
        renders.append(spec)
        return real(spec)

    monkeypatch.setattr(falfake.media.video, "render_video", counted)
    await submit(http)
    clock.advance(3.0)
    replies = await asyncio.gather(*(http.get(status_url(suffix="")) for _ in range(4)))

    assert {reply.status_code for reply in replies} == {200}
    assert len({reply.json()["video"]["url"] for reply in replies}) == 1
    assert len(renders) == 1


async def test_invalid_input_is_accepted_then_fails_at_the_result_with_422(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    await submit(http, {"prompt": "a cat"})
    clock.advance(3.0)
    detail = [
        {
            "type": "missing",
            "loc": ["body", "image_urls"],
            "msg": "Field required",
            "input": {"prompt": "a cat"},
        }
    ]
    status = await http.get(status_url(), params={"logs": "true"})
    assert status.status_code == 200
    assert status.json() == {
        "status": "COMPLETED",
        "request_id": FIRST_ID,
        **urls(),
        "logs": [
            log("Validating input", "2026-07-25T17:20:01.000000"),
            log("Input validation failed: Field required", "2026-07-25T17:20:01.000000", "ERROR"),
        ],
        "metrics": {"inference_time": 2.0},
        "error": "Field required",
        "error_type": "missing",
    }
    result = await http.get(status_url(suffix=""))
    assert result.status_code == 422
    assert result.headers["x-fal-billable-units"] == "0"
    assert result.headers["x-fal-request-id"] == FIRST_ID
    assert result.json() == {"detail": detail}


async def test_cancel_in_queue_is_202_then_completed_with_client_cancelled(
    http: httpx.AsyncClient,
) -> None:
    await submit(http)
    response = await http.put(status_url(suffix="/cancel"))
    assert response.status_code == 202
    assert response.json() == {"status": "CANCELLATION_REQUESTED"}
    status = await http.get(status_url())
    assert status.status_code == 200
    assert status.json() == {
        "status": "COMPLETED",
        "request_id": FIRST_ID,
        **urls(),
        "logs": None,
        "metrics": {},
        "error": "Request cancelled by the client.",
        "error_type": "client_cancelled",
    }
    result = await http.get(status_url(suffix=""))
    assert result.status_code == 499
    assert result.headers["x-fal-error-type"] == "client_cancelled"
    assert result.json() == {
        "detail": "Request cancelled by the client.",
        "error_type": "client_cancelled",
    }


async def test_cancel_while_running_ends_with_499(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    await submit(http)
    clock.advance(1.5)
    assert (await http.put(status_url(suffix="/cancel"))).status_code == 202
    status = (await http.get(status_url())).json()
    assert status["status"] == "COMPLETED"
    assert status["metrics"] == {"inference_time": 0.5}
    assert (await http.get(status_url(suffix=""))).status_code == 499


async def test_a_cancelled_request_prints_no_more_logs(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    await submit(http)
    clock.advance(1.5)  # half way through its run
    assert (await http.put(status_url(suffix="/cancel"))).status_code == 202
    at_cancel = (await http.get(status_url(), params={"logs": 1})).json()["logs"]
    clock.advance(60.0)
    assert (await http.get(status_url(), params={"logs": 1})).json()["logs"] == at_cancel
    finished = await submit(http)  # the same job, not cancelled, prints more
    clock.advance(60.0)
    logs = (await http.get(status_url(finished), params={"logs": 1})).json()["logs"]
    assert len(logs) > len(at_cancel)


async def test_cancel_after_completion_is_400(http: httpx.AsyncClient, clock: ManualClock) -> None:
    await submit(http)
    clock.advance(3.0)
    response = await http.put(status_url(suffix="/cancel"))
    assert response.status_code == 400
    assert response.json() == {"detail": "Request already completed"}


async def test_unknown_request_id_is_404_everywhere(http: httpx.AsyncClient) -> None:
    for suffix in ["/status", "/status/stream", ""]:
        response = await http.get(status_url("nope", suffix))
        assert response.status_code == 404
        assert response.json() == {"detail": "Request not found"}
    cancel = await http.put(status_url("nope", "/cancel"))
    assert cancel.status_code == 404
    assert cancel.json() == {"status": "NOT_FOUND"}


async def test_full_endpoint_id_form_of_the_urls_works_too(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    await submit(http)
    full = f"/queue/{ENDPOINT}/requests/{FIRST_ID}"
    assert (await http.get(f"{full}/status")).json()["status_url"] == urls()["status_url"]
    clock.advance(3.0)
    assert (await http.get(full)).status_code == 200
    assert (await http.put(f"{full}/cancel")).status_code == 400


async def test_max_queue_length_rejects_with_429(http: httpx.AsyncClient) -> None:
    await submit(http, params={"fal_max_queue_length": "1"})
    response = await http.post(SUBMIT_URL, json=VALID_INPUT, params={"fal_max_queue_length": "1"})
    assert response.status_code == 429
    assert response.headers["x-fal-error-type"] == "rate_limited"
    assert response.json() == {"detail": "Too many requests", "error_type": "rate_limited"}


async def test_request_timeout_expiring_in_queue_gives_504_user_timeout(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    await submit(http)  # occupies the only runner
    late = await submit(http, headers={"X-Fal-Request-Timeout": "2"})
    clock.advance(2.0)
    status = await http.get(status_url(late))
    assert status.status_code == 200
    assert status.json()["error_type"] == "request_timeout"
    result = await http.get(status_url(late, ""))
    assert result.status_code == 504
    assert result.headers["x-fal-request-timeout-type"] == "user"
    assert result.headers["x-fal-error-type"] == "request_timeout"
    assert result.json() == {
        "detail": "Request timed out before it could start.",
        "error_type": "request_timeout",
    }


async def test_status_stream_sends_one_event_per_change_with_only_new_logs(
    http: httpx.AsyncClient,
) -> None:
    await submit(http)
    response = await http.get(status_url(suffix="/status/stream"), params={"logs": "1"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    statuses = [event["status"] for event in events]
    assert statuses[0] == "IN_QUEUE"
    assert statuses[-1] == "COMPLETED"
    assert statuses == sorted(statuses, key=["IN_QUEUE", "IN_PROGRESS", "COMPLETED"].index)
    messages = [entry["message"] for event in events for entry in event["logs"]]
    assert messages == [
        "Validating input",
        "Loading 1 reference image",
        "Generating 3 s of video at 16:9",
        "Encoding video",
        "Video generated",
    ]
    assert events[-1]["metrics"] == {"inference_time": pytest.approx(2.0)}


async def test_status_stream_without_logs_sends_null_logs(http: httpx.AsyncClient) -> None:
    await submit(http)
    response = await http.get(status_url(suffix="/status/stream"))
    events = parse_sse(response.text)
    assert [event["status"] for event in events] == ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    assert all(event["logs"] is None for event in events)


def parse_sse(text: str) -> list[dict[str, Any]]:
    """`data:` events of a stream; every frame must be a data line or a comment."""
    events = []
    for frame in text.split("\n\n"):
        if not frame:
            continue
        assert frame.startswith(("data: ", ":")), frame
        if frame.startswith("data: "):
            events.append(json.loads(frame.removeprefix("data: ")))
    return events


async def test_portrait_requests_get_a_portrait_video(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    await submit(http, {**VALID_INPUT, "aspect_ratio": "9:16"})
    clock.advance(3.0)
    url = (await http.get(status_url(suffix=""))).json()["video"]["url"]
    video = await http.get(url)
    with av.open(io.BytesIO(video.content), mode="r") as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (180, 320)


@pytest.mark.anyio
async def test_a_submit_when_unfinished_requests_fill_the_store_is_fals_429(
    settings: Settings, clock: ManualClock
) -> None:
    full = dataclasses.replace(settings, retention=Retention(max_requests=1))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(full, clock=clock)),
        base_url=BASE_URL,
        headers=KEY,
    ) as http:
        first = await http.post(SUBMIT_URL, json=VALID_INPUT)
        refused = await http.post(SUBMIT_URL, json=VALID_INPUT)
        clock.advance(3.0)  # the first finishes, so it can be forgotten to make room
        accepted = await http.post(SUBMIT_URL, json=VALID_INPUT)
    assert (first.status_code, accepted.status_code) == (200, 200)
    assert (refused.status_code, refused.json()) == (
        429,
        {"detail": "Too many requests", "error_type": "rate_limited"},
    )
    assert refused.headers["x-fal-error-type"] == "rate_limited"

"""Safety filters through the HTTP API: each trigger, on status, result and sync run alike."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from typing import Any

import httpx
import pytest

from falfake import ManualClock, Settings, create_app
from falfake.queue.safety import forced_stages
from falfake.settings import FLAGGED, SafetyRules
from tests.conftest import APP, BASE_URL, ENDPOINT, KEY, SUBMIT_URL, png

pytestmark = pytest.mark.anyio

URL = "https://docs.fal.ai/errors#content_policy_violation"
IMAGE = "https://example.com/cat.png"


def flagged(*loc: str | int) -> dict[str, Any]:
    return {"loc": list(loc), "msg": FLAGGED, "type": "content_policy_violation", "url": URL}


async def run_to_the_end(
    http: httpx.AsyncClient, clock: ManualClock, body: dict[str, Any], **kwargs: Any
) -> tuple[dict[str, Any], httpx.Response]:
    submitted = await http.post(SUBMIT_URL, json=body, **kwargs)
    assert submitted.status_code == 200
    clock.advance(3.0)
    base = f"/queue/{APP}/requests/{submitted.json()['request_id']}"
    status = (await http.get(f"{base}/status", params={"logs": 1})).json()
    return status, await http.get(base)


def body(prompt: str = "A cat <IMAGE_REF_0>", images: list[str] | None = None) -> dict[str, Any]:
    return {"prompt": prompt, "image_urls": images or [IMAGE], "duration": 3}


async def test_a_flagged_prompt_is_rejected_at_the_prompt(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    status, result = await run_to_the_end(
        http, clock, body("A cat falfake:UNSAFE-prompt <IMAGE_REF_0>")
    )
    assert result.status_code == 422
    assert result.headers["x-fal-billable-units"] == "0"
    assert result.json() == {"detail": [flagged("body", "prompt")]}
    assert status["error_type"] == "content_policy_violation"
    assert status["error"] == FLAGGED
    assert status["logs"][-1]["message"] == f"Input rejected: {FLAGGED}"


async def test_a_flagged_image_is_rejected_at_image_urls(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    _, result = await run_to_the_end(
        http, clock, body(images=[IMAGE, "https://example.com/falfake-unsafe-image.png"])
    )
    assert result.json() == {"detail": [flagged("body", "image_urls")]}


async def test_an_uploaded_image_is_flagged_by_its_name(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    urls = (
        await http.post(
            "/rest/storage/upload/initiate", json={"file_name": "falfake-unsafe-image.png"}
        )
    ).json()
    await http.put(urls["upload_url"], content=png())
    _, result = await run_to_the_end(http, clock, body(images=[urls["file_url"]]))
    assert result.json() == {"detail": [flagged("body", "image_urls")]}


async def test_prompt_and_image_together_give_two_entries(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    request = body("falfake:unsafe-prompt", ["https://example.com/falfake-unsafe-image.png"])
    _, result = await run_to_the_end(http, clock, request)
    assert result.json() == {"detail": [flagged("body", "prompt"), flagged("body", "image_urls")]}


async def test_a_flagged_output_runs_to_the_end_then_fails_at_body(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    submitted = await http.post(SUBMIT_URL, json=body("A cat falfake:unsafe-output"))
    base = f"/queue/{APP}/requests/{submitted.json()['request_id']}"
    clock.advance(2.0)
    assert (await http.get(f"{base}/status")).json()["status"] == "IN_PROGRESS"
    clock.advance(1.0)
    status = (await http.get(f"{base}/status", params={"logs": 1})).json()
    assert status["metrics"] == {"inference_time": 2.0}
    assert [line["message"] for line in status["logs"]][-2:] == [
        "Video generated",
        "Generated content flagged by the content checker",
    ]
    result = await http.get(base)
    assert result.status_code == 422
    assert result.json() == {"detail": [flagged("body")]}


@pytest.mark.parametrize(
    ("stages", "detail"),
    [
        ("prompt", [flagged("body", "prompt")]),
        ("image", [flagged("body", "image_urls")]),
        ("output", [flagged("body")]),
        ("prompt, IMAGE", [flagged("body", "prompt"), flagged("body", "image_urls")]),
    ],
)
async def test_a_test_can_force_each_stage_with_a_header(
    http: httpx.AsyncClient, clock: ManualClock, stages: str, detail: list[dict[str, Any]]
) -> None:
    _, result = await run_to_the_end(http, clock, body(), headers={"X-Falfake-Safety": stages})
    assert result.json() == {"detail": detail}


async def test_sync_run_answers_input_flags_at_once_and_output_flags_after_running(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    run = f"/run/{ENDPOINT}"
    start = clock.now()
    early = await http.post(run, json=body("falfake:unsafe-prompt"))
    assert early.status_code == 422
    assert clock.now() == start
    late = await http.post(run, json=body("falfake:unsafe-output"))
    assert late.status_code == 422
    assert late.json() == {"detail": [flagged("body")]}
    assert clock.now() == start + 2.0


async def test_validation_at_submit_still_runs_flagged_outputs(clock: ManualClock) -> None:
    app = create_app(Settings(validate_at="submit"), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
        assert (await http.post(SUBMIT_URL, json=body("falfake:unsafe-prompt"))).status_code == 422
        assert (await http.post(SUBMIT_URL, json=body("falfake:unsafe-output"))).status_code == 200


async def test_rules_with_hashes_and_indexed_locs(clock: ManualClock, settings: Settings) -> None:
    image = png((1, 2, 3))
    rules = SafetyRules.from_data(
        {
            "prompt_terms": ["forbidden fruit"],
            "image_sha256": [hashlib.sha256(image).hexdigest().upper()],
            "image_index": True,
            "image_message": "The images may contain likenesses of real people",
        }
    )
    app = create_app(dataclasses.replace(settings, safety=rules), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
        data = f"data:image/png;base64,{base64.b64encode(image).decode()}"
        _, result = await run_to_the_end(http, clock, body("Forbidden Fruit", [IMAGE, data]))
    assert result.json() == {
        "detail": [
            flagged("body", "prompt"),
            {
                **flagged("body", "image_urls", 1),
                "msg": "The images may contain likenesses of real people",
            },
        ]
    }


def test_forced_stages_ignore_unknown_names() -> None:
    assert forced_stages(" Output ,bogus,prompt") == frozenset({"output", "prompt"})
    assert forced_stages(None) == frozenset()

"""Sync run (`fal.run`): the output in the reply, after the run time, or the error at once."""

from __future__ import annotations

import re

import httpx
import pytest

from falfake import ManualClock
from tests.conftest import BASE_URL, ENDPOINT, VALID_INPUT

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

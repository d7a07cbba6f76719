"""Reaching the fake by fal's host names: routing by `Host`, and URLs leading back that way."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from mock_server import ManualClock
from tests.conftest import APP, ENDPOINT, KEY, VALID_INPUT

pytestmark = pytest.mark.anyio


def client(app: Starlette, base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, headers=KEY)


@pytest.mark.parametrize("host", ["queue.fal.run", "queue.falrun.com", "QUEUE.FAL.RUN:443"])
async def test_queue_host_serves_the_queue_api_at_fals_paths(
    app: Starlette, clock: ManualClock, host: str
) -> None:
    async with client(app, "https://queue.fal.run") as http:
        submitted = await http.post(f"/{ENDPOINT}", json=VALID_INPUT, headers={"Host": host})
        assert submitted.status_code == 200
        request_id = submitted.json()["request_id"]
        assert submitted.json()["status_url"] == (
            f"https://{host}/{APP}/requests/{request_id}/status"
        )
        clock.advance(3.0)
        status = await http.get(f"/{APP}/requests/{request_id}/status", headers={"Host": host})
        assert status.status_code == 200


async def test_run_host_serves_sync_run(app: Starlette) -> None:
    async with client(app, "https://fal.run") as http:
        response = await http.post(f"/{ENDPOINT}", json=VALID_INPUT)
    assert response.status_code == 200
    assert "video" in response.json()


async def test_media_links_point_at_the_public_url_when_set(clock: ManualClock) -> None:
    from mock_server import Settings, create_app

    app = create_app(Settings(public_url="http://127.0.0.1:9999/"), clock=clock)
    async with client(app, "https://fal.run") as http:
        response = await http.post(f"/{ENDPOINT}", json=VALID_INPUT)
    assert response.json()["video"]["url"].startswith("http://127.0.0.1:9999/files/b/")


async def test_other_hosts_use_the_path_prefixes(app: Starlette) -> None:
    async with client(app, "http://localhost:8000") as http:
        assert (await http.post(f"/{ENDPOINT}", json=VALID_INPUT)).status_code == 404
        response = await http.post(f"/queue/{ENDPOINT}", json=VALID_INPUT)
    assert response.json()["response_url"].startswith(f"http://localhost:8000/queue/{APP}/")

"""Reaching the fake by fal's host names: routing by `Host`, and URLs leading back that way."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from falfake import ManualClock
from falfake.hosts import _split, _split_cached, split_url, unreachable_from_fal
from tests.conftest import APP, BASE_URL, ENDPOINT, KEY, VALID_INPUT

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
    from falfake import Settings, create_app

    app = create_app(Settings(public_url="http://127.0.0.1:9999/"), clock=clock)
    async with client(app, "https://fal.run") as http:
        response = await http.post(f"/{ENDPOINT}", json=VALID_INPUT)
    assert response.json()["video"]["url"].startswith("http://127.0.0.1:9999/files/b/")


async def test_other_hosts_use_the_path_prefixes(app: Starlette) -> None:
    async with client(app, "http://localhost:8000") as http:
        assert (await http.post(f"/{ENDPOINT}", json=VALID_INPUT)).status_code == 404
        response = await http.post(f"/queue/{ENDPOINT}", json=VALID_INPUT)
    assert response.json()["response_url"].startswith(f"http://localhost:8000/queue/{APP}/")


async def proxied(
    http: httpx.AsyncClient, method: str, target: str, **kwargs: Any
) -> httpx.Response:
    headers = {"x-fal-target-url": target, **kwargs.pop("headers", {})}
    return await http.request(method, "/fal/proxy", headers=headers, **kwargs)


async def test_js_proxy_dispatches_on_the_target_url_and_keeps_fals_origin(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    submitted = await proxied(http, "POST", f"https://queue.fal.run/{ENDPOINT}", json=VALID_INPUT)
    assert submitted.status_code == 200
    status_url = submitted.json()["status_url"]
    assert status_url.startswith(f"https://queue.fal.run/{APP}/requests/")
    clock.advance(3.0)
    status = await proxied(http, "GET", f"{status_url}?logs=1")
    assert status.status_code == 200
    assert status.json()["logs"][0]["message"] == "Validating input"
    result = await proxied(http, "GET", submitted.json()["response_url"])
    assert result.json()["video"]["url"].startswith(f"{BASE_URL}/files/b/")


async def test_js_proxy_streams_status_events(http: httpx.AsyncClient) -> None:
    submitted = await proxied(http, "POST", f"https://queue.fal.run/{ENDPOINT}", json=VALID_INPUT)
    stream = await proxied(http, "GET", submitted.json()["status_url"] + "/stream")
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.text.count("data: ") == 3


async def test_js_proxy_adds_a_key_like_fals_server_proxy(anonymous: httpx.AsyncClient) -> None:
    response = await proxied(anonymous, "POST", f"https://fal.run/{ENDPOINT}", json=VALID_INPUT)
    assert response.status_code == 200


async def test_js_proxy_upload_urls_point_straight_at_the_fake(http: httpx.AsyncClient) -> None:
    target = "https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3"
    response = await proxied(http, "POST", target, json={"file_name": "a.png"})
    assert response.json()["upload_url"].startswith(f"{BASE_URL}/uploads/")


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(None, id="missing"),
        pytest.param("https://example.com/x", id="foreign-host"),
        pytest.param("http://queue.fal.run/x", id="plain-http"),
        pytest.param("https://queue.fal.run:8443/x", id="other-port"),
        pytest.param("https://queue.fal.run:99999/x", id="bad-port"),
        pytest.param("https://queue.fal.run.evil.com/x", id="lookalike"),
        pytest.param("not a url", id="garbage"),
        pytest.param("https://[::1/x", id="unclosed-bracket"),
        pytest.param("https://[queue.fal.run]/x", id="bad-ip-literal"),
    ],
)
async def test_js_proxy_refuses_targets_that_are_not_fal(
    http: httpx.AsyncClient, target: str | None
) -> None:
    headers = {} if target is None else {"x-fal-target-url": target}
    response = await http.post("/fal/proxy", headers=headers, json=VALID_INPUT)
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid request", "error_type": "bad_request"}


async def test_cdn_token_names_the_cdn_host_when_reached_through_rest_fal_ai(
    app: Starlette,
) -> None:
    async with client(app, "https://rest.fal.ai") as http:
        response = await http.post("/storage/auth/token", json={})
    assert response.json()["base_url"] == "https://v3.fal.media"


@pytest.mark.parametrize(
    ("host", "unreachable"),
    [
        ("example.com", False),
        ("8.8.8.8", False),
        ("[2606:4700::1111]", False),
        ("127.0.0.2", True),
        ("172.16.0.1", True),
        ("100.64.0.1", True),
        ("[fe80::1]", True),
        ("LOCALHOST", True),
        ("nas.home.arpa", True),
        ("intranet", True),
    ],
)
def test_which_hosts_fals_servers_could_not_reach(host: str, unreachable: bool) -> None:
    assert unreachable_from_fal(host) is unreachable


@pytest.mark.parametrize(
    "url",
    ["https://example.com/cat.png", "https://EXAMPLE.com:8443/a?b#c", "https://[::1/x", "x:99999"],
)
def test_a_url_reads_the_same_the_second_time(url: str) -> None:
    assert split_url(url) == split_url(url) == _split(url)


def test_long_urls_are_read_but_not_kept() -> None:
    """Callers choose the URLs, so only short ones are remembered: a few MiB at most."""
    kept = _split_cached.cache_info().currsize
    for n in range(3):
        split = split_url(f"https://example.com/{n}/{'x' * 5000}")
        assert split is not None
        assert split[1] == "example.com"
    assert _split_cached.cache_info().currsize == kept

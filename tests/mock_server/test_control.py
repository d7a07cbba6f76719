"""The control API under /_falfake/: scenarios, journal, clock, reset, and its own OpenAPI."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from falfake import ManualClock, Settings, create_app
from falfake.clock import VirtualClock
from falfake.runtime.server import Server, bind
from falfake.runtime.tls import CertificateAuthority
from falfake.settings import Auth
from tests.conftest import APP, BASE_URL, KEY, REAL_TIME, REPLICA, SUBMIT_URL, VALID_INPUT

pytestmark = pytest.mark.anyio


async def test_scenarios_are_added_listed_and_removed(http: httpx.AsyncClient) -> None:
    added = await http.post("/_falfake/scenarios", json={"operation": "run", "status": 503})
    assert added.status_code == 201
    scenario_id = added.json()["id"]
    listed = (await http.get("/_falfake/scenarios")).json()["scenarios"]
    assert [(s["id"], s["status"], s["matched"]) for s in listed] == [(scenario_id, 503, 0)]
    run = await http.post(f"/run/{APP}/reference-to-video", json=VALID_INPUT)
    assert run.status_code == 503
    assert (await http.delete(f"/_falfake/scenarios/{scenario_id}")).status_code == 204
    assert (await http.delete(f"/_falfake/scenarios/{scenario_id}")).status_code == 404
    assert (await http.delete("/_falfake/scenarios/not-a-number")).status_code == 404
    await http.post("/_falfake/scenarios", json={"status": 500})
    assert (await http.delete("/_falfake/scenarios")).status_code == 204
    assert (await http.get("/_falfake/scenarios")).json() == {"scenarios": []}


async def test_a_scenario_for_one_endpoint_leaves_the_others_alone(
    http: httpx.AsyncClient,
) -> None:
    scenario = {"endpoint": "fal-ai/flux/dev", "operation": "submit", "status": 429}
    assert (await http.post("/_falfake/scenarios", json=scenario)).status_code == 201
    flux = {"prompt": "a cube"}
    assert (await http.post("/queue/fal-ai/flux/dev", json=flux)).status_code == 429
    assert (await http.post("/queue/fal-ai/flux/schnell", json=flux)).status_code == 200
    assert (await http.post(SUBMIT_URL, json=VALID_INPUT)).status_code == 200
    # An id that merely starts like it is another endpoint: fal's unknown-app 404, not the 429.
    assert (await http.post("/queue/fal-ai/flux/dev-lora", json=flux)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"operation": "teleport"},
        {"status": "many"},
        [],
        {"content_policy": ["soul"]},
        {"status": 99},
        {"latency": -1},
        {"retry_after": 100_000},
        {"times": -1},
        {"run_seconds": 1e12},
        {"status": 500, "error_type": ""},
        {"status": 500, "error_type": "two words"},
        {"status": 500, "error_type": "café"},
        {"status": 500, "error_type": "line\nbreak"},
    ],
)
async def test_a_bad_scenario_is_a_422(http: httpx.AsyncClient, body: object) -> None:
    response = await http.post("/_falfake/scenarios", json=body)
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_a_misspelt_field_is_a_422_naming_it(http: httpx.AsyncClient) -> None:
    body = {"endpoint": "fal-ai/flux/dev", "statsu": 503}
    response = await http.post("/_falfake/scenarios", json=body)
    assert response.status_code == 422
    (entry,) = response.json()["detail"]
    assert entry["loc"] == ["body", "statsu"]
    assert (await http.get("/_falfake/scenarios")).json() == {"scenarios": []}
    typo = await http.post("/_falfake/clock/run-until", json={"request_id": "r", "statuss": "x"})
    assert typo.status_code == 422


async def test_control_bodies_are_json_whatever_their_content_type(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    """What `curl -X POST URL -d '{"seconds": 5}'` sends: a form's content type."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    moved = await http.post("/_falfake/clock/advance", content=b'{"seconds": 5}', headers=form)
    assert moved.json() == {"now": clock.now()}
    added = await http.post("/_falfake/scenarios", content=b'{"status": 503}', headers=form)
    assert added.status_code == 201
    not_json = await http.post("/_falfake/clock/advance", content=b"seconds=5", headers=form)
    assert not_json.status_code == 422


async def test_a_used_up_scenario_says_so_and_stops_counting(http: httpx.AsyncClient) -> None:
    scenario = {"operation": "submit", "status": 429, "times": 2}
    scenario_id = (await http.post("/_falfake/scenarios", json=scenario)).json()["id"]
    statuses = [(await http.post(SUBMIT_URL, json=VALID_INPUT)).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    (listed,) = (await http.get("/_falfake/scenarios")).json()["scenarios"]
    assert (listed["id"], listed["matched"], listed["used_up"]) == (scenario_id, 2, True)


async def test_a_scenario_sets_the_output_and_the_fake_serves_its_file(
    http: httpx.AsyncClient, clock: ManualClock, tmp_path: Path
) -> None:
    golden = tmp_path / "golden.mp4"
    golden.write_bytes(b"golden bytes")
    scenario = {"operation": "submit", "output_fields": {"video": {"$file": str(golden)}}}
    added = await http.post("/_falfake/scenarios", json=scenario)
    assert added.status_code == 201
    shown = {"$bytes": "<12 bytes>", "file_name": "golden.mp4"}
    assert added.json()["output_fields"] == {"video": shown}
    request_id = (await http.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    clock.advance(60)
    video = (await http.get(f"/queue/{APP}/requests/{request_id}")).json()["video"]
    assert (video["file_name"], video["content_type"], video["file_size"]) == (
        "golden.mp4",
        "video/mp4",
        12,
    )
    served = await http.get(video["url"])
    assert (served.content, served.headers["content-type"]) == (b"golden bytes", "video/mp4")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            b'{"output_fields": {"video": {"$bytes": "AA==", "content_type": "a/b\\r\\nX: 1"}}}',
            "content_type must be 1 to 255 printable ASCII",
            id="header-splitting-type",
        ),
        pytest.param(
            '{"output_fields": {"video": {"$bytes": "AA==", "content_type": "\u00e9/a"}}}'.encode(),
            "content_type must be 1 to 255 printable ASCII",
            id="non-ascii-type",
        ),
        pytest.param(
            b'{"output_fields": {"video": {"$bytes": "AA==", "file_name": 5}}}',
            "file_name must be a string",
            id="file-name-not-a-string",
        ),
        pytest.param(
            b'{"output_fields": {"v": {"$bytes": "AA==", "content_type": "a/'
            + b"b" * 254
            + b'"}}}',
            "content_type must be 1 to 255 printable ASCII",
            id="type-past-255",
        ),
        pytest.param(b'{"output_fields": {"seed": 1e400}}', "seed: inf", id="infinite-output"),
        pytest.param(
            b'{"output": {"v": {"$bytes": "AA==", "note": 1e400}}}',
            "output.v.note: inf",
            id="infinite-beside-a-file",
        ),
        pytest.param(b'{"input": {"seed": 1e400}}', "input.seed: inf", id="infinite-input"),
        pytest.param(b'{"status": 500, "detail": [1e400]}', "detail[0]: inf", id="infinite-detail"),
    ],
)
async def test_what_no_reply_could_carry_is_a_422(
    http: httpx.AsyncClient, body: bytes, message: str
) -> None:
    """A file's type is sent as its Content-Type; every other value is read back as JSON."""
    response = await http.post("/_falfake/scenarios", content=body)
    assert response.status_code == 422
    assert message in response.text
    assert (await http.get("/_falfake/scenarios")).json() == {"scenarios": []}


async def test_a_stubbed_log_line_or_file_name_with_a_lone_surrogate_is_served_everywhere(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    body = b'{"logs": ["\\ud800 step"], "output_fields": {"video": {"$bytes": "AA==",'
    body += b' "file_name": "\\udfff.mp4"}}}'
    assert (await http.post("/_falfake/scenarios", content=body)).status_code == 201
    request_id = (await http.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    clock.advance(60)
    result = await http.get(f"/queue/{APP}/requests/{request_id}")
    assert result.status_code == 200
    assert (await http.get(result.json()["video"]["url"])).content == b"\x00"
    status = await http.get(f"/queue/{APP}/requests/{request_id}/status", params={"logs": 1})
    assert [line["message"] for line in status.json()["logs"]] == ["\ud800 step"]
    page = await http.get(f"/_falfake/ui/requests/{request_id}")
    assert page.status_code == 200
    assert "\\ud800 step" in page.text


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ({"video": {"$file": "/no/such/golden.mp4"}}, "cannot read /no/such/golden.mp4"),
        ({"video": {"$bytes": "not base64!"}}, "output_fields.video: $bytes must be base64"),
        ({"video": {"$bytes": 12}}, "output_fields.video: $bytes must be base64"),
    ],
)
async def test_a_given_file_that_cannot_be_had_is_a_422(
    http: httpx.AsyncClient, output: dict[str, object], message: str
) -> None:
    response = await http.post("/_falfake/scenarios", json={"output_fields": output})
    assert response.status_code == 422
    assert message in response.text
    assert (await http.post(SUBMIT_URL, json=VALID_INPUT)).status_code == 200


async def test_an_error_type_no_header_can_carry_is_refused_and_the_fake_keeps_serving(
    http: httpx.AsyncClient,
) -> None:
    """A lone surrogate, as a JSON body may spell it, would have made every matched request a
    500 when it was written into X-Fal-Error-Type."""
    body = b'{"status": 500, "error_type": "\\udfff"}'
    response = await http.post("/_falfake/scenarios", content=body)
    assert response.status_code == 422
    assert "error_type" in response.text
    assert (await http.post(SUBMIT_URL, json=VALID_INPUT)).status_code == 200


async def test_the_journal_records_filters_counts_and_clears(http: httpx.AsyncClient) -> None:
    await http.post(SUBMIT_URL, json=VALID_INPUT, headers={"X-Custom": "1"})
    await http.get("/nowhere")
    (entry,) = (await http.get("/_falfake/requests", params={"method": "post"})).json()["requests"]
    assert entry["path"] == SUBMIT_URL
    assert entry["status"] == 200
    assert entry["headers"]["x-custom"] == "1"
    assert "authorization" not in entry["headers"]
    assert '"prompt"' in entry["body"]
    count = await http.get("/_falfake/requests/count", params={"path": "nowhere"})
    assert count.json() == {"count": 1}
    assert (await http.delete("/_falfake/requests")).status_code == 204
    assert (await http.get("/_falfake/requests/count")).json() == {"count": 0}


async def test_the_clock_advances_and_runs_until_a_status(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    start = (await http.get("/_falfake/clock")).json()["now"]
    assert start == clock.now()
    request_id = (await http.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    moved = await http.post("/_falfake/clock/advance", json={"seconds": 0.5})
    assert moved.json() == {"now": start + 0.5}
    reached = await http.post("/_falfake/clock/run-until", json={"request_id": request_id})
    assert reached.json()["status"] == "COMPLETED"
    assert clock.now() == start + 3.0
    unknown = await http.post("/_falfake/clock/run-until", json={"request_id": "nope"})
    assert unknown.status_code == 404
    bad = await http.post("/_falfake/clock/advance", json={"seconds": -1})
    assert bad.status_code == 422


async def test_a_real_clock_cannot_be_moved() -> None:
    transport = httpx.ASGITransport(app=create_app(Settings()))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        response = await http.post("/_falfake/clock/advance", json={"seconds": 1})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "The clock is real time; start the fake with --clock virtual."
    }


async def test_reset_forgets_everything(http: httpx.AsyncClient) -> None:
    request_id = (await http.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    await http.post("/_falfake/scenarios", json={"status": 500})
    assert (await http.post("/_falfake/reset")).status_code == 204
    assert (await http.get(f"/queue/{APP}/requests/{request_id}/status")).status_code == 404
    assert (await http.get("/_falfake/scenarios")).json() == {"scenarios": []}


async def test_the_control_api_has_its_own_openapi(http: httpx.AsyncClient, app: Any) -> None:
    document = (await http.get("/_falfake/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    # Every control route is described, and nothing else.
    routes = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route)
        and route.path.startswith("/_falfake/")
        and not route.path.startswith(("/_falfake/ui", "/_falfake/openapi.json"))
        for method in route.methods or ()
        if method != "HEAD"
    }
    described = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert described == routes
    run_until = document["paths"]["/_falfake/clock/run-until"]["post"]
    assert run_until["summary"].startswith("Move a virtual clock until `request_id`")
    assert set(run_until["requestBody"]["content"]["application/json"]["schema"]["properties"]) == {
        "request_id",
        "status",
    }
    removal = document["paths"]["/_falfake/scenarios/{scenario_id}"]["delete"]
    assert set(removal["responses"]) == {"204", "404"}
    fal_paths = (await http.get("/openapi.json")).json()["paths"]
    assert not any(path.startswith("/_falfake") for path in fal_paths)


@pytest.fixture
def virtual_server(authority: CertificateAuthority) -> Iterator[tuple[str, VirtualClock]]:
    clock = VirtualClock()
    settings = dataclasses.replace(REAL_TIME)
    sock = bind("127.0.0.1", 0)
    app = create_app(settings, clock=clock)
    server = Server(app, authority.server_context, log_level="warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", clock
    server.should_exit = True
    thread.join(timeout=5)


def test_on_a_virtual_clock_time_moves_only_when_told(
    virtual_server: tuple[str, VirtualClock],
) -> None:
    url, _ = virtual_server
    with httpx.Client(base_url=url, headers=KEY, timeout=10) as http:
        request_id = http.post(SUBMIT_URL, json=VALID_INPUT).json()["request_id"]
        status_url = f"/queue/{APP}/requests/{request_id}/status"
        time.sleep(0.6)  # real time passes; the fake's does not
        assert http.get(status_url).json()["status"] == "IN_QUEUE"
        http.post("/_falfake/clock/advance", json={"seconds": 0.2})
        assert http.get(status_url).json()["status"] == "IN_PROGRESS"
        reached = http.post("/_falfake/clock/run-until", json={"request_id": request_id})
        assert reached.json()["status"] == "COMPLETED"
        with pytest.raises(httpx.ReadTimeout):  # a sync run waits for the clock too
            http.post(
                f"/run/{APP}/reference-to-video",
                json=VALID_INPUT,
                timeout=httpx.Timeout(10, read=0.3),
            )


async def test_health_is_ok_while_the_storage_answers(http: httpx.AsyncClient) -> None:
    response = await http.get("/_falfake/health", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "storage": "memory", "replica": REPLICA}


async def test_health_is_a_503_with_the_reason_when_the_data_directory_breaks(
    tmp_path: Path,
) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"), clock=ManualClock())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        health = await client.get("/_falfake/health")
        assert health.json() == {"status": "ok", "storage": "sqlite", "replica": REPLICA}
        (tmp_path / "data" / "files").rename(tmp_path / "moved")
        broken = await client.get("/_falfake/health")
        assert broken.status_code == 503
        assert broken.json()["status"] == "unavailable"
        assert "files folder" in broken.json()["detail"]
        await app.state.fake.close()  # the database closed under it
        closed = await client.get("/_falfake/health")
        assert "cannot be read" in closed.json()["detail"]


async def test_the_root_says_what_this_is_and_where_the_rest_is(http: httpx.AsyncClient) -> None:
    body = (await http.get("/")).json()
    assert body["service"] == "falfake"
    assert body["dashboard"] == f"{BASE_URL}/_falfake/ui/"
    assert body["health"] == f"{BASE_URL}/_falfake/health"
    assert "fal-ai/flux/dev" in body["endpoints"]
    assert (await http.get(body["dashboard"])).status_code == 200
    assert (await http.get(body["openapi"])).status_code == 200


@pytest.fixture
async def on_a_network(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A fake as `--host 0.0.0.0 --key team:secret` starts one."""
    auth = Auth(keys=frozenset({"team:secret"}), control_keys_only=True)
    app = create_app(dataclasses.replace(settings, auth=auth), clock=ManualClock())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.mark.parametrize(
    "path", ["/_falfake/ui/", "/_falfake/requests", "/_falfake/scenarios", "/_falfake/clock"]
)
async def test_on_a_network_the_dashboard_and_control_api_want_a_key(
    on_a_network: httpx.AsyncClient, path: str
) -> None:
    refused = await on_a_network.get(path)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Basic realm="falfake"'  # a browser asks
    wrong = await on_a_network.get(path, auth=("team", "guess"))
    assert wrong.status_code == 401
    assert (await on_a_network.get(path, auth=("team", "secret"))).status_code == 200
    keyed = await on_a_network.get(path, headers={"Authorization": "Key team:secret"})
    assert keyed.status_code == 200


async def test_on_a_network_the_api_wants_a_key_and_health_stays_open(
    on_a_network: httpx.AsyncClient,
) -> None:
    anyone = await on_a_network.post(
        SUBMIT_URL, json=VALID_INPUT, headers={"Authorization": "Key x:y"}
    )
    assert anyone.status_code == 401
    assert (await on_a_network.post("/_falfake/reset")).status_code == 401
    assert (await on_a_network.get("/_falfake/health")).status_code == 200

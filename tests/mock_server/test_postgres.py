"""`--database`: replicas on one PostgreSQL are one fake (tests/postgres.py makes the cluster)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import http.server
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from falfake.app import create_app
from falfake.clock import ManualClock, VirtualClock
from falfake.errors import BadRequest, NotFound, PayloadTooLarge, RequestNotFound, Unauthorized
from falfake.harness.scenarios import Scenario
from falfake.queue.models import Job, LogLine
from falfake.queue.requests import InProcess, Requests
from falfake.queue.store import NewRequest, RequestStore
from falfake.runtime.postgres.engine import LEASE_MARGIN_SECONDS, DatabaseError, Postgres
from falfake.runtime.postgres.requests import PostgresRequests
from falfake.runtime.postgres.scenarios import PostgresScenarios
from falfake.runtime.postgres.schema import MIGRATIONS, SCHEMA_VERSION
from falfake.runtime.tls import CertificateAuthority
from falfake.settings import Retention, Settings, Timing, WebhookSettings
from falfake.validation import Priority
from falfake.webhooks.delivery import PendingDelivery
from tests.conftest import APP, KEY, SUBMIT_URL, VALID_INPUT, png, running_fake
from tests.postgres import Cluster, cluster

pytestmark = pytest.mark.anyio
REQUESTS = f"/queue/{APP}/requests"


@pytest.fixture
def database(pg: Cluster) -> str:
    return pg.database()


def shared(url: str, runners: int = 1, rate_limit: float | None = None) -> Settings:
    return Settings(
        timing=Timing(queue_seconds=1.0, run_seconds=2.0, runners=runners),
        rate_limit=rate_limit,
        video_width=64,
        video_height=36,
        database_url=url,
    )


def replica(url: str, clock: ManualClock, runners: int = 1) -> Starlette:
    return create_app(shared(url, runners), clock=clock)


def client_of(app: Starlette) -> httpx.AsyncClient:
    """A client of one replica, in this process, with fal's key."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://f", headers=KEY
    )


@pytest.fixture
async def two(
    database: str, clock: ManualClock
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two replicas of one fake on one database, on one clock (as on one machine's)."""
    apps = [replica(database, clock), replica(database, clock)]
    clients = [client_of(app) for app in apps]
    yield clients[0], clients[1]
    for client, app in zip(clients, apps, strict=True):
        await client.aclose()
        await app.state.fake.close()


async def test_a_request_submitted_on_one_replica_is_followed_on_the_other(
    two: tuple[httpx.AsyncClient, httpx.AsyncClient], clock: ManualClock
) -> None:
    first, second = two
    request_id = (await first.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    queued = (await second.get(f"{REQUESTS}/{request_id}/status")).json()
    assert (queued["status"], queued["queue_position"]) == ("IN_QUEUE", 0)
    clock.advance(1.5)
    running = await second.get(f"{REQUESTS}/{request_id}/status", params={"logs": "1"})
    assert running.json()["status"] == "IN_PROGRESS"
    clock.advance(2.0)
    done = (await first.get(f"{REQUESTS}/{request_id}/status", params={"logs": "1"})).json()
    assert done["status"] == "COMPLETED"
    assert done["logs"]
    result = (await second.get(f"{REQUESTS}/{request_id}")).json()
    video = result["video"]["url"].split("/files/", 1)[1]
    served = await first.get(f"/files/{video}")  # rendered by the second, served by the first
    assert served.status_code == 200
    assert len(served.content) == result["video"]["file_size"]


async def test_queue_positions_and_runners_are_the_fleets(
    two: tuple[httpx.AsyncClient, httpx.AsyncClient], clock: ManualClock
) -> None:
    first, second = two
    ids = []
    for client in (first, second, first):
        ids.append((await client.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"])
    clock.advance(1.0)  # one runner: the first starts, the others wait their turn
    seen = [(await second.get(f"{REQUESTS}/{rid}/status")).json() for rid in ids]
    assert [(s["status"], s.get("queue_position")) for s in seen] == [
        ("IN_PROGRESS", None),
        ("IN_QUEUE", 0),
        ("IN_QUEUE", 1),
    ]


async def test_a_cancel_on_one_replica_is_seen_on_the_other(
    two: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    first, second = two
    request_id = (await first.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    assert (await second.put(f"{REQUESTS}/{request_id}/cancel")).status_code == 202
    status = (await first.get(f"{REQUESTS}/{request_id}/status")).json()
    assert status["status"] == "COMPLETED"
    assert (await first.get(f"{REQUESTS}/{request_id}")).status_code == 499
    again = await first.put(f"{REQUESTS}/{request_id}/cancel")
    assert again.status_code == 400  # already COMPLETED, whichever replica cancelled


async def test_an_unknown_request_is_a_404_on_every_replica(
    two: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    first, _ = two
    unknown = await first.get(f"{REQUESTS}/00000000-0000-7000-8000-000000000000/status")
    assert unknown.status_code == 404
    cancel = await first.put(f"{REQUESTS}/00000000-0000-7000-8000-000000000000/cancel")
    assert cancel.status_code == 404


async def test_an_upload_begun_on_one_replica_completes_on_the_other(
    two: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    first, second = two
    token = await first.post("/rest/storage/auth/token", params={"storage_type": "fal-cdn-v3"})
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    begun = await second.post(
        "/cdn/files/upload/multipart?file_name=cat.png",
        headers=bearer | {"Content-Type": "image/png"},
    )
    assert begun.status_code == 200, begun.text
    path = begun.json()["access_url"].split("/files/", 1)[1]
    upload = f"/files/{path}/multipart/{begun.json()['uploadId']}"
    data = png()
    part = await first.put(f"{upload}/1", headers=bearer, content=data)
    done = await second.post(
        f"{upload}/complete",
        headers=bearer,
        json={"parts": [{"partNumber": 1, "etag": part.headers["etag"]}]},
    )
    assert done.status_code == 200, done.text
    assert (await first.get(f"/files/{path}")).content == data


async def test_reset_on_one_replica_forgets_for_all(
    two: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    first, second = two
    request_id = (await first.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    assert (await second.post("/_falfake/reset")).status_code == 204
    assert (await first.get(f"{REQUESTS}/{request_id}/status")).status_code == 404


async def test_each_finished_webhook_is_taken_by_one_replica(
    database: str, clock: ManualClock
) -> None:
    apps = [replica(database, clock, runners=8) for _ in range(2)]
    stores: list[Requests] = [app.state.fake.store for app in apps]
    ids = []
    async with client_of(apps[0]) as client:
        for _ in range(6):
            submitted = await client.post(
                SUBMIT_URL, json=VALID_INPUT, params={"fal_webhook": "http://127.0.0.1:9/h"}
            )
            ids.append(submitted.json()["request_id"])
    clock.advance(10.0)
    taken = await asyncio.gather(*(store.take_webhooks() for store in stores))
    got = [request.request_id for batch in taken for _, request in batch]
    assert sorted(got) == sorted(ids)  # every one, once
    assert [await store.take_webhooks() for store in stores] == [[], []]  # leased
    for app in apps:
        await app.state.fake.close()


async def test_a_database_from_another_schema_is_refused(database: str) -> None:
    Postgres(database)  # makes the schema
    connection = await asyncpg.connect(database)
    await connection.execute("UPDATE falfake_meta SET value = '999' WHERE key = 'schema'")
    await connection.close()
    with pytest.raises(DatabaseError, match=f"schema 999; this falfake uses {SCHEMA_VERSION}"):
        Postgres(database)


async def test_an_older_schema_is_migrated_forward_once(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    Postgres(database)
    connection = await asyncpg.connect(database)
    await connection.execute("UPDATE falfake_meta SET value = 'old' WHERE key = 'schema'")
    step = "CREATE TABLE migrated_once (n int); INSERT INTO migrated_once VALUES (1)"
    monkeypatch.setitem(MIGRATIONS, "old", (SCHEMA_VERSION, step))
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: Postgres(database), range(3)))
    assert await connection.fetchval("SELECT count(*) FROM migrated_once") == 1
    assert await connection.fetchval("SELECT value FROM falfake_meta WHERE key = 'schema'") == (
        SCHEMA_VERSION
    )
    await connection.close()


async def test_a_schema_1_database_gains_the_journals_event_column(database: str) -> None:
    Postgres(database)
    connection = await asyncpg.connect(database)
    await connection.execute("ALTER TABLE falfake_journal DROP COLUMN reply")
    await connection.execute("UPDATE falfake_meta SET value = '1' WHERE key = 'schema'")
    await connection.execute(
        "INSERT INTO falfake_journal (at, method, path, query, headers, body, duration_ms)"
        " VALUES (1, 'GET', 'p', '', '', '', 1)"
    )
    Postgres(database)
    assert await connection.fetchval("SELECT reply FROM falfake_journal") == b""
    await connection.close()


def test_replicas_starting_together_make_the_schema_once_and_share_one_key(database: str) -> None:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        engines = list(pool.map(lambda _: Postgres(database), range(4)))
    assert len({engine.signing_key() for engine in engines}) == 1


def test_an_unreachable_database_is_a_clear_error_at_start(pg: Cluster) -> None:
    with pytest.raises(DatabaseError, match="cannot reach PostgreSQL"):
        Postgres("postgresql://postgres@127.0.0.1:1/nothing")


# The same operations at the same times give the same histories on two replicas sharing
# PostgreSQL as in one process's memory.
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("submit"), st.sampled_from(list(Priority)), st.sampled_from([None, 0.5, 3.0])
        ),
        st.tuples(st.just("advance"), st.sampled_from([0.1, 0.5, 1.0, 2.5])),
        st.tuples(st.just("cancel"), st.integers(0, 7)),
    ),
    max_size=16,
)


@hypothesis_settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
# A normal request overtakes a low one queued before it; a start deadline falls as a runner frees.
@example(
    steps=[
        ("submit", Priority.NORMAL, None),
        ("submit", Priority.LOW, None),
        ("submit", Priority.NORMAL, None),
        ("advance", 2.5),
        ("advance", 2.5),
    ]
)
@example(
    steps=[
        ("submit", Priority.NORMAL, None),
        ("submit", Priority.NORMAL, 1.5),
        ("advance", 1.0),
        ("cancel", 0),
        ("advance", 0.5),
        ("advance", 2.5),
    ]
)
def test_histories_across_replicas_match_the_in_process_store(pg: Cluster, steps: list) -> None:  # type: ignore[type-arg]
    asyncio.run(_compare(pg.database(), steps))


async def _compare(url: str, steps: list) -> None:  # type: ignore[type-arg]
    clock = ManualClock()
    timing, retention = Timing(0.5, 1.0, 1), Retention()
    memory = InProcess(RequestStore(timing, retention, clock.now))
    # Two replicas, each with its engine and cache: each step goes to one of them in turn.
    engines = [Postgres(url), Postgres(url)]
    replicas = [PostgresRequests(e.database, timing, retention, clock.now) for e in engines]
    job = Job(logs=(LogLine(0.5, "half"),), outcome=RequestNotFound())
    ids: list[str] = []
    try:
        for turn, step in enumerate(steps):
            shared = replicas[turn % 2]
            if step[0] == "submit":
                request_id = f"r{len(ids)}"
                ids.append(request_id)
                for store in (memory, shared):
                    await store.submit(
                        NewRequest(
                            request_id, APP, APP, job, "p", priority=step[1], start_timeout=step[2]
                        )
                    )
            elif step[0] == "advance":
                clock.advance(step[1])
            elif ids:
                target = ids[step[1] % len(ids)]
                outcomes = []
                for store in (memory, shared):
                    try:
                        await store.cancel(APP, target)
                        outcomes.append("ok")
                    except Exception as exc:
                        outcomes.append(type(exc).__name__)
                assert outcomes[0] == outcomes[1]
            assert await memory.next_event_time() == await shared.next_event_time()
            for request_id in ids:
                mine, theirs = (
                    await memory.status(APP, request_id),
                    await shared.status(APP, request_id),
                )
                assert (
                    mine.request.status,
                    mine.queue_position,
                    mine.request.started_at,
                    mine.request.completed_at,
                    type(mine.request.failure),
                ) == (
                    theirs.request.status,
                    theirs.queue_position,
                    theirs.request.started_at,
                    theirs.request.completed_at,
                    type(theirs.request.failure),
                ), request_id
    finally:
        for engine in engines:
            await engine.close()


async def test_a_database_that_goes_away_is_a_503_and_comes_back_by_itself(
    clock: ManualClock,
) -> None:
    with cluster() as own:
        app = replica(own.database(), clock)
        async with client_of(app) as client:
            request_id = (await client.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
            own.stop()
            down = await client.get(f"{REQUESTS}/{request_id}/status")
            assert down.status_code == 503
            assert down.headers["retry-after"] == "1"
            assert "database is unavailable" in down.json()["detail"]
            assert (await client.post(SUBMIT_URL, json=VALID_INPUT)).status_code == 503
            health = await client.get("/_falfake/health")
            assert (health.status_code, health.json()["storage"]) == (503, "postgresql")
            own.start()
            back = await client.get(f"{REQUESTS}/{request_id}/status")
            assert back.status_code == 202, back.text  # the acknowledged request is still there
            assert (await client.get("/_falfake/health")).status_code == 200
        await app.state.fake.close()


class Hooks:
    """A webhook receiver on a loopback port: the bodies it got, and an event per arrival."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.arrived = threading.Event()
        hooks = self

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hooks.received.append((self.headers["X-Fal-Webhook-Request-Id"], body))
                self.send_response(200)
                self.end_headers()
                hooks.arrived.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    made = Hooks()
    threading.Thread(target=made.server.serve_forever, daemon=True).start()
    yield made
    made.server.shutdown()
    made.server.server_close()


def test_webhooks_are_still_sent_after_the_database_was_away(
    clock: ManualClock, authority: CertificateAuthority, hooks: Hooks
) -> None:
    with (
        cluster() as own,
        running_fake(shared(own.database()), authority, clock=clock) as url,  # its watcher runs
        httpx.Client(base_url=url, headers=KEY) as client,
    ):
        own.stop()
        assert client.get("/_falfake/health").status_code == 503
        own.start()
        client.post(SUBMIT_URL, json=VALID_INPUT, params={"fal_webhook": hooks.url})
        clock.advance(10.0)
        assert hooks.arrived.wait(30), "the webhook watcher stopped while the database was away"
    assert len(hooks.received) == 1


async def test_a_delivery_left_by_a_stopped_replica_is_adopted_after_its_lease(
    database: str, clock: ManualClock, hooks: Hooks
) -> None:
    engines = [Postgres(database), Postgres(database)]
    stopped, other = (engine.stores(shared(database), clock).deliveries for engine in engines)
    running, reader = replica(database, clock), replica(database, clock)
    left = PendingDelivery(
        "req-left", hooks.url, b'{"status": "OK"}', attempt=2, due_at=clock.now()
    )
    assert await stopped.schedule(left)  # and then that replica was killed
    assert not await other.schedule(left)  # the same webhook taken twice is made once
    assert await running.state.fake.deliveries.adopt() == 0  # its lease still runs
    clock.advance(WebhookSettings().timeout_seconds + LEASE_MARGIN_SECONDS)
    assert await running.state.fake.deliveries.adopt() == 1
    assert await asyncio.to_thread(hooks.arrived.wait, 30)
    assert hooks.received == [("req-left", b'{"status": "OK"}')]
    # The log, whichever replica reads it: the attempt was made again under its number.
    async with client_of(reader) as client:
        logged = await eventually_logged(client, "req-left")
    assert [(a["attempt"], a["delivered"]) for a in logged] == [(2, True)]
    for app in (running, reader):
        await app.state.fake.deliveries.close(0.0)
        await app.state.fake.close()
    for engine in engines:
        await engine.close()


async def eventually_logged(client: httpx.AsyncClient, request_id: str) -> list[dict[str, Any]]:
    """The log once the attempt is in it (it is written right after the POST is answered)."""
    for _ in range(300):
        attempts = (
            await client.get("/_falfake/webhooks", params={"request_id": request_id})
        ).json()["attempts"]
        if attempts:
            return list(attempts)
        await asyncio.sleep(0.01)
    raise AssertionError(f"no attempt for {request_id} was logged")


async def answered(client: httpx.AsyncClient, path: str, status: int) -> None:
    """Until `path` answers `status` (a replica reads a changed scenario list on NOTIFY)."""
    for _ in range(500):
        if (await client.get(path)).status_code == status:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never answered {status}")


async def test_a_scenario_added_through_one_replica_applies_on_the_others(
    two: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    first, second = two
    request_id = (await first.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    status = f"{REQUESTS}/{request_id}/status"
    assert (await second.get(status)).status_code == 202  # it listens from its first request
    added = await first.post("/_falfake/scenarios", json={"operation": "status", "status": 503})
    assert added.status_code == 201
    await answered(second, status, 503)
    listed = (await second.get("/_falfake/scenarios")).json()["scenarios"]
    assert [(s["id"], s["matched"] >= 1) for s in listed] == [(added.json()["id"], True)]
    assert (await second.delete("/_falfake/scenarios")).status_code == 204
    await answered(first, status, 202)


class SlowList:
    """The scenario table read by a replica, each read held until `release`d."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.reads = 0
        self.release = asyncio.Event()

    async def fetch(self, query: str) -> list[dict[str, Any]]:
        self.reads += 1
        rows = list(self.rows)  # what the read sees is what was there when it began
        await self.release.wait()
        return rows


async def test_a_change_told_while_the_list_is_being_read_is_read_after_it() -> None:
    table = SlowList()
    scenarios = PostgresScenarios.__new__(PostgresScenarios)
    # No database: the table above stands for it.
    scenarios._db, scenarios._active = table, []  # type: ignore[assignment]
    scenarios._reading, scenarios._stale = None, False
    scenarios._changed()  # (re)connected: read the list
    await asyncio.sleep(0)
    table.rows = [{"id": 1, "scenario": json.dumps({"operation": "status", "status": 503})}]
    scenarios._changed()  # added elsewhere while that read is under way
    table.release.set()
    assert scenarios._reading is not None
    await scenarios._reading
    assert table.reads == 2
    assert [scenario_id for scenario_id, _ in scenarios._active] == [1]


async def test_a_scenario_for_one_call_fires_once_in_the_fleet(
    database: str, clock: ManualClock
) -> None:
    first_app = replica(database, clock)
    async with client_of(first_app) as first:
        scenario = {"operation": "submit", "status": 500, "times": 1, "after": 2}
        assert (await first.post("/_falfake/scenarios", json=scenario)).status_code == 201
        second_app = replica(database, clock)  # it reads the list as it starts
        async with client_of(second_app) as second:
            replies = await asyncio.gather(
                *(client.post(SUBMIT_URL, json=VALID_INPUT) for client in [first, second] * 4)
            )
            assert sorted(r.status_code for r in replies) == [200] * 7 + [500]
            (listed,) = (await second.get("/_falfake/scenarios")).json()["scenarios"]
            assert (listed["matched"], listed["used_up"]) == (3, True)
        await second_app.state.fake.close()
    await first_app.state.fake.close()


async def test_scenarios_from_one_file_are_added_once_for_replicas_started_with_it(
    database: str, clock: ManualClock
) -> None:
    apps = [replica(database, clock) for _ in range(2)]
    loaded = [Scenario(operation="run", status=502)]
    for app in apps:
        app.state.fake.scenarios.preload(loaded, "digest-of-the-file")
    assert len(await apps[1].state.fake.scenarios.listed()) == 1
    for app in apps:
        await app.state.fake.close()


async def test_the_journal_lists_every_replicas_requests_in_the_order_they_came(
    two: tuple[httpx.AsyncClient, httpx.AsyncClient], clock: ManualClock
) -> None:
    first, second = two
    request_id = (await first.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    clock.advance(0.1)
    await second.get(f"{REQUESTS}/{request_id}/status")
    for _ in range(500):  # the first writes its journal behind, within 0.1 s
        journal = (await second.get("/_falfake/requests")).json()["requests"]
        if len(journal) == 2:
            break
        await asyncio.sleep(0.01)
    assert [(e["method"], e["request_id"]) for e in journal] == [
        ("POST", request_id),
        ("GET", request_id),
    ]
    assert "authorization" not in journal[0]["headers"]  # secrets stay out, as in memory
    page = (await first.get(f"/_falfake/ui/requests/{request_id}")).text
    assert page.count(f"/requests/{request_id}/status") >= 1  # the other replica's poll
    assert (await first.delete("/_falfake/requests")).status_code == 204
    assert (await second.get("/_falfake/requests/count")).json() == {"count": 0}


async def test_a_token_from_one_replica_opens_a_stream_on_another_whose_events_are_journaled(
    two: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    first, second = two
    token = (await first.post("/rest/tokens/", json={"allowed_apps": ["any-llm"]})).json()
    streamed = await second.post(
        "/run/fal-ai/any-llm/stream",
        params={"fal_jwt_token": token},
        json={"prompt": "x"},
        headers={"Authorization": ""},
    )
    assert streamed.status_code == 200
    for _ in range(500):  # the second writes its journal behind, within 0.1 s
        journal = (await first.get("/_falfake/requests", params={"path": "/stream"})).json()
        if journal["requests"]:
            break
        await asyncio.sleep(0.01)
    (entry,) = journal["requests"]
    assert entry["reply"] == streamed.text


async def test_a_rate_limit_is_the_fleets_per_key(database: str, clock: ManualClock) -> None:
    apps = [create_app(shared(database, rate_limit=2.0), clock=clock) for _ in range(2)]
    clients = [client_of(app) for app in apps]
    codes = [(await c.post(SUBMIT_URL, json=VALID_INPUT)).status_code for c in clients]
    limited = await clients[0].post(SUBMIT_URL, json=VALID_INPUT)
    assert (codes, limited.status_code, limited.headers["retry-after"]) == ([200, 200], 429, "1")
    other_key = {"Authorization": "Key other:key"}
    assert (
        await clients[1].post(SUBMIT_URL, json=VALID_INPUT, headers=other_key)
    ).status_code == 200
    clock.advance(0.5)  # one token back, for the fleet
    assert (await clients[1].post(SUBMIT_URL, json=VALID_INPUT)).status_code == 200
    assert (await clients[0].post(SUBMIT_URL, json=VALID_INPUT)).status_code == 429
    assert (await clients[0].post("/_falfake/reset")).status_code == 204
    assert (await clients[1].post(SUBMIT_URL, json=VALID_INPUT)).status_code == 200
    for client, app in zip(clients, apps, strict=True):
        await client.aclose()
        await app.state.fake.close()


async def test_files_on_postgresql_are_bounded_and_expire_as_in_memory(
    database: str, clock: ManualClock
) -> None:
    engine = Postgres(database)
    retention = Retention(max_files=2, max_file_bytes=10, file_ttl_seconds=60.0)
    settings = dataclasses.replace(shared(database), retention=retention)
    files = engine.stores(settings, clock).files
    with pytest.raises(PayloadTooLarge):
        await files.put("huge", b"x" * 11, "text/plain")
    for name in ("a", "b", "c"):
        await files.put(name, name.encode(), "text/plain")
    assert [e.path for e in await files.newest(10)] == ["c", "b"]  # the oldest went
    await files.put("d", b"12345678", "text/plain")  # 10 bytes in all: only c stays beside it
    assert ([e.path for e in await files.newest(10)], await files.total_bytes()) == (
        ["d", "c"],
        9,
    )
    clock.advance(61.0)
    with pytest.raises(NotFound):
        await files.read("d")
    await files.put("e", b"e", "text/plain")  # the put sweeps what expired
    assert (await files.total_bytes(), await files.entry("c")) == (1, None)
    await files.reset()
    assert await files.newest(10) == []
    await engine.close()


async def test_uploads_on_postgresql_refuse_what_uploads_in_memory_refuse(
    database: str, clock: ManualClock
) -> None:
    engine = Postgres(database)
    settings = dataclasses.replace(shared(database), max_upload_bytes=4)
    uploads = engine.stores(settings, clock).uploads
    for header in (None, "Bearer nope", "Basic x"):
        with pytest.raises(Unauthorized):
            await uploads.check_token(header)
    upload_id = await uploads.expect("b/x/f.bin", "application/octet-stream")
    with pytest.raises(PayloadTooLarge):
        await uploads.add_part(upload_id, 1, b"12345")
    tag = await uploads.add_part(upload_id, 1, b"12")
    with pytest.raises(BadRequest, match="never uploaded"):
        await uploads.complete(upload_id, [(1, tag), (2, tag)])
    with pytest.raises(BadRequest, match="ETag"):
        await uploads.complete(upload_id, [(1, "0" * 32)])
    await uploads.reset()
    with pytest.raises(NotFound):
        await uploads.pending(upload_id)
    await engine.close()


async def test_the_dashboard_of_any_replica_lists_every_request(
    two: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    first, second = two
    request_id = (await first.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    listed = (await second.get("/_falfake/ui/")).text
    assert request_id in listed
    done = await second.get("/_falfake/ui/", params={"status": "COMPLETED"})
    assert request_id not in done.text
    added = (await first.post("/_falfake/scenarios", json={"operation": "run"})).json()
    assert (await second.delete(f"/_falfake/scenarios/{added['id']}")).status_code == 204
    assert (await first.get("/_falfake/scenarios")).json() == {"scenarios": []}


HOSTILE = [
    ("GET", f"{REQUESTS}/%00/status", b""),
    ("GET", f"{REQUESTS}/%ED%A0%80/status", b""),
    ("GET", f"{REQUESTS}/%00", b""),
    ("PUT", f"{REQUESTS}/%00/cancel", b""),
    ("GET", "/files/b/%00x", b""),
    ("GET", "/files/b/%ED%A0%80", b""),
    ("PUT", "/uploads/%00", b"x"),
    ("GET", "/_falfake/ui/requests/%00", b""),
    ("GET", "/_falfake/requests?path=%00&method=%00", b""),
    ("POST", "/rest/storage/upload/initiate", b'{"file_name": "a\\ud800\\u0000.png"}'),
    ("POST", f"{SUBMIT_URL}?fal_webhook=http://127.0.0.1:9/%00", json.dumps(VALID_INPUT).encode()),
]


async def test_hostile_values_get_the_answers_they_get_in_memory(
    database: str, clock: ManualClock
) -> None:
    """PostgreSQL's text holds no NUL and no lone surrogate: such a value names nothing stored,
    and what a client sends whole (a webhook URL, a path in the journal) is kept whole."""
    memory_app = create_app(dataclasses.replace(shared(database), database_url=None), clock=clock)
    shared_app = replica(database, clock)
    async with client_of(memory_app) as memory, client_of(shared_app) as fleet:
        for method, path, body in HOSTILE:
            expected = await memory.request(method, path, content=body)
            got = await fleet.request(method, path, content=body)
            assert (got.status_code, path) == (expected.status_code, path)
            assert got.status_code < 500
        journal = (await fleet.get("/_falfake/requests")).json()["requests"]
    assert {entry["path"] for entry in journal} >= {f"{REQUESTS}/\x00/status", "/files/b/\x00x"}
    await shared_app.state.fake.close()


async def test_the_virtual_clock_is_one_clock_for_the_fleet(database: str) -> None:
    apps = [create_app(shared(database), clock=VirtualClock()) for _ in range(2)]
    async with client_of(apps[0]) as first, client_of(apps[1]) as second:
        request_id = (await first.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
        start = (await second.get("/_falfake/clock")).json()["now"]
        moved = await second.post("/_falfake/clock/advance", json={"seconds": 1.5})
        assert moved.json() == {"now": start + 1.5}
        assert (await first.get("/_falfake/clock")).json() == {"now": start + 1.5}
        running = (await first.get(f"{REQUESTS}/{request_id}/status")).json()
        assert running["status"] == "IN_PROGRESS"  # it started at 1 s, on the fleet's time
        done = await first.post("/_falfake/clock/run-until", json={"request_id": request_id})
        assert done.json()["status"] == "COMPLETED"
        assert (await second.get("/_falfake/clock")).json() == {"now": start + 3.0}
        # A replica that starts later takes the fleet's time, not its own start.
        late = create_app(shared(database), clock=VirtualClock())
        assert late.state.fake.clock.now() == start + 3.0
    for app in [*apps, late]:
        await app.state.fake.close()

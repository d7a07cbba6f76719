"""`--data-dir`: after a restart every kind of state is back, and time stood still while down."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from falfake import ManualClock, Settings, create_app
from falfake.runtime.data_dir import DataDir, DataDirError
from falfake.webhooks.delivery import Attempt, PendingDelivery
from tests.conftest import APP, BASE_URL, KEY, SUBMIT_URL, VALID_INPUT, png

pytestmark = pytest.mark.anyio

START = 1_785_000_000.0
DOWNTIME = 100.0  # seconds of wall time between a stop and the next start


@pytest.fixture
def data_settings(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(settings, data_dir=tmp_path / "data")


class Restarts:
    """Starts the fake on one data directory, each start stopping the one before."""

    def __init__(self, settings: Settings, request_ids: Callable[[], str]) -> None:
        self.settings = settings
        self.request_ids = request_ids
        self.app: Starlette | None = None

    def start(self, clock: ManualClock) -> Starlette:
        self.stop()
        self.app = create_app(self.settings, clock=clock, new_request_id=self.request_ids)
        return self.app

    def stop(self) -> None:
        if self.app is not None:
            storage = self.app.state.fake.storage
            assert isinstance(storage, DataDir)
            storage.release()  # sync: the tests restart inside their event loop
            self.app = None


@pytest.fixture
def restarts(data_settings: Settings, request_ids: Callable[[], str]) -> Iterator[Restarts]:
    restarts = Restarts(data_settings, request_ids)
    yield restarts
    restarts.stop()


@pytest.fixture
async def first(restarts: Restarts, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """The fake before the restart, on the test's clock."""
    async with client_of(restarts.start(clock)) as client:
        yield client


def client_of(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=KEY)


def restart(restarts: Restarts, wall: ManualClock) -> tuple[httpx.AsyncClient, ManualClock]:
    """Stop the fake and start it again on the same directory, with `wall` as its clock."""
    return client_of(restarts.start(wall)), wall


async def submit(http: httpx.AsyncClient, body: dict[str, Any] = VALID_INPUT) -> str:
    response = await http.post(SUBMIT_URL, json=body)
    assert response.status_code == 200, response.text
    request_id: str = response.json()["request_id"]
    return request_id


async def status(http: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    response = await http.get(f"/queue/{APP}/requests/{request_id}/status", params={"logs": 1})
    assert response.status_code in (200, 202), response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_queued_request_stays_queued_and_waits_only_what_it_had_left(
    first: httpx.AsyncClient, clock: ManualClock, restarts: Restarts
) -> None:
    request_id = await submit(first)
    clock.advance(0.4)  # of the 1 s queue time
    await status(first, request_id)
    http, clock = restart(restarts, ManualClock(clock.now() + DOWNTIME))
    async with http:
        assert (await status(http, request_id))["status"] == "IN_QUEUE"
        assert (await status(http, request_id))["queue_position"] == 0
        clock.advance(0.599)
        assert (await status(http, request_id))["status"] == "IN_QUEUE"
        clock.advance(0.001)
        assert (await status(http, request_id))["status"] == "IN_PROGRESS"


async def test_downtimes_of_successive_restarts_add_up(
    first: httpx.AsyncClient, clock: ManualClock, restarts: Restarts
) -> None:
    request_id = await submit(first)
    clock.advance(0.4)
    await status(first, request_id)
    for downtime in (DOWNTIME, 2 * DOWNTIME, 3 * DOWNTIME):
        http, clock = restart(restarts, ManualClock(clock.now() + downtime))
        async with http:
            assert (await status(http, request_id))["status"] == "IN_QUEUE"
    async with client_of(restarts.app) as http:  # type: ignore[arg-type]
        clock.advance(0.599)
        assert (await status(http, request_id))["status"] == "IN_QUEUE"
        clock.advance(0.001)
        assert (await status(http, request_id))["status"] == "IN_PROGRESS"


async def test_a_running_request_finishes_with_its_output_after_the_restart(
    first: httpx.AsyncClient, clock: ManualClock, restarts: Restarts
) -> None:
    request_id = await submit(first)
    clock.advance(1.5)  # running for 0.5 s of its 2 s
    assert (await status(first, request_id))["status"] == "IN_PROGRESS"
    http, clock = restart(restarts, ManualClock(clock.now() + DOWNTIME))
    async with http:
        assert (await status(http, request_id))["status"] == "IN_PROGRESS"
        clock.advance(1.5)
        done = await status(http, request_id)
        assert done["status"] == "COMPLETED"
        assert done["metrics"] == {"inference_time": pytest.approx(2.0)}
        result = await http.get(f"/queue/{APP}/requests/{request_id}")
        assert result.status_code == 200
        video = await http.get(result.json()["video"]["url"])
        assert video.content[4:8] == b"ftyp"


async def test_results_and_their_files_remain(
    first: httpx.AsyncClient, clock: ManualClock, restarts: Restarts
) -> None:
    request_id = await submit(first)
    clock.advance(3.0)
    before = (await first.get(f"/queue/{APP}/requests/{request_id}")).json()
    video_before = (await first.get(before["video"]["url"])).content
    http, _ = restart(restarts, ManualClock(clock.now() + DOWNTIME))
    async with http:
        assert (await status(http, request_id))["status"] == "COMPLETED"
        assert (await http.get(f"/queue/{APP}/requests/{request_id}")).json() == before
        assert (await http.get(before["video"]["url"])).content == video_before


async def test_failed_and_cancelled_requests_keep_their_errors(
    first: httpx.AsyncClient, clock: ManualClock, restarts: Restarts
) -> None:
    invalid = await submit(first, {"prompt": "", "image_urls": []})
    cancelled = await submit(first)
    assert (await first.put(f"/queue/{APP}/requests/{cancelled}/cancel")).status_code == 202
    clock.advance(3.0)
    results = [await first.get(f"/queue/{APP}/requests/{i}") for i in (invalid, cancelled)]
    http, _ = restart(restarts, ManualClock(clock.now() + DOWNTIME))
    async with http:
        for request_id, before in zip((invalid, cancelled), results, strict=True):
            after = await http.get(f"/queue/{APP}/requests/{request_id}")
            assert (after.status_code, after.json()) == (before.status_code, before.json())
            assert after.headers.get("x-fal-error-type") == before.headers.get("x-fal-error-type")
        assert [r.status_code for r in results] == [422, 499]


async def test_a_request_with_an_uploaded_reference_image_renders_the_same_after_the_restart(
    first: httpx.AsyncClient, clock: ManualClock, restarts: Restarts
) -> None:
    image = f"data:image/png;base64,{base64.b64encode(png((10, 200, 30))).decode()}"
    request_id = await submit(first, {**VALID_INPUT, "image_urls": [image]})
    http, clock = restart(restarts, ManualClock(clock.now() + DOWNTIME))
    async with http:
        clock.advance(3.0)
        result = (await http.get(f"/queue/{APP}/requests/{request_id}")).json()
        after = (await http.get(result["video"]["url"])).content
    # The same request rendered by a fake that never stopped: equal specs give equal bytes.
    memory_clock = ManualClock()
    in_memory = create_app(
        dataclasses.replace(restarts.settings, data_dir=None),
        clock=memory_clock,
        new_request_id=lambda: request_id,
    )
    async with client_of(in_memory) as memory:
        await submit(memory, {**VALID_INPUT, "image_urls": [image]})
        memory_clock.advance(4.0)
        result = (await memory.get(f"/queue/{APP}/requests/{request_id}")).json()
        assert (await memory.get(result["video"]["url"])).content == after


async def test_uploaded_files_and_cdn_tokens_remain(
    first: httpx.AsyncClient, clock: ManualClock, restarts: Restarts
) -> None:
    initiated = await first.post(
        "/rest/storage/upload/initiate", json={"file_name": "cat.png", "content_type": "image/png"}
    )
    await first.put(initiated.json()["upload_url"], content=png())
    token = (await first.post("/rest/storage/auth/token")).json()["token"]
    http, _ = restart(restarts, ManualClock(clock.now() + 60.0))
    async with http:
        served = await http.get(initiated.json()["file_url"])
        assert (served.status_code, served.content) == (200, png())
        assert served.headers["content-type"] == "image/png"
        uploaded = await http.post(
            "/cdn/files/upload", content=b"abc", headers={"Authorization": f"Bearer {token}"}
        )
        assert uploaded.status_code == 200
        # And the file works as a reference image of a new request.
        request_id = await submit(
            http, {**VALID_INPUT, "image_urls": [initiated.json()["file_url"]]}
        )
        assert (await status(http, request_id))["status"] == "IN_QUEUE"


async def test_a_multipart_upload_begun_before_the_restart_completes_after_it(
    first: httpx.AsyncClient, clock: ManualClock, restarts: Restarts
) -> None:
    initiated = await first.post("/rest/storage/upload/initiate-multipart", json={})
    upload_url = initiated.json()["upload_url"]
    one = (await first.put(f"{upload_url}/1", content=b"first-")).json()
    http, _ = restart(restarts, ManualClock(clock.now() + 1.0))
    async with http:
        two = (await http.put(f"{upload_url}/2", content=b"second")).json()
        done = await http.post(f"{upload_url}/complete", json={"parts": [one, two]})
        assert done.status_code == 200
        assert (await http.get(initiated.json()["file_url"])).content == b"first-second"


async def test_a_finished_webhook_not_yet_handed_out_is_handed_out_after_the_restart(
    first: httpx.AsyncClient, clock: ManualClock, restarts: Restarts
) -> None:
    response = await first.post(
        SUBMIT_URL, json=VALID_INPUT, params={"fal_webhook": "http://127.0.0.1:9/hook"}
    )
    request_id = response.json()["request_id"]
    clock.advance(3.0)
    await status(first, request_id)
    restarts.start(ManualClock(clock.now() + 1.0))
    assert restarts.app is not None
    store = restarts.app.state.fake.store
    due = await store.take_webhooks()
    assert [(target, r.request_id) for target, r in due] == [
        ("http://127.0.0.1:9/hook", request_id)
    ]
    await store.webhook_started(request_id)
    restarts.start(ManualClock(clock.now() + 2.0))
    assert await restarts.app.state.fake.store.take_webhooks() == []


async def test_reset_empties_the_data_directory_too(
    first: httpx.AsyncClient, clock: ManualClock, restarts: Restarts, data_settings: Settings
) -> None:
    request_id = await submit(first)
    token = (await first.post("/rest/storage/auth/token")).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await first.post("/cdn/files/upload", content=b"abc", headers=bearer)).is_success
    assert data_settings.data_dir is not None
    assert list((data_settings.data_dir / "files").glob("*/*"))
    assert (await first.post("/_falfake/reset")).status_code == 204
    assert list((data_settings.data_dir / "files").glob("*")) == []
    http, _ = restart(restarts, ManualClock(clock.now() + 1.0))
    async with http:
        response = await http.get(f"/queue/{APP}/requests/{request_id}/status")
        assert response.status_code == 404


async def test_expiry_goes_on_across_restarts_and_deletes_what_it_drops(
    restarts: Restarts, data_settings: Settings, clock: ManualClock
) -> None:
    restarts.settings = dataclasses.replace(
        data_settings,
        retention=dataclasses.replace(
            data_settings.retention, request_ttl_seconds=10.0, file_ttl_seconds=20.0
        ),
    )
    async with client_of(restarts.start(clock)) as http:
        image = f"data:image/png;base64,{base64.b64encode(png()).decode()}"
        request_id = await submit(http, {**VALID_INPUT, "image_urls": [image]})
        clock.advance(3.0)
        video_url = (await http.get(f"/queue/{APP}/requests/{request_id}")).json()["video"]["url"]
    data_dir = data_settings.data_dir
    assert data_dir is not None
    blobs = list((data_dir / "files").glob("*/*"))
    assert len(blobs) == 1
    http, later = restart(restarts, ManualClock(clock.now()))
    async with http:
        later.advance(10.0)
        assert (await http.get(f"/queue/{APP}/requests/{request_id}/status")).status_code == 404
        assert (await http.get(video_url)).status_code == 200
        later.advance(10.0)
        assert (await http.get(video_url)).status_code == 404
    assert list((data_dir / "files").glob("*/*")) == []


def test_one_data_directory_serves_one_fake_at_a_time(tmp_path: Path) -> None:
    first = DataDir(tmp_path)
    try:
        with pytest.raises(DataDirError, match="in use by another falfake process"):
            DataDir(tmp_path)
    finally:
        first.release()
    DataDir(tmp_path).release()


def test_a_data_directory_from_another_schema_is_refused(tmp_path: Path) -> None:
    DataDir(tmp_path).release()
    with contextlib.closing(sqlite3.connect(tmp_path / "falfake.sqlite3")) as db, db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")  # an earlier falfake's
    with pytest.raises(
        DataDirError, match=r"has schema 1, this falfake writes 2\. Start with an empty"
    ):
        DataDir(tmp_path)


def test_a_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a directory")
    with pytest.raises(DataDirError, match=r"Cannot use .* as a data directory"):
        DataDir(tmp_path / "taken")


def test_a_database_that_is_not_ours_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "falfake.sqlite3").write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(DataDirError, match="is not a falfake database"):
        DataDir(tmp_path)
    assert (tmp_path / "falfake.sqlite3").read_bytes() == b"this is not SQLite" * 100
    with (tmp_path / "lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the failed open let go of its lock


def test_the_command_line_says_why_it_cannot_use_a_busy_directory(tmp_path: Path) -> None:
    held = DataDir(tmp_path)
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "falfake",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(tmp_path),
                "--ca-dir",
                str(tmp_path / "ca"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        held.release()
    assert done.returncode == 2
    assert "is in use by another falfake process" in done.stderr


async def test_equal_files_are_stored_once_and_outlive_each_other(
    restarts: Restarts, data_settings: Settings, clock: ManualClock
) -> None:
    retention = dataclasses.replace(data_settings.retention, file_ttl_seconds=10.0)
    restarts.settings = dataclasses.replace(data_settings, retention=retention)
    async with client_of(restarts.start(clock)) as http:
        token = (await http.post("/rest/storage/auth/token")).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        urls = []
        for _ in range(2):
            uploaded = await http.post("/cdn/files/upload", content=b"same", headers=bearer)
            urls.append(uploaded.json()["access_url"])
            clock.advance(6.0)
        assert data_settings.data_dir is not None
        assert len(list((data_settings.data_dir / "files").glob("*/*"))) == 1
        # The first has expired; the second still has the bytes they share.
        assert (await http.get(urls[0])).status_code == 404
        assert (await http.get(urls[1])).content == b"same"


async def test_a_file_whose_bytes_vanished_from_disk_is_404(
    first: httpx.AsyncClient, data_settings: Settings
) -> None:
    token = (await first.post("/rest/storage/auth/token")).json()["token"]
    uploaded = await first.post(
        "/cdn/files/upload", content=b"doomed", headers={"Authorization": f"Bearer {token}"}
    )
    assert data_settings.data_dir is not None
    for blob in (data_settings.data_dir / "files").glob("*/*"):
        blob.unlink()
    gone = await first.get(uploaded.json()["access_url"])
    assert (gone.status_code, gone.json()) == (404, {"detail": "File not found"})


async def test_the_delivery_log_keeps_the_latest_attempts(tmp_path: Path) -> None:
    data = DataDir(tmp_path, attempts_kept=5)
    for n in range(1, 1001):
        attempt = Attempt(f"r{n}", "http://127.0.0.1:1/", 1, "t", 200, None, 1.0, True)
        await data.deliveries.attempted(attempt, None)
    data.release()
    data.release()  # closing twice is harmless
    again = DataDir(tmp_path, attempts_kept=5)
    log = await again.deliveries.log(None)
    again.release()
    assert [attempt.request_id for attempt in log] == [f"r{n}" for n in range(996, 1001)]


def rows(data_dir: Path, query: str) -> list[tuple[Any, ...]]:
    """What the database holds now, read as another process would."""
    with contextlib.closing(sqlite3.connect(data_dir / "falfake.sqlite3")) as db:
        return db.execute(query).fetchall()


async def test_a_reference_image_shared_by_two_requests_outlives_the_first(
    restarts: Restarts, data_settings: Settings, clock: ManualClock
) -> None:
    retention = dataclasses.replace(data_settings.retention, request_ttl_seconds=10.0)
    restarts.settings = dataclasses.replace(data_settings, retention=retention)
    assert data_settings.data_dir is not None
    image = f"data:image/png;base64,{base64.b64encode(png((9, 9, 9))).decode()}"
    async with client_of(restarts.start(clock)) as http:
        first_id = await submit(http, {**VALID_INPUT, "image_urls": [image]})
        clock.advance(5.0)
        second_id = await submit(http, {**VALID_INPUT, "image_urls": [image]})
        clock.advance(5.0)  # both finished: the first at 3 s, the second at 8 s
        assert rows(data_settings.data_dir, "SELECT refs FROM images") == [(2,)]
        clock.advance(4.0)  # the first has expired (13 s), the second has not (18 s)
        assert (await http.get(f"/queue/{APP}/requests/{first_id}")).status_code == 404
        assert rows(data_settings.data_dir, "SELECT refs FROM images") == [(1,)]
        # The second still renders from the image they shared.
        assert (await http.get(f"/queue/{APP}/requests/{second_id}")).status_code == 200
        clock.advance(5.0)
        assert (await http.get(f"/queue/{APP}/requests/{second_id}")).status_code == 404
        assert rows(data_settings.data_dir, "SELECT refs FROM images") == []


async def test_a_delivered_webhook_is_no_longer_pending_on_disk(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    for request_id in ("r1", "r2"):
        await data.deliveries.schedule(
            PendingDelivery(request_id, "http://127.0.0.1:1/", b"{}", 1, 5.0)
        )
    delivered = Attempt("r1", "http://127.0.0.1:1/", 1, "t", 200, None, 1.0, True)
    await data.deliveries.attempted(delivered, None)
    data.release()
    again = DataDir(tmp_path)
    pending = again.deliveries.load()
    again.release()
    assert [(p.request_id, p.attempt, p.due_at) for p in pending] == [("r2", 1, 5.0)]


async def test_the_delivery_log_on_disk_is_pruned_to_the_latest(tmp_path: Path) -> None:
    data = DataDir(tmp_path, attempts_kept=5)
    for n in range(1, 1001):
        attempt = Attempt(f"r{n}", "http://127.0.0.1:1/", 1, "t", 200, None, 1.0, True)
        await data.deliveries.attempted(attempt, None)
    data.release()
    assert rows(tmp_path, "SELECT COUNT(*) FROM attempts") == [(5,)]


async def test_an_attempt_and_its_retry_are_written_together_or_not_at_all(
    tmp_path: Path,
) -> None:
    """A kill between the log line and the retry's schedule would have left the attempt logged
    and the delivery pending under its old number: sent again after a restart as attempt 1 (the
    window tests/mock_server/test_crash.py fell into once in six runs under load)."""
    data = DataDir(tmp_path)
    first = PendingDelivery("r1", "http://127.0.0.1:1/", b"{}", 1, 5.0)
    await data.deliveries.schedule(first)
    failed = Attempt("r1", "http://127.0.0.1:1/", 1, "t", 500, None, 1.0, False)
    retry = dataclasses.replace(first, attempt=2, due_at=12.0)
    # The write of the retry dies, as a process killed at that moment would.
    with contextlib.closing(sqlite3.connect(tmp_path / "falfake.sqlite3")) as db, db:
        db.execute(
            "CREATE TRIGGER dies BEFORE INSERT ON deliveries BEGIN SELECT RAISE(ABORT, 'x'); END"
        )
    with pytest.raises(sqlite3.IntegrityError):
        await data.deliveries.attempted(failed, retry)
    # As before the attempt: it will be made again, as 1.
    assert data.deliveries.load() == [first]
    assert rows(tmp_path, "SELECT COUNT(*) FROM attempts") == [(0,)]
    assert await data.deliveries.log(None) == []
    with contextlib.closing(sqlite3.connect(tmp_path / "falfake.sqlite3")) as db, db:
        db.execute("DROP TRIGGER dies")
    await data.deliveries.attempted(failed, retry)
    assert data.deliveries.load() == [retry]
    assert await data.deliveries.log(None) == [failed]
    data.release()


def test_the_clock_is_saved_at_most_once_a_second_and_on_close(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    data.requests.seen(100.0)
    assert data.saved_at() == 100.0
    data.requests.seen(100.9)
    assert data.saved_at() == 100.0  # within the second: not written
    data.requests.seen(101.0)
    assert data.saved_at() == 101.0
    data.requests.seen(101.5)
    data.release()
    assert rows(tmp_path, "SELECT value FROM meta WHERE key = 'seen'") == [("101.5",)]


async def test_a_start_deadline_still_holds_after_the_restart(
    first: httpx.AsyncClient, clock: ManualClock, restarts: Restarts
) -> None:
    busy = await submit(first)  # one runner: the next one waits for it
    late = (
        await first.post(SUBMIT_URL, json=VALID_INPUT, headers={"X-Fal-Request-Timeout": "2"})
    ).json()["request_id"]
    clock.advance(1.5)
    assert (await status(first, busy))["status"] == "IN_PROGRESS"  # the fake has seen 1.5 s
    http, clock = restart(restarts, ManualClock(clock.now() + DOWNTIME))
    async with http:
        assert (await status(http, late))["status"] == "IN_QUEUE"
        clock.advance(0.5)  # its 2 s are up (the downtime does not count)
        ended = await status(http, late)
        assert (ended["status"], ended["error_type"]) == ("COMPLETED", "request_timeout")
        result = await http.get(f"/queue/{APP}/requests/{late}")
        assert result.status_code == 504
        assert result.headers["x-fal-request-id"] == late

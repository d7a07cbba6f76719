"""The journal keeps the latest requests within a count and a byte bound, without secrets."""

from __future__ import annotations

import pytest
from starlette.types import Message, Scope

from falfake.harness.journal import Journal
from falfake.http.recording import Recording

pytestmark = pytest.mark.anyio


def scope(path: str, body: bytes, *, method: str = "POST") -> Scope:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"logs=1",
        "headers": [
            (b"host", b"queue.fal.run"),
            (b"authorization", b"Key secret"),
            (b"cookie", b"session=1"),
            (b"x-fal-queue-priority", b"low"),
            (b"content-length", str(len(body)).encode()),
        ],
    }


async def record(
    journal: Journal,
    path: str,
    body: bytes,
    status: int = 200,
    request_id: str | None = None,
    reply: tuple[bytes, bytes] | None = None,
) -> None:
    """Record a request; `reply` is its reply's content type and body, if it has one."""
    recording = Recording(journal, scope(path, body), at=1.0)
    headers = [] if request_id is None else [(b"X-Fal-Request-Id", request_id.encode())]
    if reply is not None:
        headers.append((b"content-type", reply[0]))

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        pass

    await recording.receive(receive)()
    start = {"type": "http.response.start", "status": status, "headers": headers}
    await recording.send(send)(start)
    if reply is not None:
        for chunk in (reply[1][:10], reply[1][10:]):
            await recording.send(send)({"type": "http.response.body", "body": chunk})
    recording.finish()


async def test_an_entry_has_the_request_and_its_status_without_secret_headers() -> None:
    journal = Journal()
    await record(journal, "/queue/a", b'{"prompt": "x"}', status=202)

    (entry,) = await journal.entries()
    assert (entry.method, entry.host, entry.path, entry.query) == (
        "POST",
        "queue.fal.run",
        "/queue/a",
        "logs=1",
    )
    assert entry.body == '{"prompt": "x"}'
    assert entry.status == 202
    assert entry.headers == {
        "host": "queue.fal.run",
        "x-fal-queue-priority": "low",
        "content-length": "15",
    }


async def test_bodies_are_kept_up_to_64_kib_each() -> None:
    journal = Journal()
    await record(journal, "/queue/a", b"x" * 100_000)

    assert len((await journal.entries())[0].body) == 64 * 1024


async def test_past_the_count_bound_the_oldest_go_first() -> None:
    journal = Journal(max_entries=3)
    for n in range(5):
        await record(journal, f"/queue/{n}", b"")

    assert [e.path for e in await journal.entries()] == ["/queue/2", "/queue/3", "/queue/4"]


async def test_past_the_byte_bound_the_oldest_go_first_but_the_newest_stays() -> None:
    journal = Journal(max_bytes=250)
    for n in range(4):
        await record(journal, f"/queue/{n}", b"y" * 100)

    assert [e.path for e in await journal.entries()] == ["/queue/2", "/queue/3"]
    await record(journal, "/queue/big", b"z" * 1000)
    assert [e.path for e in await journal.entries()] == ["/queue/big"]


@pytest.mark.parametrize(
    ("filters", "count"),
    [({"method": "post"}, 2), ({"method": "GET"}, 0), ({"path": "/b"}, 1), ({"host": "x"}, 0)],
)
async def test_filters_match_method_any_part_of_the_path_and_host(
    filters: dict[str, str], count: int
) -> None:
    journal = Journal()
    await record(journal, "/queue/a", b"")
    await record(journal, "/queue/b", b"")

    assert await journal.count(**filters) == count


async def test_a_request_without_a_framed_body_is_not_read_for_one() -> None:
    journal = Journal()
    bare = {**scope("/queue/a", b""), "method": "GET", "headers": [(b"host", b"h")]}
    recording = Recording(journal, bare, at=1.0)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    assert recording.receive(receive) is receive
    recording.finish()
    assert (await journal.entries())[0].body == ""


async def test_an_entry_names_the_fal_request_its_reply_named() -> None:
    journal = Journal()
    await record(journal, "/queue/submit", b"{}", request_id="r1")
    await record(journal, "/queue/r2/status", b"", request_id="r2")
    await record(journal, "/queue/r1/status", b"", request_id="r1")
    await record(journal, "/_falfake/clock", b"")

    assert [e.path for e in await journal.about("r1")] == ["/queue/submit", "/queue/r1/status"]
    assert (await journal.entries())[-1].request_id is None


async def test_the_newest_are_paged_and_decoded_alone() -> None:
    journal = Journal()
    for n in range(7):
        await record(journal, f"/queue/{n}", b"")
    await record(journal, "/other", b"")

    assert [e.path for e in await journal.newest(3)] == ["/other", "/queue/6", "/queue/5"]
    assert [e.path for e in await journal.newest(3, skip=3, path="/queue")] == [
        "/queue/3",
        "/queue/2",
        "/queue/1",
    ]
    assert await journal.newest(3, method="GET") == []


async def test_polls_results_and_cancels_name_the_request_in_their_path() -> None:
    journal = Journal()
    app = "/queue/google/gemini-omni-flash/requests"
    for suffix in ("/status", "/status/stream", "", "/cancel"):
        await record(journal, f"{app}/r1{suffix}", b"")
    await record(journal, "/files/b/requests/r9", b"")  # not a queue path
    assert [e.path.removeprefix(app) for e in await journal.about("r1")] == [
        "/r1/status",
        "/r1/status/stream",
        "/r1",
        "/r1/cancel",
    ]
    assert (await journal.entries())[-1].request_id is None


async def test_an_event_streams_events_are_kept_with_it() -> None:
    journal = Journal()
    events = b'data: {"output":"a","partial":true}\n\ndata: {"output":"a b","partial":false}\n\n'
    await record(
        journal, "/run/x/stream", b"{}", reply=(b"text/event-stream; charset=utf-8", events)
    )
    await record(journal, "/run/x", b"{}", reply=(b"application/json", b'{"output":"a"}'))

    streamed, plain = await journal.entries()
    assert streamed.reply == events.decode()
    assert plain.reply == ""


async def test_an_event_streams_events_are_kept_up_to_64_kib_and_count_in_the_byte_bound() -> None:
    journal = Journal(max_bytes=100_000)
    events = b"data: {}\n\n" * 10_000
    await record(journal, "/run/old", b"", reply=(b"text/event-stream", events))
    await record(journal, "/run/new", b"", reply=(b"text/event-stream", events))

    (entry,) = await journal.entries()
    assert (entry.path, len(entry.reply)) == ("/run/new", 64 * 1024)

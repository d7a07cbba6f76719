"""The parts of a fake: every piece of mutable state is named, and `reset` empties each."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from falfake import Settings, create_app
from falfake.clock import VirtualClock
from falfake.fake import Fake
from tests.conftest import BASE_URL, KEY, SUBMIT_URL, VALID_INPUT, png

pytestmark = pytest.mark.anyio

# What reset empties: every piece of state a test can fill.
STATE = {"store", "files", "uploads", "deliveries", "scenarios", "journal", "rate_limiter"}
# What it keeps, on purpose (Fake.reset says why): no state, or state clients still hold.
KEPT = {"settings", "clock", "signer", "fetch", "webhooks", "work", "storage"}
KEPT |= {"new_request_id", "new_output_path", "new_upload_path"}


def test_every_part_is_state_reset_empties_or_kept_on_purpose() -> None:
    """A new part of the fake must be placed here, so reset cannot forget it unnoticed."""
    assert {part.name for part in dataclasses.fields(Fake)} == STATE | KEPT


@pytest.fixture
async def limited() -> AsyncIterator[tuple[Fake, httpx.AsyncClient]]:
    """A fake with a rate limit of one submit per second, so its buckets hold state too; on a
    virtual clock, so a failed webhook's retry waits instead of moving time on."""
    app = create_app(Settings(rate_limit=1.0), clock=VirtualClock())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
        yield app.state.fake, http


async def test_reset_empties_every_piece_of_state(
    limited: tuple[Fake, httpx.AsyncClient],
) -> None:
    fake, http = limited
    request_id = (await http.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    assert (await http.post(SUBMIT_URL, json=VALID_INPUT)).status_code == 429
    token = (await http.post("/rest/storage/auth/token", json={})).json()["token"]
    uploaded = await http.post(
        "/cdn/files/upload",
        content=png(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "image/png"},
    )
    file_url = uploaded.json()["access_url"]
    pending = (await http.post("/rest/storage/upload/initiate", json={})).json()["upload_url"]
    await http.post("/_falfake/scenarios", json={"operation": "cancel", "status": 500})
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
    await fake.deliveries.start(nowhere, request_id, b"{}")
    while not await fake.deliveries.attempts():
        await asyncio.sleep(0.01)

    await fake.reset()

    assert await fake.scenarios.listed() == []
    assert await fake.journal.entries() == []
    assert await fake.deliveries.attempts() == []
    app_path = "/queue/google/gemini-omni-flash/requests"
    assert (await http.get(f"{app_path}/{request_id}/status")).status_code == 404
    assert (await http.get(file_url)).status_code == 404
    assert (await http.put(pending, content=b"late")).status_code == 404
    assert (await http.post(SUBMIT_URL, json=VALID_INPUT)).status_code == 200  # a full bucket
    # A CDN token a client holds still works after a reset.
    again = await http.post(
        "/cdn/files/upload",
        content=png(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "image/png"},
    )
    assert again.status_code == 200
    await fake.deliveries.close(grace_seconds=0.0)

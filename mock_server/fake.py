"""The parts of one running fake that every route needs, kept on `app.state.fake`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from falfake.clock import Clock, SettableClock, SharedClock
from falfake.errors import Conflict
from falfake.harness.journal import JournalBook
from falfake.harness.scenarios import ScenarioBook
from falfake.media.files import Files
from falfake.media.images import Fetch
from falfake.media.uploads import UploadSessions
from falfake.media.work import Work
from falfake.queue.models import Snapshot, Status
from falfake.queue.rate_limit import RateLimits
from falfake.queue.requests import Requests
from falfake.queue.runners import catch_up
from falfake.settings import Settings
from falfake.storage import Storage
from falfake.webhooks.delivery import Deliveries
from falfake.webhooks.dispatch import Dispatcher
from falfake.webhooks.signing import WebhookSigner


@dataclass(frozen=True, slots=True)
class Fake:
    settings: Settings
    clock: Clock
    store: Requests
    files: Files
    uploads: UploadSessions
    fetch: Fetch | None
    signer: WebhookSigner
    deliveries: Deliveries
    webhooks: Dispatcher
    scenarios: ScenarioBook
    journal: JournalBook
    rate_limiter: RateLimits
    new_request_id: Callable[[], str]
    new_output_path: Callable[[], str]
    new_upload_path: Callable[[str], str]
    storage: Storage  # the engine behind the stores: memory, a data directory, or a database
    work: Work  # renders and image checks, off the loop (the webhook dispatcher shares it)

    async def close(self) -> None:
        """Let go of the storage (state is saved as it changes; this saves the time)."""
        await self.storage.close()

    async def reset(self) -> None:
        """Forget every request (with its timetable and webhooks not yet sent), file, unfinished
        upload, scenario and its counts, journal entry, delivery and rate-limit bucket.

        Kept: the settings, the clock (time does not go back), the signing key and CDN tokens
        (clients hold them), and renders under way (`work`: they finish for their callers)."""
        await self.store.reset()
        await self.files.reset()
        await self.uploads.reset()
        await self.scenarios.clear()
        await self.journal.clear()
        await self.deliveries.clear()
        await self.rate_limiter.reset()

    async def advance(self, seconds: float) -> float:
        """Move a manual or virtual clock forward (every replica's, when shared); returns the
        new time."""
        self._settable_clock().advance(seconds)
        await self._moved()
        await catch_up(self.store)
        return self.clock.now()

    async def run_until(self, request_id: str, status: str = "COMPLETED") -> Snapshot:
        """Move the clock event by event until the request reaches `status` (or later)."""
        clock, wanted = self._settable_clock(), Status(status).rank
        while True:
            snapshot = await self.store.get(request_id)
            if snapshot.request.status.rank >= wanted:
                return snapshot
            moment = await self.store.next_event_time()
            if moment is None:
                raise Conflict(f"Request {request_id} will not reach {status} on its own.")
            clock.set(moment)
            await self._moved()

    async def _moved(self) -> None:
        """Tell the other replicas, before the caller hears the new time."""
        if isinstance(self.clock, SharedClock):
            await self.clock.push()

    def _settable_clock(self) -> SettableClock:
        if not isinstance(self.clock, SettableClock):
            raise Conflict("The clock is real time; start the fake with --clock virtual.")
        return self.clock

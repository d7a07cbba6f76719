"""Delivering webhooks: signed POSTs, retried on fal's schedule, every attempt logged.

Each delivery still to make is told to `DeliveryRecords` (SQLite with `--data-dir`) with its next
attempt, so after a restart the retries carry on where they were.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from falfake.clock import Clock, log_timestamp
from falfake.contracts.webhook_signatures import signed_message
from falfake.errors import StorageUnavailable
from falfake.settings import WebhookSettings
from falfake.webhooks.signing import WebhookSigner

if TYPE_CHECKING:
    import httpx

LOG_SIZE = 10_000  # attempts kept in a process's log


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST to a webhook target and how it went."""

    request_id: str
    target: str
    attempt: int
    at: str
    status_code: int | None
    error: str | None
    latency_ms: float
    delivered: bool
    # What the signature covered and the signature itself, so it can be checked afterwards (the
    # dashboard does, against the JWKS the fake serves); empty in logs from before they were kept.
    timestamp: str = ""
    user_id: str = ""
    body_sha256: str = ""
    signature: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A webhook still to deliver: attempt number `attempt` (from 1) is due at `due_at`."""

    request_id: str
    target: str
    body: bytes
    attempt: int
    due_at: float


class DeliveryRecords(Protocol):
    """Where deliveries outlive the process (or the replica): each one still to make, and the
    log of attempts."""

    def load(self) -> list[PendingDelivery]:
        """Deliveries an earlier run left to make (at start)."""
        ...

    async def schedule(self, delivery: PendingDelivery) -> bool:
        """Keep `delivery` as this process's to make; False when it already is someone's
        (another replica took the same webhook)."""
        ...

    async def attempted(self, attempt: Attempt, following: PendingDelivery | None) -> None:
        """Log `attempt` and schedule the delivery `following` it (None: no more), at once: a
        crash between the two would send the attempt again under its old number."""
        ...

    async def log(self, request_id: str | None) -> list[Attempt]:
        """The attempts made, oldest first, for one request or all."""
        ...

    async def orphans(self, now: float) -> list[PendingDelivery]:
        """Deliveries whose maker stopped (a replica killed), now this process's to make."""
        ...

    async def clear(self) -> None: ...


class NoDeliveryRecords:
    """The default: deliveries and their log live only as long as the process."""

    def __init__(self, log: Iterable[Attempt] = ()) -> None:
        self._log: deque[Attempt] = deque(log, maxlen=LOG_SIZE)

    def load(self) -> list[PendingDelivery]:
        return []

    async def schedule(self, delivery: PendingDelivery) -> bool:
        return True

    async def attempted(self, attempt: Attempt, following: PendingDelivery | None) -> None:
        self._log.append(attempt)

    async def log(self, request_id: str | None) -> list[Attempt]:
        return [a for a in self._log if request_id is None or a.request_id == request_id]

    async def orphans(self, now: float) -> list[PendingDelivery]:
        return []  # one process: none can be left by another

    async def clear(self) -> None:
        self._log.clear()


class Deliveries:
    """Sends webhook bodies (each request's body is fixed; only time and signature change)."""

    def __init__(
        self,
        settings: WebhookSettings,
        signer: WebhookSigner,
        clock: Clock,
        records: DeliveryRecords | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """`clock` paces retries (the fake's time, virtual or not); `wall` stamps signatures,
        since a receiver checks the timestamp against its own clock (fal's 5-minute window)."""
        self._settings = settings
        self._signer = signer
        self._clock = clock
        self._wall = wall
        self._records = records or NoDeliveryRecords()
        self._resumed = self._records.load()  # started once an event loop runs
        self._tasks: set[asyncio.Task[bool]] = set()
        self._posting: set[asyncio.Task[Any]] = set()
        self._closing = False

    async def attempts(self, request_id: str | None = None) -> list[Attempt]:
        """The delivery log, oldest first, for one request or all."""
        return await self._records.log(request_id)

    async def clear(self) -> None:
        await self._records.clear()

    async def start(self, target: str, request_id: str, body: bytes) -> None:
        """Deliver in the background, retrying on fal's schedule."""
        delivery = PendingDelivery(request_id, target, body, attempt=1, due_at=self._clock.now())
        if await self._records.schedule(delivery):
            self._spawn(delivery)

    async def adopt(self) -> int:
        """Carry on with the deliveries a stopped replica left; returns how many."""
        orphans = await self._records.orphans(self._clock.now())
        for delivery in orphans:
            self._spawn(delivery)
        return len(orphans)

    def resume(self) -> int:
        """Carry on with the deliveries an earlier run left unfinished; returns how many."""
        resumed, self._resumed = self._resumed, []
        self._closing = False
        for delivery in resumed:
            self._spawn(delivery)
        return len(resumed)

    def _spawn(self, delivery: PendingDelivery) -> None:
        task = asyncio.get_running_loop().create_task(self.deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, grace_seconds: float) -> None:
        """Stop: a POST under way may finish (so it is not sent twice after a restart), waiting
        retries stop at once and stay recorded."""
        self._closing = True
        for task in self._tasks - self._posting:
            task.cancel()
        if self._posting:
            await asyncio.wait(self._posting, timeout=grace_seconds)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def deliver(self, delivery: PendingDelivery) -> bool:
        """POST until a 2xx, at most `retries` times more; True when delivered."""
        import httpx  # on the first delivery: most runs send no webhook

        settings = self._settings
        # Never through a proxy: HTTPS_PROXY may well point at this fake.
        async with httpx.AsyncClient(timeout=settings.timeout_seconds, trust_env=False) as http:
            while True:
                wait = delivery.due_at - self._clock.now()
                if wait > 0:
                    await self._clock.sleep(wait)
                logged = await self._posting_while(self._attempt(http, delivery))
                following = None
                if not logged.delivered and delivery.attempt <= settings.retries:
                    following = dataclasses.replace(
                        delivery,
                        attempt=delivery.attempt + 1,
                        due_at=self._clock.now() + settings.delay(delivery.attempt),
                    )
                # Kept first: what the log shows has outlived a crash. A shared database that
                # is away now hands the delivery to whoever adopts it after its lease.
                try:
                    await self._records.attempted(logged, following)
                except StorageUnavailable:
                    return logged.delivered
                if following is None:
                    return logged.delivered
                delivery = following
                if self._closing:
                    return False

    async def _posting_while(self, attempt: Awaitable[Attempt]) -> Attempt:
        """Await one attempt, marked as under way for `close`."""
        task = asyncio.current_task()
        assert task is not None, "deliveries run as tasks"
        self._posting.add(task)
        try:
            return await attempt
        finally:
            self._posting.discard(task)

    async def _attempt(self, http: httpx.AsyncClient, delivery: PendingDelivery) -> Attempt:
        """POST once; what happened, to be logged."""
        request_id, target, body = delivery.request_id, delivery.target, delivery.body
        now = self._clock.now()
        timestamp = str(int(self._wall()))
        user_id = self._settings.user_id
        # The digest is signed and kept with the attempt, so the dashboard can check it later.
        digest = hashlib.sha256(body).hexdigest()
        signature = self._signer.sign(signed_message(request_id, user_id, timestamp, digest))
        headers = {
            "Content-Type": "application/json",
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": user_id,
            "X-Fal-Webhook-Timestamp": timestamp,
            "X-Fal-Webhook-Signature": signature,
        }
        import httpx

        started = time.perf_counter()
        status_code, error = None, None
        try:
            response = await http.post(target, content=body, headers=headers)
            status_code = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        delivered = status_code is not None and 200 <= status_code < 300
        return Attempt(
            request_id=request_id,
            target=target,
            attempt=delivery.attempt,
            at=log_timestamp(now),
            status_code=status_code,
            error=error,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            delivered=delivered,
            timestamp=timestamp,
            user_id=user_id,
            body_sha256=digest,
            signature=signature,
        )

"""The queue's state as the routes see it: an interface every engine answers, async because a
shared engine (PostgreSQL) answers over the network.

`InProcess` answers from a `RequestStore` in this process (memory, or SQLite with
`--data-dir`); `falfake.runtime.postgres.requests.PostgresRequests` answers for a fleet of
replicas from one database.
"""

from __future__ import annotations

from typing import Protocol

from falfake.queue.models import QueuedRequest, Snapshot, Status
from falfake.queue.store import NewRequest, RequestStore


class Requests(Protocol):
    """Every request, its queue and the runners; the queue API's operations."""

    async def submit(self, new: NewRequest) -> Snapshot: ...

    async def status(self, app_id: str, request_id: str) -> Snapshot:
        """RequestNotFound for ids unknown under this app."""
        ...

    async def get(self, request_id: str) -> Snapshot:
        """Whatever its app; RequestNotFound if unknown."""
        ...

    async def recent(
        self,
        limit: int,
        *,
        before: int | None = None,
        endpoint_id: str | None = None,
        status: Status | None = None,
    ) -> list[Snapshot]:
        """Newest first, submitted before sequence number `before` (the dashboard's pages)."""
        ...

    async def cancel(self, app_id: str, request_id: str) -> None: ...

    async def take_webhooks(self) -> list[tuple[str, QueuedRequest]]:
        """(target, request) for each finished request whose webhook nobody has taken; until
        `webhook_started`, it is handed out again (after a restart, or a lease)."""
        ...

    async def webhook_started(self, request_id: str) -> None: ...

    async def next_event_time(self) -> float | None:
        """When the runners next change something, if ever."""
        ...

    async def keep_up(self, limit: int) -> float | None:
        """Replay at most `limit` of the runners' moves due by now: None while more are due,
        else when the next falls due (inf: none is coming, or none to replay here)."""
        ...

    async def reset(self) -> None: ...


class InProcess:
    """`Requests` from a `RequestStore` of this process."""

    def __init__(self, store: RequestStore) -> None:
        self.store = store

    async def submit(self, new: NewRequest) -> Snapshot:
        return self.store.submit(new)

    async def status(self, app_id: str, request_id: str) -> Snapshot:
        return self.store.status(app_id, request_id)

    async def get(self, request_id: str) -> Snapshot:
        return self.store.get(request_id)

    async def recent(
        self,
        limit: int,
        *,
        before: int | None = None,
        endpoint_id: str | None = None,
        status: Status | None = None,
    ) -> list[Snapshot]:
        return self.store.recent(limit, before=before, endpoint_id=endpoint_id, status=status)

    async def cancel(self, app_id: str, request_id: str) -> None:
        self.store.cancel(app_id, request_id)

    async def take_webhooks(self) -> list[tuple[str, QueuedRequest]]:
        return self.store.take_webhooks()

    async def webhook_started(self, request_id: str) -> None:
        self.store.webhook_started(request_id)

    async def next_event_time(self) -> float | None:
        return self.store.next_event_time()

    async def keep_up(self, limit: int) -> float | None:
        return self.store.keep_up(limit)

    async def reset(self) -> None:
        self.store.reset()

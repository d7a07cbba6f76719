"""Where a fake keeps its state: the interface the wiring picks an engine by, and the default
engine, memory (each store keeps its state itself; nothing outlives the process).

An engine hands the wiring the stores the routes talk to (`Stores`), never its own types. The
others: the data directory (`runtime/data_dir.py`, `--data-dir`: SQLite records and files on
disk, handed back at start, one process) and PostgreSQL (`runtime/postgres/`, `--database`: the
state itself, shared by any number of replicas).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from falfake.clock import Clock
from falfake.harness.journal import Journal, JournalBook
from falfake.harness.scenarios import ScenarioBook, Scenarios
from falfake.media.files import FileBackend, Files, FileStore, MemoryFiles
from falfake.media.uploads import NoUploadRecords, UploadRecords, Uploads, UploadSessions
from falfake.queue.rate_limit import RateLimiter, RateLimits
from falfake.queue.records import NoRecords, RequestRecords
from falfake.queue.requests import InProcess, Requests
from falfake.queue.store import RequestStore
from falfake.settings import Settings
from falfake.webhooks.delivery import DeliveryRecords, NoDeliveryRecords


@dataclass(frozen=True, slots=True)
class Stores:
    """The state the routes talk to, as one engine keeps it."""

    requests: Requests
    files: Files
    uploads: UploadSessions
    deliveries: DeliveryRecords  # where the delivery log and retries outlive the process
    scenarios: ScenarioBook
    journal: JournalBook
    rate_limits: RateLimits


class Storage(Protocol):
    """An engine: its stores, and the engine's own life."""

    name: str  # as the health check reports it

    def stores(self, settings: Settings, clock: Clock) -> Stores: ...

    def clock(self, clock: Clock) -> Clock:
        """The clock to serve on: `clock`, or one every process of this fake shares."""
        ...

    def saved_at(self) -> float | None:
        """The fake's time when the state was last saved, or None (nothing saved)."""

    def signing_key(self) -> bytes | None:
        """The webhook signing key (PEM) every process of this fake shares, or None: the
        fake's own."""

    async def problem(self) -> str | None:
        """Why the engine cannot serve now, or None."""

    async def close(self) -> None:
        """Let go of the engine (state is saved as it changes)."""


def in_process_stores(
    settings: Settings,
    clock: Clock,
    *,
    requests: RequestRecords,
    files: FileBackend,
    uploads: UploadRecords,
    deliveries: DeliveryRecords,
) -> Stores:
    """Stores that keep the state in this process, telling each change to the records given
    (nothing, or a data directory)."""
    store = RequestStore(
        settings.timing,
        settings.retention,
        clock.now,
        honour_cancel=settings.honour_cancel,
        documented_cancel_body=settings.cancel_completed_body == "status",
        records=requests,
    )
    return Stores(
        requests=InProcess(store),
        files=FileStore(settings.retention, clock.now, files),
        uploads=Uploads(
            clock.now,
            max_upload_bytes=settings.max_upload_bytes,
            max_pending_bytes=settings.retention.max_file_bytes,
            records=uploads,
        ),
        deliveries=deliveries,
        scenarios=Scenarios(),
        journal=Journal(),
        rate_limits=RateLimiter(settings.rate_limit, clock.now),
    )


class Memory:
    """The default engine: state in the stores' own memory, gone with the process."""

    name = "memory"

    def stores(self, settings: Settings, clock: Clock) -> Stores:
        return in_process_stores(
            settings,
            clock,
            requests=NoRecords(),
            files=MemoryFiles(),
            uploads=NoUploadRecords(),
            deliveries=NoDeliveryRecords(),
        )

    def clock(self, clock: Clock) -> Clock:
        return clock

    def saved_at(self) -> float | None:
        return None

    def signing_key(self) -> bytes | None:
        return None

    async def problem(self) -> str | None:
        return None  # memory is always there to serve from

    async def close(self) -> None:
        pass

"""Where a fake keeps its state: the interface the wiring picks an engine by, and the default
engine, memory (each store keeps its state itself; nothing outlives the process).

The other engine is the data directory (`runtime/data_dir.py`, `--data-dir`): SQLite records and
files on disk, handed back at start.
"""

from __future__ import annotations

from typing import Protocol

from falfake.media.files import FileBackend, MemoryFiles
from falfake.media.uploads import NoUploadRecords, UploadRecords
from falfake.queue.records import NoRecords, RequestRecords
from falfake.webhooks.delivery import DeliveryRecords, NoDeliveryRecords


class Storage(Protocol):
    """An engine: the records each store writes through, and the engine's own life."""

    name: str  # as the health check reports it

    @property
    def requests(self) -> RequestRecords: ...

    @property
    def files(self) -> FileBackend: ...

    @property
    def uploads(self) -> UploadRecords: ...

    @property
    def deliveries(self) -> DeliveryRecords: ...

    def saved_at(self) -> float | None:
        """The fake's time when the state was last saved, or None (nothing saved)."""

    def problem(self) -> str | None:
        """Why the engine cannot serve now, or None."""

    def close(self) -> None:
        """Let go of the engine (state is saved as it changes)."""


class Memory:
    """The default engine: state in the stores' own memory, gone with the process."""

    name = "memory"

    def __init__(self) -> None:
        self.requests = NoRecords()
        self.files = MemoryFiles()
        self.uploads = NoUploadRecords()
        self.deliveries = NoDeliveryRecords()

    def saved_at(self) -> float | None:
        return None

    def problem(self) -> str | None:
        return None  # memory is always there to serve from

    def close(self) -> None:
        pass

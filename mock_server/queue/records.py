"""Where the store's requests outlive the process: the interface, and the in-memory default.

`falfake.runtime.sqlite_records.SqliteRequests` is the other implementation (`--data-dir`).
"""

from __future__ import annotations

from typing import Protocol

from falfake.queue.models import QueuedRequest


class RequestRecords(Protocol):
    """Where requests outlive the process: told each change, asked for everything at start."""

    def load(self) -> tuple[list[QueuedRequest], float | None]:
        """Every request kept, and the store's time when it last looked (None: never ran)."""
        ...

    def add(self, request: QueuedRequest) -> None: ...

    def update(self, request: QueuedRequest) -> None: ...

    def delete(self, request_id: str) -> None: ...

    def seen(self, now: float) -> None:
        """The store's time, so a restart knows how long it was down."""
        ...

    def clear(self) -> None: ...


class NoRecords:
    """The default: requests live only as long as the process."""

    def load(self) -> tuple[list[QueuedRequest], float | None]:
        return [], None

    def add(self, request: QueuedRequest) -> None:
        pass

    def update(self, request: QueuedRequest) -> None:
        pass

    def delete(self, request_id: str) -> None:
        pass

    def seen(self, now: float) -> None:
        pass

    def clear(self) -> None:
        pass

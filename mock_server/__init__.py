"""falfake: an offline fake of fal.ai's queue API, built around
google/gemini-omni-flash/reference-to-video.

This is the one package installing falfake adds: the fake itself, `falfake.client` (the minimal
client) and `falfake.contracts` (schemas, recordings, contract checks). The names below load when
first asked for, so `import falfake.client` or `import falfake.clock` does not load the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from falfake.app import create_app
    from falfake.clock import Clock, ManualClock, SystemClock
    from falfake.settings import Auth, Retention, Settings, Timing

_WHERE = {
    "create_app": "falfake.app",
    "Clock": "falfake.clock",
    "ManualClock": "falfake.clock",
    "SystemClock": "falfake.clock",
    "Auth": "falfake.settings",
    "Retention": "falfake.settings",
    "Settings": "falfake.settings",
    "Timing": "falfake.settings",
}

__all__ = [
    "Auth",
    "Clock",
    "ManualClock",
    "Retention",
    "Settings",
    "SystemClock",
    "Timing",
    "create_app",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'falfake' has no attribute {name!r}")

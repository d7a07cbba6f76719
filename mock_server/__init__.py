"""falfake: an offline fake of fal.ai's queue API for gemini-omni-flash/reference-to-video."""

from mock_server.app import create_app
from mock_server.clock import Clock, ManualClock, SystemClock
from mock_server.settings import Auth, Retention, Settings, Timing

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

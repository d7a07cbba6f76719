"""Installing falfake is enough: pytest finds the plugin through its entry point."""

from __future__ import annotations

from importlib.metadata import entry_points


def test_the_plugin_is_registered_for_pytest() -> None:
    (plugin,) = [e for e in entry_points(group="pytest11") if e.name == "falfake"]
    assert plugin.value == "falfake.pytest_plugin"

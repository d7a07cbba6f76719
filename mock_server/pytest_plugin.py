"""pytest plugin (installed with falfake, entry point `falfake`): fal stands in a fixture.

- `falfake`: the fake in this process. Every httpx request to fal's hosts (so `fal-client`, the
  minimal client and your own httpx code) is answered by it through respx; anything else goes
  through untouched. Time is a manual clock that moves by itself as clients poll, so a whole
  lifecycle costs milliseconds; `falfake.auto_advance = False` hands the clock to the test.
- `falfake_server`: a real fake on a free loopback port, with the environment of `python -m
  falfake env` set for the test (FAL_KEY, HTTPS_PROXY, SSL_CERT_FILE, REQUESTS_CA_BUNDLE, the
  Node preload...), for code that runs in subprocesses or clients created during the test.

Both give the same handle (`falfake.testing`): `scenario(...)`, `file(...)`, `requests(...)`,
`advance(...)`, `run_until(...)`, `reset()`, and the underlying `fake`. pytest loads this module
in every run of every project that installed falfake, so it imports pytest alone; the fake loads
when a test asks for a fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from falfake.testing import Falfake, InProcessFalfake

__all__ = ["Falfake", "InProcessFalfake", "falfake", "falfake_server"]


def __getattr__(name: str) -> Any:
    """`from falfake.pytest_plugin import Falfake` (for annotations) loads the handle's module."""
    if name in ("Falfake", "InProcessFalfake"):
        from falfake import testing

        return getattr(testing, name)
    raise AttributeError(f"module 'falfake.pytest_plugin' has no attribute {name!r}")


@pytest.fixture
def falfake(monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessFalfake]:
    """falfake in this process, answering every httpx call to fal's hosts."""
    from falfake.testing import in_process

    with in_process(monkeypatch) as handle:
        yield handle


@pytest.fixture
def falfake_server(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Falfake]:
    """A real falfake on a free loopback port, with the official clients' environment set."""
    from falfake.testing import served

    with served(tmp_path_factory, monkeypatch) as handle:
        yield handle

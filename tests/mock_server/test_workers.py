"""`--workers N`: the supervisor forks N workers, forks another for one that dies, and stops
them all on SIGTERM (run here in this process; the workers are tiny stand-ins for servers)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from falfake.runtime.workers import supervise


@pytest.fixture
def handlers_kept() -> Iterator[None]:
    """The supervisor installs SIGINT and SIGTERM handlers in this process: put pytest's back."""
    kept = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in kept.items():
        signal.signal(signum, handler)


def test_a_dead_worker_is_replaced_and_sigterm_stops_them_all(handlers_kept: None) -> None:
    read_end, write_end = os.pipe()

    def serve() -> None:
        """A worker: say who it is, then wait to be stopped."""
        os.write(write_end, f"{os.getpid()}\n".encode())
        signal.pause()

    started: list[int] = []

    def drive() -> None:
        with os.fdopen(read_end) as lines:
            for line in lines:
                started.append(int(line))
                if len(started) == 2:
                    os.kill(started[0], signal.SIGKILL)  # one dies: another takes its place
                if len(started) == 3:
                    os.kill(os.getpid(), signal.SIGTERM)  # and the parent is told to stop
                    return

    driver = threading.Thread(target=drive)
    driver.start()
    assert supervise(2, serve) == 0
    driver.join(timeout=30)
    os.close(write_end)
    assert len(started) == 3
    for pid in started:  # every worker has ended
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

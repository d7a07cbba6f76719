"""`falfake serve --workers N`: N processes serving one listening socket, so one machine's cores
all serve (each is a replica of one fake, which is why it needs `--database`).

The parent binds the socket and makes the app once (so a bad flag or database is one message),
then forks the workers, which inherit both; the kernel hands each connection to one of them. A
worker that dies (killed, or out of memory) is forked again; Ctrl+C or SIGTERM stops them all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable

_STOP = (signal.SIGINT, signal.SIGTERM)


def supervise(workers: int, serve: Callable[[], None]) -> int:
    """Run `serve` in `workers` forked processes until told to stop; returns the exit code."""
    running: set[int] = set()
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in running:
            _signal(pid, signal.SIGTERM)

    for signum in _STOP:
        signal.signal(signum, stop)
    for _ in range(workers):
        running.add(_fork(serve))
    while running:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        running.discard(pid)
        if not stopping:
            print(
                f"falfake: worker {pid} ended ({_how(status)}); starting another",
                file=sys.stderr,
                flush=True,
            )
            running.add(_fork(serve))
    return 0


def _fork(serve: Callable[[], None]) -> int:
    pid = os.fork()
    if pid:
        return pid
    for signum in _STOP:  # the worker's server installs its own
        signal.signal(signum, signal.SIG_DFL)
    code = 0
    try:
        serve()
    except BaseException:  # a worker's end is its own; the parent forks another
        code = 1
    os._exit(code)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit {os.waitstatus_to_exitcode(status)}"

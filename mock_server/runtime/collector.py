"""The cyclic garbage collector on the event loop's clock, for a fake that owns its process.

CPython collects when tracked allocations outnumber deallocations by a threshold, and walks every
tracked object of the generations it collects while every client waits. Under load a request
lives about a second (its queue time, its run, a poll or two): it survives the young collections
and is walked again in each older one (12-25 ms for the middle generation at 5,000 submits/s,
20-70 ms for a full one); and each transition replaces a request, freeing as many objects as it
makes, so the counts lag while the youngest generation grows to thousands (5-20 ms).

The fake makes almost no cyclic garbage (about one object in a hundred requests), so here the
automatic collector is off. Every few milliseconds the youngest generation is collected (what was
made since and is still alive: well under a millisecond) and what survives is frozen, never walked
again; reference counting frees it when it dies, as it frees all of the fake's state. Cyclic
garbage frozen while it was still alive waits for a full collection, with everything unfrozen:
that walks every object (50-100 ms once PyAV and numpy are loaded), so it waits for a quiet
moment (the process nearly idle for a third of a second) and happens only once the frozen heap has
doubled since the last; a fake never quiet keeps that garbage (about one object in ten thousand
requests).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

BUSY_SECONDS = 0.02  # between young collections while the process works
IDLE_SECONDS = 0.1  # between them while it is nearly idle
QUIET_SECONDS = 0.3  # nearly idle this long before a full collection may run
QUIET_SHARE = 0.05  # of a core: "nearly idle" (a poll every few seconds, a watcher's turn)


class Collector:
    """Young collections and the occasional full one, as the loop asks for them."""

    def __init__(self) -> None:
        self._frozen_after_full = gc.get_freeze_count()

    def young(self) -> None:
        """Collect the youngest generation and freeze what survives. Every time: its count of
        objects made lags while requests free as many as they make (each transition replaces a
        request), and skipping on it let the generation grow to thousands (12-20 ms)."""
        gc.collect(0)
        gc.freeze()

    def full_if_grown(self) -> None:
        """A full collection, everything unfrozen, if the frozen heap has doubled since the
        last (counting it walks it)."""
        if gc.get_freeze_count() > 2 * self._frozen_after_full:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self._frozen_after_full = gc.get_freeze_count()


async def collect_on_the_loop(settled: threading.Event) -> None:
    """Runs until cancelled; takes over once `settled` says the start-up objects are frozen."""
    while not settled.is_set():
        await asyncio.sleep(BUSY_SECONDS)
    gc.disable()
    collector = Collector()
    quiet_since = wall = time.perf_counter()
    spent = time.process_time()
    worked = False  # since the last look at the frozen heap
    try:
        while True:
            collector.young()
            # Quiet is read from the time the process spent (render threads included): the
            # collector's counts cannot tell requests that free all they make from no requests.
            then, wall, before, spent = wall, time.perf_counter(), spent, time.process_time()
            busy = spent - before > QUIET_SHARE * (wall - then)
            if busy:
                quiet_since, worked = wall, True
            elif worked and wall - quiet_since >= QUIET_SECONDS:
                collector.full_if_grown()
                worked = False
            await asyncio.sleep(BUSY_SECONDS if busy else IDLE_SECONDS)
    finally:
        gc.enable()  # the process goes on without the loop (a test, a restart in process)

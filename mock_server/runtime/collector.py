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
garbage frozen while it was still alive is reclaimed by a full collection, with everything
unfrozen, once the frozen heap has doubled since the last one: its cost is spread over what grew.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading

BUSY_SECONDS = 0.02  # between young collections while objects are being made
# Young collections between looks at the frozen heap's size: counting it walks it (a millisecond
# for 100,000 objects), so about every ten seconds under load.
_LOOKS_EVERY = 500
IDLE_SECONDS = 0.1  # between looks while nothing is (objects freed as fast as made count so)
_IDLE_BELOW = 100  # objects made since the last look that count as nothing


class Collector:
    """Young collections and the occasional full one, as the loop asks for them."""

    def __init__(self) -> None:
        self._frozen_after_full = gc.get_freeze_count()

    def young(self) -> bool:
        """Collect the youngest generation and freeze what survives, if anything was made;
        whether anything was."""
        if gc.get_count()[0] < _IDLE_BELOW:
            return False
        gc.collect(0)
        gc.freeze()
        return True

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
    try:
        for turn in itertools.count(1):
            busy = collector.young()
            if turn % _LOOKS_EVERY == 0:
                collector.full_if_grown()
            await asyncio.sleep(BUSY_SECONDS if busy else IDLE_SECONDS)
    finally:
        gc.enable()  # the process goes on without the loop (a test, a restart in process)

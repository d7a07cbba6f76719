"""The collector a served fake runs on its loop: young garbage goes at once, what lives is frozen
(never walked again), cyclic garbage that was frozen alive goes once the frozen heap doubles, and
the automatic collector is back when the loop stops."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from falfake.runtime.collector import Collector, collect_on_the_loop


class Node:
    """Part of a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def _manual() -> Iterator[None]:
    """Collections only when a test asks (as under the loop's collector); all undone after."""
    gc.disable()
    yield
    gc.unfreeze()
    gc.enable()


def made(count: int) -> list[object]:
    return [Node() for _ in range(count)]


def test_a_young_collection_frees_cyclic_garbage_and_freezes_what_lives() -> None:
    garbage, alive = Node(), Node()
    freed = threading.Event()
    weakref.finalize(garbage, freed.set)
    del garbage
    frozen = gc.get_freeze_count()
    Collector().young()
    assert freed.is_set()
    assert gc.get_freeze_count() > frozen
    assert not any(found is alive for found in gc.get_objects())  # frozen: in no generation


def dropped_cycle() -> threading.Event:
    """A cycle no name refers to (made in a frame of its own, which a tracer may keep a copy of
    the locals of): set once the collector frees it."""
    freed = threading.Event()
    weakref.finalize(Node(), freed.set)
    return freed


def test_cyclic_garbage_frozen_uncollected_is_freed_once_the_frozen_heap_doubles() -> None:
    gc.unfreeze()
    collector = Collector()  # nothing frozen yet
    first = dropped_cycle()
    gc.freeze()
    collector.full_if_grown()
    assert first.is_set()  # more frozen than twice nothing
    second = dropped_cycle()
    gc.freeze()
    collector.full_if_grown()
    assert not second.is_set()  # the frozen heap has not doubled since
    kept = made(gc.get_freeze_count() + 1)
    gc.freeze()
    collector.full_if_grown()
    assert second.is_set()
    assert kept


@pytest.mark.anyio
async def test_the_loop_takes_over_once_settled_and_hands_back_when_stopped() -> None:
    settled = threading.Event()
    task = asyncio.get_running_loop().create_task(collect_on_the_loop(settled))
    gc.enable()  # as at start-up, which is still settling
    await asyncio.sleep(0)
    assert gc.isenabled()
    freed = asyncio.Event()
    garbage = Node()
    weakref.finalize(garbage, freed.set)
    del garbage
    made(200)
    settled.set()
    await asyncio.wait_for(freed.wait(), timeout=10)
    assert not gc.isenabled()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gc.isenabled()

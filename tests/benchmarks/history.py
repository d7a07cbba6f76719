"""The cells of `load.py` with a long history kept (`make bench`): status, result and submit at 16
connections, at fal's default timings (0.3 s in the queue, 0.7 s running; runners unbounded, as
fal scales them) and at 0/0, with the default retention (10,000 requests) and with 100,000 and
1,000,000 finished requests kept (filled before the cell by submits, not timed). With
`--data-dir`, the same on SQLite. Each cell beside the bare app measured at the same moment.

Memory per kept request: the resident size's growth between the fills, over the requests added.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.load import (
    APP,
    POLL_TARGET,
    SUBMIT_PATH,
    SUBMIT_TARGET,
    Cell,
    Cores,
    Load,
    Report,
    Running,
    baseline_command,
    fake_command,
    finished_id,
    free_port,
    serving,
    submit_script,
)

DEFAULT_RETENTION = 10_000
TIMINGS = {
    "default timings": ("--runners", "1000000"),
    "0/0": ("--runners", "1000000", "--queue-seconds", "0", "--run-seconds", "0"),
}


@dataclass
class Filled:
    """How many requests a fake holds, counted from the submits it answered (it forgets past
    `bound`)."""

    bound: int
    held: int = 0

    def took(self, cell: Cell) -> None:
        self.held = min(self.held + cell.requests - cell.failures, self.bound)


def fill(load: Load, fake: Running, filled: Filled, count: int) -> None:
    """Submit until the fake holds `count` requests. wrk waits out its whole duration even when
    the script stops it early, so the runs are sized by the rate seen."""
    rate: float | None = None
    while (missing := min(count, filled.bound) - filled.held) > 0:
        # Whole seconds: wrk reads no fraction.
        seconds = 5 if rate is None else min(math.ceil(missing / rate * 1.05), 60)
        cell = load.run(
            f"{fake.url}{SUBMIT_PATH}", 16, script=submit_script(missing), seconds=seconds
        )
        if cell.requests <= cell.failures:
            raise RuntimeError(f"the fake took no submit while filling: {cell}")
        rate = cell.rate
        filled.took(cell)


def cells(
    load: Load, report: Report, bare: Running, fake: Running, filled: Filled, label: str
) -> None:
    """Status and result of a request finished just now, then submits; each beside the bare
    app's."""
    request_id = finished_id(fake.port)
    for route, suffix, target in (
        ("status", "/status", POLL_TARGET),
        ("result", "", POLL_TARGET),
    ):
        bare_cell, fake_cell = load.pair(
            f"{bare.url}/queue/{APP}/requests/r{suffix}",
            f"{fake.url}/queue/{APP}/requests/{request_id}{suffix}",
            16,
        )
        report.row(f"{route} {label}", 16, bare_cell, fake_cell, target)
    bare_cell, fake_cell = load.pair(
        f"{bare.url}{SUBMIT_PATH}", f"{fake.url}{SUBMIT_PATH}", 16, submit_script()
    )
    filled.took(fake_cell)
    report.row(f"submit {label}", 16, bare_cell, fake_cell, SUBMIT_TARGET)


def history_cells(
    load: Load,
    cores: Cores,
    ca_dir: str,
    report: Report,
    retained: Sequence[int],
    data_dir: Path | None = None,
) -> None:
    kept = "in memory" if data_dir is None else "on SQLite (--data-dir)"
    print(f"\nwith a history kept, {kept}; 16 connections, runners unbounded")
    bare_port = free_port()
    bare_ready = f"/queue/{APP}/requests/r/status"
    with serving(baseline_command(bare_port), bare_port, bare_ready, cores.server) as bare:
        for timing, flags in TIMINGS.items():
            report.header(timing)
            bounds: list[tuple[int, tuple[int, ...]]] = [(DEFAULT_RETENTION, (DEFAULT_RETENTION,))]
            if retained:
                bounds.append((2 * max(retained), tuple(retained)))
            for bound, counts in bounds:
                folder = None if data_dir is None else data_dir / f"{timing} {bound}"
                command = [*flags, "--max-requests", str(bound), "--request-ttl", "86400"]
                if folder is not None:
                    command += ["--data-dir", str(folder)]
                one_fake(load, cores, ca_dir, report, bare, command, bound, counts)


def one_fake(
    load: Load,
    cores: Cores,
    ca_dir: str,
    report: Report,
    bare: Running,
    flags: Sequence[str],
    bound: int,
    counts: Sequence[int],
) -> None:
    """One fake filled to each of `counts` in turn, measured at each; memory between them."""
    port = free_port()
    command = fake_command(port, ca_dir, *flags)
    with serving(command, port, "/_falfake/clock", cores.server) as fake:
        filled = Filled(bound)
        sizes: list[tuple[int, float]] = []
        for count in counts:
            fill(load, fake, filled, count)
            time.sleep(1.5)  # the last submits of the fill finish (at the default timings)
            sizes.append((filled.held, fake.rss_mib()))
            cells(load, report, bare, fake, filled, _short(count))
    if len(sizes) > 1:
        (first, low), (last, high) = sizes[0], sizes[-1]
        per = (high - low) * 1024 * 1024 / (last - first)
        print(
            f"{'':<28}memory per kept request: {per:,.0f} B"
            f" (resident {low:.0f} MiB at {first:,}, {high:.0f} MiB at {last:,})"
        )


def _short(count: int) -> str:
    return f"{count // 1_000_000}M" if count % 1_000_000 == 0 else f"{count // 1000}k"

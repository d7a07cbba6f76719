"""`make stress`: the suite, run again and again while CPU-bound loops compete for every core.

A test that passes on a quiet machine and fails on a busy one is a bug (it waits on time, not on an
event). This prints each run's failures and a summary, keeps the whole output of every run that
failed in build/stress/ (a flake that shows once in six runs is read there), and exits 1 if any
run failed.

    python -m tests.stress --runs 10 --burners 4 [-- pytest arguments, e.g. tests/mock_server]
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

BURN = "while True: pass"


@contextmanager
def burning(count: int) -> Iterator[None]:
    """`count` processes that each keep a core busy until the block ends."""
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def failures(report: Path) -> list[str]:
    """The ids of failed or errored tests in a JUnit XML report."""
    if not report.exists():
        return ["<no report: pytest did not finish>"]
    failed = []
    for case in ElementTree.parse(report).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname')}::{case.get('name')}")
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.stress", description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="how many times [default: 10]")
    parser.add_argument(
        "--burners",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="CPU-bound loops beside the suite [default: two per core]",
    )
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)
    counted: collections.Counter[str] = collections.Counter()
    kept = Path(__file__).resolve().parents[1] / "build" / "stress"
    kept.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, burning(args.burners):
        for run in range(1, args.runs + 1):
            report = Path(folder) / f"run-{run}.xml"
            started = time.monotonic()
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            done = subprocess.run(
                [*command, f"--junitxml={report}", *args.pytest_args],
                capture_output=True,
                text=True,
                check=False,
            )
            failed = (
                (failures(report) or [f"<pytest exit {done.returncode}>"])
                if done.returncode
                else []
            )
            counted.update(failed)
            took = time.monotonic() - started
            print(
                f"run {run}/{args.runs}: exit {done.returncode} in {took:.0f} s, "
                f"{len(failed)} failed",
                flush=True,
            )
            for name in failed:
                print(f"  FAILED {name}", flush=True)
            if failed:
                log = kept / f"run-{run}.log"
                log.write_text(done.stdout + done.stderr)
                print(f"  output: {log}", flush=True)
    print(
        f"\n{args.runs} runs beside {args.burners} CPU-bound loops: "
        f"{sum(counted.values())} failures in {len(counted)} tests"
    )
    for name, times in counted.most_common():
        print(f"  {times}x {name}")
    return 1 if counted else 0


if __name__ == "__main__":
    raise SystemExit(main())

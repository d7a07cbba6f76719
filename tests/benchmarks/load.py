"""The fake under a native load generator (`make bench`): figures, not pass/fail.

wrk (one thread) runs on one core and each server on another, so the generator never competes
with the server it measures. Every cell is measured in the same run against a bare Starlette app
on uvicorn's defaults serving fixed replies on the same routes (the baseline), and the generator's
own ceiling is measured against a null server that answers every request with fixed bytes: a cell
whose rate comes within 80 % of that ceiling measures wrk, not the server, and gets no ratio.
Every cell shows the median, the 99th and the 99.9th percentile of latency beside the baseline's,
and is judged on its rate and on its p99 (at most 3x the baseline's); the same cells with a long
history kept are `tests/benchmarks/history.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

APP = "google/gemini-omni-flash"
SUBMIT_PATH = f"/queue/{APP}/reference-to-video"
KEY_HEADER = "Authorization: Key bench"
INPUT = {
    "prompt": "A cat <IMAGE_REF_0>",
    "image_urls": ["https://example.com/cat.png"],
    "duration": 3,
}
CEILING_SHARE = 0.8
P99_LIMIT = 3.0  # a cell's p99 at most this many times the baseline's
POLL_TARGET = 0.8  # status and result: a share of the baseline's rate
SUBMIT_TARGET = 0.5
WRK_INSTALL = "apt-get install -y wrk"


@dataclass(frozen=True, slots=True)
class Cell:
    """What one wrk run measured."""

    rate: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    requests: int
    failures: int  # non-2xx/3xx replies and socket errors


@dataclass(frozen=True, slots=True)
class Cores:
    """Where the generator and the servers run; None where there is one core only."""

    generator: int | None
    server: int | None

    @classmethod
    def split(cls) -> Cores:
        available = sorted(os.sched_getaffinity(0))
        if len(available) < 2:
            return cls(None, None)
        return cls(available[0], available[-1])

    def describe(self) -> str:
        if self.server is None:
            return "one core: generator and server share it (ratios are rough)"
        return f"wrk pinned to core {self.generator}, servers to core {self.server}"


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        sys.exit(f"make bench needs wrk: run `make bench-deps` (as root: {WRK_INSTALL})")
    return found


def wrk_version(binary: str) -> str:
    printed = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return printed.split("[")[0].strip() or "wrk"


_LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# wrk's report stops at p99; every run's script ends with this, which prints p99.9 (microseconds).
_P999 = """
done = function(summary, latency, requests)
  io.write(string.format("p99.9 %d\\n", latency:percentile(99.9)))
end
"""
_P999_LINE = re.compile(r"^p99\.9 (\d+)$", re.MULTILINE)


def parse_wrk(output: str) -> Cell:
    """The figures in wrk's `--latency` report."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if rate is None or total is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    latency = {m[1]: float(m[2]) * _UNIT_MS[m[3]] for m in _LATENCY.finditer(output)}
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failures = (int(non_2xx[1]) if non_2xx else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0
    )
    p999 = _P999_LINE.search(output)
    return Cell(
        rate=float(rate[1]),
        p50_ms=latency.get("50", float("nan")),
        p99_ms=latency.get("99", float("nan")),
        p999_ms=int(p999[1]) / 1000 if p999 else float("nan"),
        requests=int(total[1]),
        failures=failures,
    )


def pinned(core: int | None) -> Callable[[], None] | None:
    """A Popen `preexec_fn` that runs the child on `core` alone."""
    if core is None:
        return None
    return lambda: os.sched_setaffinity(0, {core})


class Load:
    """wrk on the generator core, with its Lua scripts in a temporary folder."""

    def __init__(
        self, binary: str, cores: Cores, seconds: float, folder: Path, repeats: int = 1
    ) -> None:
        self.binary, self.cores, self.seconds, self.folder = binary, cores, seconds, folder
        self.repeats = repeats

    def pair(
        self, bare_url: str, fake_url: str, connections: int, script: str | None = None
    ) -> tuple[Cell, Cell]:
        """Both servers, alternately, `repeats` times each; the median of each figure, so a
        neighbour's burst on a shared machine moves neither side alone."""
        bare, fake = [], []
        for _ in range(self.repeats):
            bare.append(self.run(bare_url, connections, script=script))
            fake.append(self.run(fake_url, connections, script=script))
        return _median(bare), _median(fake)

    def run(
        self,
        url: str,
        connections: int,
        *,
        script: str | None = None,
        seconds: float | None = None,
    ) -> Cell:
        command = [
            self.binary,
            *("-t1", f"-c{connections}", f"-d{seconds or self.seconds:g}s", "--latency"),
            *("--timeout", "10s", "-H", KEY_HEADER),
        ]
        script = (script or "") + _P999
        path = self.folder / f"script{abs(hash(script))}.lua"
        path.write_text(script)
        command += ["-s", str(path), url]
        finished = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=pinned(self.cores.generator),
        )
        return parse_wrk(finished.stdout)


def _median(cells: list[Cell]) -> Cell:
    """Each figure's median over the runs: a p99 is the slowest 1 % of one run, and at one
    connection a single stall of the shared machine in the run of median rate was enough to
    double it (seen with both servers)."""
    return Cell(
        rate=statistics.median(cell.rate for cell in cells),
        p50_ms=statistics.median(cell.p50_ms for cell in cells),
        p99_ms=statistics.median(cell.p99_ms for cell in cells),
        p999_ms=statistics.median(cell.p999_ms for cell in cells),
        requests=sum(cell.requests for cell in cells),
        failures=sum(cell.failures for cell in cells),
    )


def submit_script(limit: int | None = None) -> str:
    """POSTs the seed input; with `limit`, stops after that many replies."""
    body = json.dumps(INPUT)
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = {json.dumps(body)}",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    if limit is not None:
        lines += [
            "local replies = 0",
            "response = function(status, headers, body)",
            "  replies = replies + 1",
            f"  if replies >= {limit} then wrk.thread:stop() end",
            "end",
        ]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(port: int, path: str, method: str = "GET", body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 exchange on a fresh socket: (status, body); raw, so it costs little."""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{KEY_HEADER}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before a reply")
            reply += chunk
        head_bytes, content = reply.split(b"\r\n\r\n", 1)
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head_bytes)
        while length is not None and len(content) < int(length[1]):
            chunk = sock.recv(65536)
            if not chunk:
                break
            content += chunk
    return int(head_bytes.split(b" ", 2)[1]), content


@dataclass
class Running:
    """A server in a child process, pinned to the server core."""

    process: subprocess.Popen[bytes]
    port: int
    startup_seconds: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(found[1]) / 1024 if found else float("nan")


@contextlib.contextmanager
def serving(
    command: Sequence[str], port: int, ready_path: str, core: int | None
) -> Iterator[Running]:
    """Start `command`, time it to the first 200 on `ready_path`, and stop it at the end."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pinned(core),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not start")
            with contextlib.suppress(OSError):
                if get(port, ready_path)[0] == 200:
                    break
            time.sleep(0.002)
        yield Running(process, port, time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(timeout=30)


def fake_command(port: int, ca_dir: str, *flags: str) -> list[str]:
    return [
        *(sys.executable, "-m", "falfake", "serve", "--port", str(port)),
        *("--ca-dir", ca_dir, "--video-size", "64x36"),
        *flags,
    ]


def baseline_command(port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "tests.benchmarks.baseline_app:app"),
        *("--port", str(port), "--log-level", "warning"),
    ]


def null_command(port: int) -> list[str]:
    return [sys.executable, "-m", "tests.benchmarks.null_server", str(port)]


def submitted_id(port: int) -> str:
    status, body = get(port, SUBMIT_PATH, "POST", json.dumps(INPUT).encode())
    if status != 200:
        raise RuntimeError(f"submit answered {status}: {body!r}")
    request_id: str = json.loads(body)["request_id"]
    return request_id


def finished_id(port: int) -> str:
    """A request run to COMPLETED whose result (and video) has been fetched once."""
    request_id = submitted_id(port)
    deadline = time.monotonic() + 30
    while get(port, f"/queue/{APP}/requests/{request_id}/status")[0] != 200:
        if time.monotonic() > deadline:
            raise RuntimeError("the bench request did not finish")
        time.sleep(0.01)
    get(port, f"/queue/{APP}/requests/{request_id}")
    return request_id


def _ms(value: float) -> str:
    return f"{value:.2f}"


class Report:
    """Prints rows of falfake against the baseline, judged against the generator's ceiling."""

    def __init__(self, ceiling: dict[int, Cell]) -> None:
        self.ceiling = ceiling

    def header(self, first: str = "route") -> None:
        print(
            f"{first:<22}{'conns':>6} | {'bare/s':>8} {'p50':>6} {'p99':>6} {'p99.9':>6} |"
            f" {'falfake/s':>9} {'p50':>6} {'p99':>6} {'p99.9':>6} | {'ratio':>6} {'p99 x':>6}"
            "  target"
        )

    def row(self, route: str, connections: int, bare: Cell, fake: Cell, target: float) -> None:
        limit = CEILING_SHARE * self.ceiling[connections].rate
        near = [name for name, cell in (("bare", bare), ("falfake", fake)) if cell.rate >= limit]
        ratio = None if near else fake.rate / bare.rate
        tail = fake.p99_ms / bare.p99_ms
        shown = f"{ratio:>5.2f}x {tail:>5.1f}x" if ratio is not None else f"{'-':>6} {tail:>5.1f}x"
        if ratio is None:
            verdict = f"no ratio: {' and '.join(near)} within {CEILING_SHARE:.0%} of wrk's ceiling"
        else:
            met = ratio >= target and tail <= P99_LIMIT
            verdict = f">= {target}x, p99 <= {P99_LIMIT:g}x: {'met' if met else 'NOT met'}"
        failures = ""
        if bare.failures or fake.failures:
            failures = f"  [failures: bare {bare.failures}, falfake {fake.failures}]"
        print(
            f"{route:<22}{connections:>6} | {bare.rate:>8.0f} {_ms(bare.p50_ms):>6}"
            f" {_ms(bare.p99_ms):>6} {_ms(bare.p999_ms):>6} | {fake.rate:>9.0f}"
            f" {_ms(fake.p50_ms):>6} {_ms(fake.p99_ms):>6} {_ms(fake.p999_ms):>6} |"
            f" {shown}  {verdict}{failures}"
        )


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({model}), Python {sys.version.split()[0]}"


def ceiling(load: Load, cores: Cores, connections: Sequence[int]) -> dict[int, Cell]:
    port = free_port()
    with serving(null_command(port), port, "/", cores.server) as null:
        return {n: load.run(f"{null.url}/", n) for n in connections}


def rate_table(load: Load, cores: Cores, ca_dir: str, report: Report) -> None:
    """Status and result at 1, 16 and 64 connections, submit at 16; startup and memory."""
    bare_port, fake_port = free_port(), free_port()
    bare_ready = f"/queue/{APP}/requests/r/status"
    fake_flags = ("--queue-seconds", "0", "--run-seconds", "0")
    with (
        serving(baseline_command(bare_port), bare_port, bare_ready, cores.server) as bare,
        serving(
            fake_command(fake_port, ca_dir, *fake_flags),
            fake_port,
            "/_falfake/clock",
            cores.server,
        ) as fake,
    ):
        idle = (bare.rss_mib(), fake.rss_mib())
        request_id = finished_id(fake_port)
        report.header()
        for route, suffix in (("status", "/status"), ("result", "")):
            for connections in (1, 16, 64):
                bare_cell, fake_cell = load.pair(
                    f"{bare.url}/queue/{APP}/requests/r{suffix}",
                    f"{fake.url}/queue/{APP}/requests/{request_id}{suffix}",
                    connections,
                )
                report.row(route, connections, bare_cell, fake_cell, POLL_TARGET)
        bare_cell, fake_cell = load.pair(
            f"{bare.url}{SUBMIT_PATH}", f"{fake.url}{SUBMIT_PATH}", 16, submit_script()
        )
        report.row("submit", 16, bare_cell, fake_cell, SUBMIT_TARGET)
        loaded = (bare.rss_mib(), fake.rss_mib())
    print(
        f"\nstartup to the first 200: bare {bare.startup_seconds:.2f} s,"
        f" falfake {fake.startup_seconds:.2f} s (target <= 0.35 s)"
    )
    print(
        f"RSS idle: bare {idle[0]:.0f} MiB, falfake {idle[1]:.0f} MiB (target < 60 MiB);"
        f" after the load: bare {loaded[0]:.0f} MiB, falfake {loaded[1]:.0f} MiB"
    )


@dataclass(frozen=True, slots=True)
class Shares:
    """Falfake's status and submit rates, and each as a share of the bare app's."""

    status: float
    submit: float
    status_share: float
    submit_share: float


def status_and_submit(load: Load, fake: Running, bare: Running) -> Shares:
    """Polls of a request submitted now, then one run of submits, each right after the bare
    app's: a share of the baseline measured at the same moment, so a shared machine's change
    of speed between "near the start" and "piled up" cancels out instead of reading as a ratio."""
    probe = submitted_id(fake.port)
    bare_status, status = load.pair(
        f"{bare.url}/queue/{APP}/requests/r/status",
        f"{fake.url}/queue/{APP}/requests/{probe}/status",
        16,
    )
    bare_submit = load.run(f"{bare.url}{SUBMIT_PATH}", 16, script=submit_script())
    submit = load.run(f"{fake.url}{SUBMIT_PATH}", 16, script=submit_script())
    return Shares(
        status.rate, submit.rate, status.rate / bare_status.rate, submit.rate / bare_submit.rate
    )


def scale_cells(
    load: Load, cores: Cores, ca_dir: str, work: int, data_dir: Path | None = None
) -> None:
    """Status and submit rates near the start against the same with `work` requests piled up:
    in progress (long runs, unbounded runners), then waiting in the queue (default runners);
    with `data_dir`, each fake keeps its state in a new data directory under it (SQLite).
    The ratio compares shares of the bare app measured alongside each."""
    kept = "" if data_dir is None else ", --data-dir"
    print(f"\n{'scale' + kept:<34} {'status/s':>9} {'submit/s':>9}  (share of the bare app's)")
    cases = (
        ("in progress", work, ("--runners", "1000000")),
        ("waiting", 2 * work, ()),
    )
    bare_port = free_port()
    bare_ready = f"/queue/{APP}/requests/r/status"
    with serving(baseline_command(bare_port), bare_port, bare_ready, cores.server) as bare:
        for what, count, runners in cases:
            port = free_port()
            flags = (
                *("--queue-seconds", "0", "--run-seconds", "3600", *runners),
                *("--max-requests", "10000000", "--request-ttl", "86400"),
                *(() if data_dir is None else ("--data-dir", str(data_dir / what))),
            )
            with serving(
                fake_command(port, ca_dir, *flags), port, "/_falfake/clock", cores.server
            ) as fake:
                start = status_and_submit(load, fake, bare)
                load.run(f"{fake.url}{SUBMIT_PATH}", 16, script=submit_script(count))
                piled = status_and_submit(load, fake, bare)
            for label, shares in (("near the start", start), (f"with {count:,}+ {what}", piled)):
                print(
                    f"{label:<34} {shares.status:>9.0f} {shares.submit:>9.0f}"
                    f"  ({shares.status_share:.2f}x, {shares.submit_share:.2f}x)"
                )
            print(
                f"{'':<34} ratio {piled.status_share / start.status_share:.2f}x /"
                f" {piled.submit_share / start.submit_share:.2f}x (target >= 0.8x)"
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each wrk run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell and server")
    parser.add_argument("--work", type=int, default=10_000, help="requests piled up in scale cells")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale cells")
    parser.add_argument(
        "--data-dir",
        action="store_true",
        help="the scale and history cells again with --data-dir (SQLite)",
    )
    parser.add_argument(
        "--retained",
        default="100000,1000000",
        help="finished requests kept in the history cells, besides the default bound (10,000);"
        " empty for that bound only",
    )
    parser.add_argument("--no-history", action="store_true", help="skip the history cells")
    args = parser.parse_args(argv)
    retained = [int(count) for count in args.retained.split(",") if count]
    binary = wrk_binary()
    cores = Cores.split()
    print(f"machine: {machine()}; {wrk_version(binary)}, one thread; {cores.describe()}")
    print(
        f"each cell: {args.repeats} runs of {args.seconds:g} s per server, alternating, each"
        f" figure's median shown; every request carries `{KEY_HEADER}`\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        load = Load(binary, cores, args.seconds, Path(folder), args.repeats)
        top = ceiling(load, cores, (1, 16, 64))
        print(
            "generator ceiling (wrk against a null server): "
            + ", ".join(f"{n} conns {cell.rate:,.0f}/s" for n, cell in top.items())
            + "\n"
        )
        report = Report(top)
        ca_dir = str(Path(folder) / "ca")
        rate_table(load, cores, ca_dir, report)
        if not args.no_scale:
            scale_cells(load, cores, ca_dir, args.work)
            if args.data_dir:
                scale_cells(load, cores, ca_dir, args.work, Path(folder) / "data")
        if not args.no_history:
            from tests.benchmarks.history import history_cells  # it builds on this module

            history_cells(load, cores, ca_dir, report, retained)
            if args.data_dir:
                history_cells(load, cores, ca_dir, report, retained, Path(folder) / "history")


if __name__ == "__main__":
    main()

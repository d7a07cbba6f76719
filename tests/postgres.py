"""Throwaway PostgreSQL clusters from Debian's binaries, for the tests of `--database`.

The suite runs as root and `initdb` refuses root, so the server runs as the `postgres` user on a
folder it owns. `fsync=off`: a test cluster has nothing worth an fsync (never set it elsewhere).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.real_parts import missing

INSTALL = "apt-get install postgresql"
REQUIRED = "FALFAKE_REQUIRE_POSTGRES"  # set by CI: no PostgreSQL is a failure there, not a skip


def binaries() -> Path:
    """The folder of initdb and pg_ctl; fails in CI and skips elsewhere when there is none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        missing("PostgreSQL", "the --database tests", INSTALL, REQUIRED)
    return Path(found[-1]).parent


class Cluster:
    """One PostgreSQL server on a loopback port, with a database per `database()` call."""

    def __init__(self, bin_dir: Path, folder: Path, port: int, options: str = "") -> None:
        self._bin = bin_dir
        self.folder = folder
        self.port = port
        self._options = options

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def database(self) -> str:
        """A new empty database; its URL."""
        return self.database_named(f"t_{uuid.uuid4().hex[:12]}")

    def database_named(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def start(self) -> None:
        self._pg_ctl("-w", "-t", "60", "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "restart")

    def _pg_ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            f" -c fsync=off -c max_connections=200 {self._options}"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.folder / "data"),
            "-l",
            str(self.folder / "log"),
            "-o",
            options,
            *args,
        )

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def cluster(options: str = "") -> Iterator[Cluster]:
    """A new cluster on a free port (with more server `options`, `-c name=value ...`),
    started; stopped and removed afterwards."""
    bin_dir = binaries()
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="falfake-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    made = Cluster(bin_dir, folder, port, options)
    made._run("initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres")
    made.start()
    try:
        yield made
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            made.stop()
        shutil.rmtree(folder, ignore_errors=True)

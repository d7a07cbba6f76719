"""Shared fixtures: a manual clock, fast settings, a fresh app per test and an in-process client."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from falfake import ManualClock, Settings, Timing, create_app
from falfake.clock import Clock
from falfake.runtime.server import Server, bind
from falfake.runtime.tls import CertificateAuthority
from tests.postgres import Cluster, cluster

pytest_plugins = ("falfake.pytest_plugin",)

_HOME = pytest.StashKey[tuple[pytest.MonkeyPatch, Path, list[Path]]]()


def pytest_configure(config: pytest.Config) -> None:
    """The whole run, subprocesses included, gets a home of its own, so no test writes a CA, a
    key or a data directory into the user's (the one `falfake serve` would use by default)."""
    watched = [Path.home() / ".local" / "share" / "falfake"]
    if os.environ.get("XDG_DATA_HOME"):
        watched.append(Path(os.environ["XDG_DATA_HOME"]) / "falfake")
    home = Path(tempfile.mkdtemp(prefix="falfake-tests-home-"))
    patch = pytest.MonkeyPatch()
    patch.setenv("HOME", str(home))
    for name, folder in [("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config")]:
        patch.setenv(name, str(home / folder))
    patch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    config.stash[_HOME] = (patch, home, watched)


def pytest_unconfigure(config: pytest.Config) -> None:
    patch, home, _ = config.stash[_HOME]
    patch.undo()
    shutil.rmtree(home, ignore_errors=True)


def _snapshot(folders: list[Path]) -> list[tuple[str, int, int]]:
    entries = []
    for folder in folders:
        for path in [folder, *folder.rglob("*")] if folder.exists() else []:
            stat = path.stat()
            entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return entries


@pytest.fixture(scope="session", autouse=True)
def the_users_own_falfake_folders_are_untouched(request: pytest.FixtureRequest) -> Iterator[None]:
    _, home, watched = request.config.stash[_HOME]
    assert Path.home() == home
    before = _snapshot(watched)
    yield
    assert _snapshot(watched) == before, f"a test wrote into {watched}"


BASE_URL = "http://127.0.0.1:8000"
REPLICA = f"{socket.gethostname()}:{os.getpid()}"  # how a fake in this process names itself
KEY = {"Authorization": "Key test-key"}
ENDPOINT = "google/gemini-omni-flash/reference-to-video"
APP = "google/gemini-omni-flash"
SUBMIT_URL = f"/queue/{ENDPOINT}"
VALID_INPUT = {
    "prompt": "A cat <IMAGE_REF_0> bats at a ball of yarn",
    "image_urls": ["https://example.com/cat.png"],
    "duration": 3,
}


def png(color: tuple[int, int, int] = (220, 30, 30), size: tuple[int, int] = (64, 48)) -> bytes:
    """A real PNG of one colour: the fake decodes reference images."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings() -> Settings:
    """One second in the queue, two running, one runner, and small videos so tests stay fast."""
    return Settings(
        timing=Timing(queue_seconds=1.0, run_seconds=2.0, runners=1),
        video_width=320,
        video_height=180,
    )


@pytest.fixture
def request_ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"00000000-0000-7000-8000-{next(counter):012d}"


@pytest.fixture
def app(settings: Settings, clock: ManualClock, request_ids: Callable[[], str]) -> Starlette:
    return create_app(settings, clock=clock, new_request_id=request_ids)


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as client:
        yield client


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The same app as `http`, called without a fal key."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture(scope="session")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """A local CA for the session, in a temporary folder (never the user's)."""
    return CertificateAuthority(tmp_path_factory.mktemp("ca")).ensure()


def eventually(check: Callable[[], object], seconds: float = 15.0) -> None:
    """Wait, polling, for what a thread or another process does: a deadline to fail by, never a
    duration the test assumes."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


@contextlib.contextmanager
def running_fake(
    settings: Settings, authority: CertificateAuthority, port: int = 0, clock: Clock | None = None
) -> Iterator[str]:
    """A real fake in a thread, on a loopback port (a free one by default); yields its base URL."""
    sock = bind("127.0.0.1", port)
    app = create_app(settings, clock=clock)
    server = Server(app, authority.server_context, log_level="warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


REAL_TIME = Settings(
    timing=Timing(queue_seconds=0.2, run_seconds=0.3, runners=2),
    video_width=64,
    video_height=36,
)


@pytest.fixture(scope="session")
def server_url(authority: CertificateAuthority) -> Iterator[str]:
    """A real fake on real time: a short lifecycle and tiny videos."""
    with running_fake(REAL_TIME, authority) as url:
        yield url


@pytest.fixture(scope="session")
def pg() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the run (each test makes its own database)."""
    with cluster() as made:
        yield made

"""A real fake on a manual clock, the unmodified fal-client pointed at it by environment, and
Debian's chromium driven by Playwright (its own browser download cannot work here)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from falfake import ManualClock, Settings, Timing
from falfake.runtime.tls import CertificateAuthority
from tests.conftest import running_fake
from tests.real_parts import missing

INSTALL = "make browser-deps  (as root: apt-get install -y chromium fonts-dejavu-core)"
SETTINGS = Settings(timing=Timing(1.0, 4.0, 2), video_width=64, video_height=36)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing("chromium", "the dashboard tests", INSTALL, "FALFAKE_REQUIRE_BROWSER")
    return found


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Any]:
    """One per test: Playwright's sync API holds an event loop in this thread while it runs,
    which the suite's async tests cannot share."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-proxy-server", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, dashboard: str) -> Iterator[Any]:
    """A fresh tab, closed before the fake stops (its live streams end with it)."""
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


@pytest.fixture
def dashboard(authority: CertificateAuthority, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fake's base URL; fal-client in this process reaches it as it would reach fal."""
    with running_fake(SETTINGS, authority, clock=ManualClock()) as url:
        for name, value in {
            "FAL_KEY": "ui-test:key",
            "HTTPS_PROXY": url,
            "SSL_CERT_FILE": str(authority.bundle_path),
            "NO_PROXY": "127.0.0.1,localhost,::1",
        }.items():
            monkeypatch.setenv(name, value)
        yield url


@pytest.fixture
def fal(dashboard: str) -> Iterator[Any]:
    """The unmodified fal-client, reaching the fake through its proxy as it would reach fal."""
    import fal_client

    client = fal_client.SyncClient()
    yield client
    # Its connection pool keeps the proxy tunnel open, which would hold the fake's shutdown.
    if "_client" in vars(client):
        client._client.close()


def advance(url: str, seconds: float) -> None:
    """Move the fake's clock, through its control API (the server's own thread does it)."""
    reply = httpx.post(f"{url}/_falfake/clock/advance", json={"seconds": seconds})
    assert reply.status_code == 200, reply.text

"""Keys and hosts, as the official clients find them, plus falfake's layout."""

from __future__ import annotations

import pytest

from falfake.client import FalClient, Hosts, MissingCredentials
from falfake.client.config import resolve_key


def test_key_from_argument_then_fal_key_then_id_and_secret() -> None:
    assert resolve_key("arg", {"FAL_KEY": "env"}) == "arg"
    assert resolve_key(None, {"FAL_KEY": "env"}) == "env"
    assert resolve_key(None, {"FAL_KEY_ID": "id", "FAL_KEY_SECRET": "s"}) == "id:s"


def test_no_key_anywhere_is_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAL_KEY", raising=False)
    monkeypatch.delenv("FAL_KEY_ID", raising=False)
    with pytest.raises(MissingCredentials, match="FAL_KEY"):
        FalClient()


def test_default_hosts_are_fals() -> None:
    assert Hosts.from_env({}) == Hosts(
        queue="https://queue.fal.run",
        run="https://fal.run",
        rest="https://rest.fal.ai",
        cdn="https://v3.fal.media",
    )


def test_falfake_url_selects_the_prefixes_and_single_hosts_override() -> None:
    hosts = Hosts.from_env(
        {"FALFAKE_URL": "http://127.0.0.1:8000/", "FAL_CDN_URL": "http://127.0.0.1:9/cdn/"}
    )
    assert hosts == Hosts(
        queue="http://127.0.0.1:8000/queue",
        run="http://127.0.0.1:8000/run",
        rest="http://127.0.0.1:8000/rest",
        cdn="http://127.0.0.1:9/cdn",
    )

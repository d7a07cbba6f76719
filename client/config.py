"""Where the client sends requests and with which key: fal by default, falfake on request."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from falfake.client.errors import MissingCredentials


@dataclass(frozen=True, slots=True)
class Hosts:
    """Base URLs of fal's four services."""

    queue: str = "https://queue.fal.run"
    run: str = "https://fal.run"
    rest: str = "https://rest.fal.ai"
    cdn: str = "https://v3.fal.media"

    @classmethod
    def falfake(cls, base_url: str) -> Hosts:
        """A falfake reached directly: every service under its path prefix."""
        base = base_url.rstrip("/")
        return cls(queue=f"{base}/queue", run=f"{base}/run", rest=f"{base}/rest", cdn=f"{base}/cdn")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Hosts:
        """`FALFAKE_URL` selects a falfake; `FAL_QUEUE_URL`, `FAL_RUN_URL`, `FAL_REST_URL` and
        `FAL_CDN_URL` override single services; otherwise fal's own hosts."""
        hosts = cls.falfake(env["FALFAKE_URL"]) if env.get("FALFAKE_URL") else cls()
        return cls(
            queue=env.get("FAL_QUEUE_URL", hosts.queue).rstrip("/"),
            run=env.get("FAL_RUN_URL", hosts.run).rstrip("/"),
            rest=env.get("FAL_REST_URL", hosts.rest).rstrip("/"),
            cdn=env.get("FAL_CDN_URL", hosts.cdn).rstrip("/"),
        )


def resolve_key(key: str | None, env: Mapping[str, str] = os.environ) -> str:
    """The key as the official clients find it: argument, FAL_KEY, or FAL_KEY_ID+FAL_KEY_SECRET."""
    if key:
        return key
    if env.get("FAL_KEY"):
        return env["FAL_KEY"]
    if env.get("FAL_KEY_ID") and env.get("FAL_KEY_SECRET"):
        return f"{env['FAL_KEY_ID']}:{env['FAL_KEY_SECRET']}"
    raise MissingCredentials("No fal key: pass key=... or set FAL_KEY.")

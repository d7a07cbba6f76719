"""Replay with `--on-miss record`: uploads stay on the fake (a replayed call matches them by
their bytes), so a call forwarded upstream has its input files uploaded there first, through the
upstream's own storage API (a CDN token, then one upload: the Python client's way)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from falfake.settings import Upstream
from falfake.upstream.targets import roots_of


def uploader(
    upstream: Upstream, client: httpx.AsyncClient
) -> Callable[[bytes, str, str], Awaitable[str]]:
    """Upload bytes (their content type, their name) to the upstream's CDN with falfake's key;
    the file's URL there."""

    async def upload(data: bytes, content_type: str, name: str) -> str:
        rest = roots_of(upstream)["rest"]
        token = await client.post(
            f"{rest}/storage/auth/token",
            params={"storage_type": "fal-cdn-v3"},
            json={},
            headers={"authorization": f"Key {upstream.key}"},
        )
        token.raise_for_status()
        granted = token.json()
        uploaded = await client.post(
            f"{granted['base_url']}/files/upload",
            content=data,
            headers={
                "authorization": f"{granted['token_type']} {granted['token']}",
                "content-type": content_type,
                "x-fal-file-name": name,
            },
        )
        uploaded.raise_for_status()
        url: str = uploaded.json()["access_url"]
        return url

    return upload

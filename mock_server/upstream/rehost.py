"""Replay with `--on-miss record`: uploads stay on the fake (a replayed call matches them by
their bytes), so a call forwarded upstream has its input files uploaded there first, through the
upstream's own storage API (a CDN token, then one upload: the Python client's way)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from falfake.settings import Upstream
from falfake.upstream.targets import roots_of

ReadFile = Callable[[str], Awaitable[tuple[bytes, str]]]


async def rehosted(node: Any, local_files: str, read: ReadFile, upload: Callable[..., Any]) -> Any:
    """`node` with each URL of a file on the fake (under `local_files`) replaced by the URL the
    same bytes got upstream."""
    if isinstance(node, str) and node.startswith(f"{local_files}/"):
        data, content_type = await read(node)
        return await upload(data, content_type, node.rsplit("/", 1)[-1])
    if isinstance(node, list):
        return [await rehosted(item, local_files, read, upload) for item in node]
    if isinstance(node, dict):
        return {k: await rehosted(v, local_files, read, upload) for k, v in node.items()}
    return node


def uploader(upstream: Upstream, client: httpx.AsyncClient) -> Callable[..., Any]:
    """Upload bytes to the upstream's CDN with falfake's key; the file's URL there."""

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

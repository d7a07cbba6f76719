"""Recording forwarded lifecycles (`--record DIR`): a followed request, once done, written as one
file (`upstream.recordings`) with its input files and output media fetched and kept by digest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from falfake.settings import Upstream
from falfake.upstream.follow import Followed, Observer
from falfake.upstream.recordings import (
    INPUTS,
    digest_marker,
    matched_input,
    media_marked,
    stored_media,
    write,
)
from falfake.upstream.targets import files_replaced

InputFile = Callable[[str], Awaitable[bytes]]


def recorder(
    upstream: Upstream,
    endpoint_id: str,
    app_input: Any,
    local_files: str,
    input_file: InputFile,
    *,
    version: str,
    now: Callable[[], float],
) -> Observer:
    """What records one followed request: `app_input` as the app sent it (files on the fake,
    under `local_files`, read by `input_file` and kept by digest)."""
    assert upstream.record_dir is not None
    folder: Path = upstream.record_dir

    async def record(followed: Followed) -> None:
        matched = matched_input(
            await _digested(app_input, local_files, input_file, folder), upstream.match_ignore
        )
        async with httpx.AsyncClient(timeout=60.0) as client:  # media needs no key, gets none
            media: dict[str, dict[str, Any]] = {}
            for url in _urls(followed.result):
                reply = await client.get(url)
                content_type = reply.headers.get("content-type", "application/octet-stream")
                media[url] = stored_media(folder, reply.content, content_type, url)
        body = media_marked(followed.result, media.get)
        recorded = {
            "states": followed.states,
            "result": {
                "status": followed.result_status,
                "headers": followed.result_headers,
                "body": body,
            },
        }
        write(
            folder, endpoint_id, matched, recorded,
            secret=str(upstream.key), version=version, now=now(),
        )  # fmt: skip

    return record


async def _digested(node: Any, local_files: str, input_file: InputFile, folder: Path) -> Any:
    """`node` with each URL of a file on the fake replaced by the digest of its bytes, the bytes
    kept under inputs/."""

    async def digest(url: str) -> dict[str, str]:
        data = await input_file(url)
        marker = digest_marker(data)
        (folder / INPUTS).mkdir(parents=True, exist_ok=True)
        (folder / INPUTS / marker["$digest"].removeprefix("sha256:")).write_bytes(data)
        return marker

    return await files_replaced(node, f"{local_files}/", digest)


def _urls(node: Any) -> list[str]:
    found: list[str] = []
    media_marked(node, lambda url: found.append(url))
    return found

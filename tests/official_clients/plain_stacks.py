"""A queue lifecycle on fal's real host names with one plain HTTP stack, as an app that does not
use fal's client would: submit, poll the status URL to COMPLETED, read the result, fetch the image.

Run by tests/official_clients/test_http_stacks.py under `falfake exec` and nothing else, so only
the variables it exports send the calls to the fake. Prints one JSON object.
Usage: python plain_stacks.py requests|urllib|httpx|aiohttp|curl
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from typing import Any

SUBMIT = "https://queue.fal.run/fal-ai/flux/schnell"
INPUT = {"prompt": "a fox", "image_size": "square"}
HEADERS = {"Authorization": f"Key {os.environ.get('FAL_KEY', '')}"}
Call = Callable[[str, str, dict[str, Any] | None], bytes]


def lifecycle(call: Call) -> dict[str, Any]:
    submitted = json.loads(call("POST", SUBMIT, INPUT))
    statuses: list[str] = []
    while not statuses or statuses[-1] != "COMPLETED":
        statuses.append(json.loads(call("GET", submitted["status_url"], None))["status"])
    result = json.loads(call("GET", submitted["response_url"], None))
    image = call("GET", result["images"][0]["url"], None)
    return {
        "status_url": submitted["status_url"],
        "last_status": statuses[-1],
        "jpeg": image[:2] == b"\xff\xd8",
    }


def with_requests(method: str, url: str, body: dict[str, Any] | None) -> bytes:
    import requests

    reply = requests.request(method, url, json=body, headers=HEADERS, timeout=30)
    reply.raise_for_status()
    return reply.content


def with_urllib(method: str, url: str, body: dict[str, Any] | None) -> bytes:
    data = None if body is None else json.dumps(body).encode()
    headers = {**HEADERS, "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as reply:
        content: bytes = reply.read()
        return content


def with_httpx(method: str, url: str, body: dict[str, Any] | None) -> bytes:
    import httpx

    reply = httpx.request(method, url, json=body, headers=HEADERS, timeout=30)
    reply.raise_for_status()
    return reply.content


def with_aiohttp(method: str, url: str, body: dict[str, Any] | None) -> bytes:
    import aiohttp

    async def call() -> bytes:
        # aiohttp ignores HTTPS_PROXY and SSL_CERT_FILE unless trust_env=True (README).
        async with (
            aiohttp.ClientSession(trust_env=True) as session,
            session.request(method, url, json=body, headers=HEADERS) as reply,
        ):
            reply.raise_for_status()
            return await reply.read()

    return asyncio.run(call())


def with_curl(method: str, url: str, body: dict[str, Any] | None) -> bytes:
    command = [
        "curl",
        "-sS",
        "--fail",
        "-X",
        method,
        "-H",
        f"Authorization: {HEADERS['Authorization']}",
    ]
    if body is not None:
        command += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
    return subprocess.run([*command, url], capture_output=True, check=True, timeout=30).stdout


STACKS: dict[str, Call] = {
    "requests": with_requests,
    "urllib": with_urllib,
    "httpx": with_httpx,
    "aiohttp": with_aiohttp,
    "curl": with_curl,
}

if __name__ == "__main__":
    print(json.dumps(lifecycle(STACKS[sys.argv[1]])))

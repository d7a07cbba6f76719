"""`falfake verify`: the contract recordings replayed against the fake itself, in this process on a
manual clock (or against any target `python -m falfake.contracts verify` takes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from falfake.contracts.__main__ import main as contracts_main
from falfake.contracts.runner import Target


def in_process_target() -> Target:
    """falfake itself, in this process, on a manual clock: replays take milliseconds."""
    import httpx

    from falfake.app import create_app
    from falfake.clock import ManualClock
    from falfake.settings import Settings

    clock = ManualClock()
    app = create_app(Settings(video_width=64, video_height=36), clock=clock)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
    )

    async def send(
        service: str, method: str, path: str, headers: dict[str, str], body: Any
    ) -> httpx.Response:
        return await client.request(method, f"/{service}{path}", headers=headers, json=body)

    async def wait() -> None:
        clock.advance(0.5)

    return Target(send, wait, "falfake-contracts", client)


def main(argv: Sequence[str]) -> int:
    return contracts_main(["verify", *argv], in_process=in_process_target, prog="falfake")

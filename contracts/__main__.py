"""`python -m falfake.contracts`: regenerate schemas, verify recordings against a target, record
live."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from falfake.contracts.drift import VOLATILE
from falfake.contracts.paths import contract_path
from falfake.contracts.runner import (
    PRICE_PER_SECOND,
    Recording,
    Report,
    Target,
    generalised,
    http_target,
    output_model,
    recordings,
    replay,
)
from falfake.contracts.schema_files import file_of, write_all

EXIT_DRIFT = 1
EXIT_USAGE = 2


def parser(prog: str = "python -m falfake.contracts") -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog=prog, description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("schemas", help="rewrite contracts/schemas/*.json and openapi.json")
    for name in ("verify", "record"):
        command = commands.add_parser(name, help=f"{name} the recorded exchanges")
        command.add_argument("--only", action="append", help="a recording's name (repeat)")
        command.add_argument(
            "--endpoint", action="append", help="only the recordings of this endpoint id (repeat)"
        )
        command.add_argument("--yes-i-pay", action="store_true", help="allow paid live requests")
        command.add_argument("--max-paid-requests", type=int, default=3)
    verify = commands.choices["verify"]
    verify.add_argument(
        "--target", default="fake", help="fake (with `falfake verify`), live, or a falfake URL"
    )
    verify.add_argument(
        "--key",
        default=None,
        help="the key sent to a falfake URL (one of its --key values) [default: $FAL_KEY, else"
        " test-key]; live runs always use $FAL_KEY",
    )
    verify.add_argument(
        "--recordings",
        type=Path,
        default=None,
        metavar="DIR",
        help="check falfake's recorded lifecycles in DIR (--record) against today's contract,"
        " offline, instead of replaying the exchanges",
    )
    commands.choices["record"].add_argument("--live", action="store_true", required=True)
    return root


def main(
    argv: list[str] | None = None,
    *,
    in_process: Callable[[], Target] | None = None,
    prog: str = "python -m falfake.contracts",
) -> int:
    """`in_process` makes the `fake` target: `falfake verify` hands in the fake itself."""
    args = parser(prog).parse_args(argv)
    if args.command == "schemas":
        for name in write_all():
            print(f"updated {file_of(name)}")
        return 0
    if args.command == "verify" and args.recordings is not None:
        return _verify_recordings(args.recordings)
    chosen = [
        r
        for r in recordings()
        if (not args.only or r.name in args.only)
        and (not args.endpoint or r.endpoint in args.endpoint)
    ]
    if not chosen:
        print("no recording matches --only/--endpoint")
        return EXIT_USAGE
    live = args.command == "record" or args.target == "live"
    if live:
        refusal = _live_refusal(chosen, args.yes_i_pay, args.max_paid_requests)
        if refusal is not None:
            print(refusal[1])
            return refusal[0]
    where = "live" if live else args.target
    if where not in ("fake", "live") and urlsplit(where).scheme not in ("http", "https"):
        print(f"--target {where}: expected fake, live or a falfake URL (http://HOST:PORT)")
        return EXIT_USAGE
    if where == "fake" and in_process is None:
        print("the fake in process is `falfake verify`; here, give --target URL or live")
        return EXIT_USAGE
    try:
        if args.command == "record":
            asyncio.run(_record(chosen, where))
            return 0
        report = asyncio.run(_verify(chosen, where, args.key, in_process))
    except httpx.HTTPError as exc:
        # The target is down or too slow: not a drift, and not a traceback either.
        print(f"cannot reach the target ({where}): {type(exc).__name__}: {exc}")
        return EXIT_USAGE
    print("\n".join(report.lines()))
    return EXIT_DRIFT if report.drifts else 0


def _verify_recordings(folder: Path) -> int:
    """Recorded lifecycles against today's models: the built-in endpoints' outputs are checked,
    others' are not (their documents are the user's)."""
    from falfake.contracts.lifecycles import verify_folder

    if not folder.is_dir():
        print(f"--recordings {folder}: no such folder")
        return EXIT_USAGE

    def model(endpoint: str) -> Any:
        try:
            return output_model(endpoint)
        except ValueError:  # not a built-in endpoint: no document to hold it to
            return None

    lines, drifted = verify_folder(folder, model)
    print("\n".join(lines) if lines else f"no recordings in {folder}")
    return EXIT_DRIFT if drifted else 0


def _target(
    where: str, key: str | None = None, in_process: Callable[[], Target] | None = None
) -> Target:
    if where == "live":
        return http_target(None, os.environ["FAL_KEY"], wait_seconds=5.0)
    if where == "fake" and in_process is not None:
        return in_process()
    return http_target(where, key or os.environ.get("FAL_KEY", "test-key"), wait_seconds=0.2)


def _live_refusal(chosen: list[Recording], confirmed: bool, cap: int) -> tuple[int, str] | None:
    """Why a live run must not start (exit code and message), or None."""
    if not os.environ.get("FAL_KEY"):
        return 0, "live contract check skipped: FAL_KEY is not set"
    paid = [r for r in chosen if r.paid_requests()]
    seconds = sum(r.paid_seconds() for r in paid)
    cost = seconds * PRICE_PER_SECOND
    estimate = f"{len(paid)} paid recordings, {seconds} s of video, about ${cost:.2f}"
    others = sum(len(r.paid_requests()) for r in paid if not r.paid_seconds())
    if others:
        estimate += f", and {others} runs of other endpoints at the prices on their fal pages"
    if len(paid) > cap:
        return EXIT_USAGE, f"{estimate}: over --max-paid-requests {cap}; use --only"
    if not confirmed:
        return EXIT_USAGE, f"{estimate}. Add --yes-i-pay to run against fal."
    print(estimate)
    return None


async def _verify(
    chosen: list[Recording],
    where: str,
    key: str | None,
    in_process: Callable[[], Target] | None,
) -> Report:
    report = Report()
    async with _target(where, key, in_process) as target:
        for recording in chosen:
            await replay(recording, target, report)
    return report


async def _record(chosen: list[Recording], where: str) -> None:
    """Replay live, then store what fal answered as the new recordings."""
    async with _target(where) as target:
        for recording in chosen:
            await _record_one(recording, target)


async def _record_one(recording: Recording, target: Target) -> None:
    replies = await replay(recording, target, Report())
    steps = [step for step in recording.exchanges if "request" in step]
    for step, (status, body) in zip(steps, replies, strict=False):
        step["response"] = {**step["response"], "status": status, "body": generalised(body)}
    document = {
        "provenance": {
            "kind": "live",
            "date": datetime.date.today().isoformat(),
            "source": "recorded from fal with python -m falfake.contracts record --live",
        },
        "endpoint": recording.endpoint,
        "exchanges": recording.exchanges,
    }
    path = contract_path("recordings", f"{recording.name}.json")
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"recorded {path} ({VOLATILE} marks ids, URLs and times)")


if __name__ == "__main__":
    sys.exit(main())

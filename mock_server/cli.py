"""The `falfake` / `python -m mock_server` command line: flags in, a running fake out."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence

from contracts import InputLimits
from mock_server.app import create_app
from mock_server.server import bind, make_server
from mock_server.settings import Auth, Retention, Settings, Timing

_TIMING, _RETENTION, _LIMITS = Timing(), Retention(), InputLimits()


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"([1-9][0-9]{1,4})x([1-9][0-9]{1,4})", text)
    if match is None or int(match.group(1)) % 2 or int(match.group(2)) % 2:
        raise argparse.ArgumentTypeError("expected WIDTHxHEIGHT with even numbers, e.g. 1280x720")
    return int(match.group(1)), int(match.group(2))


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="falfake", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the fake")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one")
    serve.add_argument("--log-level", default="warning")
    timing = serve.add_argument_group("simulated lifecycle")
    timing.add_argument("--queue-seconds", type=float, default=_TIMING.queue_seconds)
    timing.add_argument("--run-seconds", type=float, default=_TIMING.run_seconds)
    timing.add_argument("--runners", type=_positive_int, default=_TIMING.runners)
    auth = serve.add_argument_group("auth (default: any non-empty key)")
    auth.add_argument("--key", action="append", default=[], help="accepted id:secret (repeat)")
    auth.add_argument("--locked-key", action="append", default=[], help="id:secret answered 403")
    auth.add_argument("--allow-missing-key", action="store_true", help="accept no Authorization")
    behaviour = serve.add_argument_group("behaviour where fal's is unknown (PROTOCOL.md [I])")
    behaviour.add_argument("--validate-at", choices=["run", "submit"], default="run")
    behaviour.add_argument("--validation-detail", choices=["full", "minimal"], default="full")
    behaviour.add_argument("--ignore-cancel", action="store_true", help="finish running requests")
    behaviour.add_argument(
        "--cancel-completed-body", choices=["detail", "status"], default="detail"
    )
    behaviour.add_argument("--no-status-error-fields", action="store_true")
    behaviour.add_argument("--max-images", type=_positive_int, default=_LIMITS.max_images)
    behaviour.add_argument("--prompt-max-length", type=_positive_int, default=None)
    behaviour.add_argument("--image-refs", choices=["reject", "accept"], default="reject")
    behaviour.add_argument("--min-request-timeout", type=float, default=0.1)
    limits = serve.add_argument_group("limits")
    limits.add_argument("--request-ttl", type=_positive_float, default=3600.0)
    limits.add_argument("--max-requests", type=_positive_int, default=_RETENTION.max_requests)
    limits.add_argument("--max-files", type=_positive_int, default=_RETENTION.max_files)
    limits.add_argument("--max-body-bytes", type=_positive_int, default=64 * 1024 * 1024)
    media = serve.add_argument_group("media")
    media.add_argument("--video-size", type=_size, default=(1280, 720), help="16:9 size, WxH")
    media.add_argument("--public-url", default=None, help="base URL for media links")
    return root


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        timing=Timing(args.queue_seconds, args.run_seconds, args.runners),
        auth=Auth(
            keys=frozenset(args.key),
            locked_keys=frozenset(args.locked_key),
            allow_missing=args.allow_missing_key,
        ),
        retention=Retention(args.request_ttl, args.max_requests, args.max_files),
        limits=InputLimits(args.max_images, args.prompt_max_length, args.image_refs),
        validate_at=args.validate_at,
        validation_detail=args.validation_detail,
        honour_cancel=not args.ignore_cancel,
        cancel_completed_body=args.cancel_completed_body,
        status_error_fields=not args.no_status_error_fields,
        min_request_timeout_seconds=args.min_request_timeout,
        max_body_bytes=args.max_body_bytes,
        video_width=args.video_size[0],
        video_height=args.video_size[1],
        public_url=args.public_url,
    )


def banner(base_url: str) -> str:
    """What `make run` prints: where the fake is and how to call it."""
    queue = f"{base_url}/queue/google/gemini-omni-flash/reference-to-video"
    return f"""falfake is serving fal's queue API on {base_url}

  submit   POST {queue}
  status   GET  {base_url}/queue/google/gemini-omni-flash/requests/<request_id>/status?logs=1
  result   GET  {base_url}/queue/google/gemini-omni-flash/requests/<request_id>
  sync run POST {base_url}/run/google/gemini-omni-flash/reference-to-video

  curl -s -H 'Authorization: Key test-key' -H 'Content-Type: application/json' \\
    -d '{{"prompt": "a cat", "image_urls": ["https://example.com/cat.png"]}}' {queue}

Any non-empty key works (FAL_KEY=test-key). Press Ctrl+C to stop.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = settings_from(args)
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    print(banner(f"http://{shown_host}:{port}"), file=sys.stderr, flush=True)
    server = make_server(create_app(settings), log_level=args.log_level)
    asyncio.run(server.serve(sockets=[sock]))
    return 0

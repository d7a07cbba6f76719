"""The `falfake` / `python -m mock_server` command line: flags in, a running fake out."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from contracts import InputLimits
from mock_server.app import create_app
from mock_server.clock import SystemClock, VirtualClock
from mock_server.data_dir import DataDirError
from mock_server.safety import SafetyRules
from mock_server.scenarios import Scenario
from mock_server.server import Server, bind
from mock_server.settings import Auth, ImageLimits, Retention, Settings, Timing
from mock_server.signing import WebhookSigner
from mock_server.tls import CertificateAuthority, default_ca_dir
from mock_server.webhooks import WebhookSettings

_TIMING, _RETENTION, _LIMITS, _SETTINGS = Timing(), Retention(), InputLimits(), Settings()
_IMAGES, _WEBHOOKS = ImageLimits(), WebhookSettings()


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"([1-9][0-9]{1,4})x([1-9][0-9]{1,4})", text)
    if match is None or int(match.group(1)) % 2 or int(match.group(2)) % 2:
        raise argparse.ArgumentTypeError("expected WIDTHxHEIGHT with even numbers, e.g. 1280x720")
    return int(match.group(1)), int(match.group(2))


def _scenarios(path: str) -> tuple[Scenario, ...]:
    from mock_server.bodies import SCENARIO  # pydantic, only with --scenarios

    try:
        items = json.loads(Path(path).read_text())
        return tuple(SCENARIO.validate_python(item) for item in items)
    except (OSError, ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot use {path}: {exc}") from None


def _safety_rules(path: str) -> SafetyRules:
    try:
        return SafetyRules.from_file(Path(path))
    except (OSError, ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot use {path}: {exc}") from None


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
    serve.add_argument(
        "--clock",
        choices=["system", "virtual"],
        default="system",
        help="virtual: time moves only through POST /_falfake/clock/advance or run-until",
    )
    serve.add_argument(
        "--scenarios", type=_scenarios, default=(), help="JSON list of scenarios to start with"
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep requests, files, uploads and webhooks here (SQLite) across restarts",
    )
    serve.add_argument(
        "--ca-dir",
        type=Path,
        default=default_ca_dir(),
        help="where the local CA and the webhook signing key are kept",
    )
    timing = serve.add_argument_group("simulated lifecycle")
    timing.add_argument("--queue-seconds", type=float, default=_TIMING.queue_seconds)
    timing.add_argument("--run-seconds", type=float, default=_TIMING.run_seconds)
    timing.add_argument("--runners", type=_positive_int, default=_TIMING.runners)
    auth = serve.add_argument_group("auth (default: any non-empty key)")
    auth.add_argument("--key", action="append", default=[], help="accepted id:secret (repeat)")
    auth.add_argument("--locked-key", action="append", default=[], help="id:secret answered 403")
    auth.add_argument("--allow-missing-key", action="store_true", help="accept no Authorization")
    auth.add_argument("--proxy-key", help="key /fal/proxy adds to requests without one")
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
    limits.add_argument(
        "--request-ttl", type=_positive_float, default=_RETENTION.request_ttl_seconds
    )
    limits.add_argument("--max-requests", type=_positive_int, default=_RETENTION.max_requests)
    limits.add_argument(
        "--max-request-bytes", type=_positive_int, default=_RETENTION.max_request_bytes
    )
    limits.add_argument("--file-ttl", type=_positive_float, default=_RETENTION.file_ttl_seconds)
    limits.add_argument("--max-files", type=_positive_int, default=_RETENTION.max_files)
    limits.add_argument("--max-file-bytes", type=_positive_int, default=_RETENTION.max_file_bytes)
    limits.add_argument(
        "--rate-limit",
        type=_positive_float,
        default=None,
        help="submits and sync runs per second per key (429 past it)",
    )
    limits.add_argument("--max-body-bytes", type=_positive_int, default=_SETTINGS.max_body_bytes)
    limits.add_argument(
        "--max-upload-bytes", type=_positive_int, default=_SETTINGS.max_upload_bytes
    )
    images = serve.add_argument_group("reference images and safety filters")
    images.add_argument("--fetch-images", action="store_true", help="fetch remote image URLs")
    images.add_argument("--fetch-timeout", type=_positive_float, default=10.0)
    images.add_argument("--image-min-side", type=_positive_int, default=_IMAGES.min_side)
    images.add_argument("--image-max-side", type=_positive_int, default=_IMAGES.max_side)
    images.add_argument("--image-max-bytes", type=_positive_int, default=_IMAGES.max_bytes)
    images.add_argument(
        "--safety-rules", type=_safety_rules, default=SafetyRules(), help="JSON rules file"
    )
    hooks = serve.add_argument_group("webhooks")
    hooks.add_argument(
        "--allow-webhook-host", action="append", default=[], help="a non-loopback target host"
    )
    hooks.add_argument("--allow-any-webhook-host", action="store_true")
    hooks.add_argument(
        "--webhook-time-scale",
        type=_positive_float,
        default=_WEBHOOKS.time_scale,
        help="multiplies fal's retry delays (7 s doubling); 0.001 makes 2 hours 7 seconds",
    )
    hooks.add_argument("--webhook-timeout", type=_positive_float, default=_WEBHOOKS.timeout_seconds)
    hooks.add_argument("--webhook-user-id", default=_WEBHOOKS.user_id)
    media = serve.add_argument_group("media")
    media.add_argument("--video-size", type=_size, default=(1280, 720), help="16:9 size, WxH")
    media.add_argument("--public-url", default=None, help="base URL for media links")
    env = commands.add_parser("env", help="print the shell settings for the official clients")
    env.add_argument("--host", default="127.0.0.1")
    env.add_argument("--port", type=int, default=8000)
    env.add_argument("--ca-dir", type=Path, default=default_ca_dir())
    env.add_argument("--key", default="test-key", help="the FAL_KEY to export")
    return root


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        timing=Timing(args.queue_seconds, args.run_seconds, args.runners),
        auth=Auth(
            keys=frozenset(args.key),
            locked_keys=frozenset(args.locked_key),
            allow_missing=args.allow_missing_key,
            proxy_key=args.proxy_key,
        ),
        retention=Retention(
            request_ttl_seconds=args.request_ttl,
            max_requests=args.max_requests,
            max_request_bytes=args.max_request_bytes,
            max_files=args.max_files,
            max_file_bytes=args.max_file_bytes,
            file_ttl_seconds=args.file_ttl,
        ),
        rate_limit=args.rate_limit,
        data_dir=args.data_dir,
        limits=InputLimits(args.max_images, args.prompt_max_length, args.image_refs),
        validate_at=args.validate_at,
        validation_detail=args.validation_detail,
        honour_cancel=not args.ignore_cancel,
        cancel_completed_body=args.cancel_completed_body,
        status_error_fields=not args.no_status_error_fields,
        min_request_timeout_seconds=args.min_request_timeout,
        max_body_bytes=args.max_body_bytes,
        max_upload_bytes=args.max_upload_bytes,
        images=ImageLimits(
            min_side=args.image_min_side,
            max_side=args.image_max_side,
            max_bytes=args.image_max_bytes,
        ),
        safety=args.safety_rules,
        webhooks=WebhookSettings(
            allowed_hosts=frozenset(host.lower() for host in args.allow_webhook_host),
            allow_any_host=args.allow_any_webhook_host,
            user_id=args.webhook_user_id,
            time_scale=args.webhook_time_scale,
            timeout_seconds=args.webhook_timeout,
        ),
        fetch_images=args.fetch_images,
        fetch_timeout_seconds=args.fetch_timeout,
        video_width=args.video_size[0],
        video_height=args.video_size[1],
        public_url=args.public_url,
    )


def environment(base_url: str, bundle: Path, key: str) -> str:
    """`export` lines that send an unmodified Python fal-client process to the fake (§17.1)."""
    proxy = shlex.quote(base_url)
    local = "127.0.0.1,localhost,::1"  # media URLs are plain http on the fake's own address
    lines = [
        f"export FAL_KEY={shlex.quote(key)}",
        f"export HTTPS_PROXY={proxy}",
        f"export https_proxy={proxy}",
        f"export SSL_CERT_FILE={shlex.quote(str(bundle))}",
        f"export NO_PROXY={local}",
        f"export no_proxy={local}",
        "# JS (@fal-ai/client):",
        f"#   fal.config({{ credentials: {json.dumps(key)}, proxyUrl: {{ url:"
        f' {json.dumps(base_url + "/fal/proxy")}, when: "always" }} }});',
    ]
    return "\n".join(lines) + "\n"


def banner(base_url: str, bundle: Path, env_command: str) -> str:
    """What `make run` prints: where the fake is and how to point the clients at it."""
    queue = f"{base_url}/queue/google/gemini-omni-flash/reference-to-video"
    return f"""falfake is serving fal's queue API on {base_url}

  submit   POST {queue}
  status   GET  {base_url}/queue/google/gemini-omni-flash/requests/<request_id>/status?logs=1
  result   GET  {base_url}/queue/google/gemini-omni-flash/requests/<request_id>
  sync run POST {base_url}/run/google/gemini-omni-flash/reference-to-video

  curl -s -H 'Authorization: Key test-key' -H 'Content-Type: application/json' \\
    -d '{{"prompt": "a cat", "image_urls": ["https://example.com/cat.png"]}}' {queue}

Official clients, unmodified:
  Python: eval "$({env_command})"
          (sets FAL_KEY, HTTPS_PROXY={base_url} and SSL_CERT_FILE={bundle})
  JS:     fal.config({{ proxyUrl: {{ url: "{base_url}/fal/proxy", when: "always" }} }})

Any non-empty key works (FAL_KEY=test-key). Press Ctrl+C to stop.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "env":
        bundle = CertificateAuthority(args.ca_dir).ensure().bundle_path
        print(environment(_base_url(args.host, args.port), bundle, args.key), end="")
        return 0
    settings = settings_from(args)
    clock = VirtualClock() if args.clock == "virtual" else SystemClock()
    try:
        app = create_app(settings, clock=clock, signer=WebhookSigner.in_folder(args.ca_dir))
    except DataDirError as exc:
        print(f"falfake: {exc}", file=sys.stderr)
        return 2
    authority = CertificateAuthority(args.ca_dir)
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    env_command = shlex.join(
        [
            sys.executable,
            "-m",
            "mock_server",
            "env",
            "--port",
            str(port),
            "--ca-dir",
            str(args.ca_dir),
        ]
    )
    base_url = _base_url(host, port)
    print(banner(base_url, authority.bundle_path, env_command), file=sys.stderr, flush=True)
    for scenario in args.scenarios:
        app.state.fake.scenarios.add(scenario)
    server = Server(app, authority.server_context, log_level=args.log_level)
    server.run(sockets=[sock])
    return 0


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

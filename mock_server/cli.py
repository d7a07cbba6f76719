"""The `falfake` / `python -m falfake` command line: flags in, a running fake out."""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import shlex
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from falfake.app import create_app
from falfake.clock import SystemClock, VirtualClock
from falfake.commandline import config_file, environment, flags, pull
from falfake.commandline.flags import UsageError
from falfake.contracts import InputLimits
from falfake.contracts.documents import DocumentError
from falfake.contracts.rules import ENDPOINT_ID as SEED_ENDPOINT_ID
from falfake.endpoints.pulled import PullError
from falfake.endpoints.registry import Served, served
from falfake.errors import StorageError
from falfake.harness.scenarios import Scenario
from falfake.hosts import is_loopback
from falfake.queue.stubs import FILE
from falfake.runtime.front_door import journaled
from falfake.runtime.postgres.database import DATABASE_ENV, redacted
from falfake.runtime.server import Server, bind
from falfake.runtime.tls import CertificateAuthority
from falfake.runtime.workers import supervise
from falfake.settings import (
    Auth,
    ImageLimits,
    Replay,
    Retention,
    SafetyRules,
    Secret,
    Settings,
    Timing,
    Upstream,
    WebhookSettings,
)
from falfake.webhooks.signing import WebhookSigner


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        timing=Timing(args.queue_seconds, args.run_seconds, args.runners),
        auth=Auth(
            keys=frozenset(args.key),
            locked_keys=frozenset(args.locked_key),
            allow_missing=args.allow_missing_key,
            proxy_key=args.proxy_key,
            control_keys_only=not is_loopback(args.host),
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
        database_url=args.database or os.environ.get(DATABASE_ENV) or None,
        endpoint_files=tuple(args.endpoint),
        endpoints_dir=args.endpoints_dir,
        limits=InputLimits(args.max_images, args.prompt_max_length, args.image_refs),
        validate_at=args.validate_at,
        validation_detail=args.validation_detail,
        honour_cancel=not args.ignore_cancel,
        cancel_completed_body=args.cancel_completed_body,
        flagged_images=args.flagged_images,
        status_error_fields=not args.no_status_error_fields,
        stream_events=args.stream_events,
        realtime_idle_seconds=args.realtime_timeout,
        realtime_refusal=args.realtime_refusal,
        upstream=_upstream(args),
        replay=_replay(args),
        min_request_timeout_seconds=args.min_request_timeout,
        max_body_bytes=args.max_body_bytes,
        max_upload_bytes=args.max_upload_bytes,
        images=ImageLimits(
            min_side=args.image_min_side,
            max_side=args.image_max_side,
            max_bytes=args.image_max_bytes,
        ),
        safety=SafetyRules() if args.safety_rules is None else safety_rules(args.safety_rules),
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


def banner(base_url: str, bundle: Path, env_command: str, keys: Sequence[str] = ()) -> str:
    """What `make run` prints: where the fake is and how to point the clients at it. With
    `keys` (`--key`), the examples use the first and say that only those work."""
    queue = f"{base_url}/queue/google/gemini-omni-flash/reference-to-video"
    key = keys[0] if keys else "test-key"
    who = (
        f"Only the keys given by --key work (FAL_KEY={key})."
        if keys
        else f"Any non-empty key works (FAL_KEY={key})."
    )
    return f"""falfake is serving fal's queue API on {base_url}
Dashboard: {base_url}/_falfake/ui/

  submit   POST {queue}
  status   GET  {base_url}/queue/google/gemini-omni-flash/requests/<request_id>/status?logs=1
  result   GET  {base_url}/queue/google/gemini-omni-flash/requests/<request_id>
  sync run POST {base_url}/run/google/gemini-omni-flash/reference-to-video
  stream   POST {base_url}/run/fal-ai/any-llm/stream (every endpoint: /run/<id>/stream)
  realtime WS   {base_url.replace("http", "ws", 1)}/run/fal-ai/fast-lcm-diffusion/realtime

  curl -s -H {shlex.quote(f"Authorization: Key {key}")} -H 'Content-Type: application/json' \\
    -d '{{"prompt": "a cat", "image_urls": ["https://example.com/cat.png"]}}' {queue}

Official clients and any HTTP stack, unmodified:
  eval "$({env_command})"
      (FAL_KEY, HTTPS_PROXY={base_url}, SSL_CERT_FILE={bundle},
       REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, a Node preload for fetch and WebSocket)
  or run one command so: falfake exec [the same options] -- python your_app.py
  JS in a browser: fal.config({{ proxyUrl: {{ url: "{base_url}/fal/proxy", when: "always" }} }})

{who} Press Ctrl+C to stop.
"""


def endpoint_list(served: Served) -> str:
    """What `falfake endpoints` prints: one line per endpoint, the seed endpoint first."""
    lines = []
    for endpoint_id, endpoint in served.endpoints.items():
        # The seed's document in contracts/endpoints/ is made from its models, not read by them.
        own = endpoint_id == SEED_ENDPOINT_ID
        source = "falfake's own model" if own else served.documents[endpoint_id].source
        lines.append(f"{endpoint_id}\t{endpoint.category or '-'}\t{source}")
    return "\n".join(lines) + "\n"


def _served(files: Sequence[Path], folder: Path | None) -> Served:
    try:
        return served(files, folder)
    except DocumentError as exc:
        raise UsageError(f"endpoint document {exc}") from None


def scenarios(path: Path) -> tuple[Scenario, ...]:
    """The `--scenarios` file: a JSON list, each checked as `POST /_falfake/scenarios` checks it."""
    from pydantic import ValidationError  # pydantic, only with --scenarios

    from falfake.http.bodies import SCENARIO

    text, items = _json_file(path, "--scenarios")
    if not isinstance(items, list):
        raise UsageError(f"--scenarios {path}: expected a JSON list of scenarios")
    loaded = []
    for number, item in enumerate(items, start=1):
        try:
            loaded.append(SCENARIO.validate_python(_paths_from(path.parent, item)))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the scenario"
            line = _item_lines(text)[number - 1]
            raise UsageError(
                f"--scenarios {path}: scenario {number} (line {line}), {where}: {first['msg']}"
            ) from None
    return tuple(loaded)


def _paths_from(folder: Path, node: Any) -> Any:
    """`node` with each given file's relative path (`{"$file": "golden.mp4"}`) made relative
    to `folder`, where the scenarios file is, as `--config` does with its paths."""
    if isinstance(node, dict):
        found = {key: _paths_from(folder, value) for key, value in node.items()}
        if isinstance(found.get(FILE), str):
            found[FILE] = str(folder / Path(found[FILE]).expanduser())
        return found
    if isinstance(node, list):
        return [_paths_from(folder, value) for value in node]
    return node


def _item_lines(text: str) -> list[int]:
    """The line each item of a JSON list (already known to parse) starts on."""
    decoder, lines = json.JSONDecoder(), list[int]()
    at = text.index("[") + 1
    while True:
        while text[at] in " \t\r\n,":
            at += 1
        if text[at] == "]":
            return lines
        lines.append(text.count("\n", 0, at) + 1)
        at = decoder.raw_decode(text, at)[1]


def safety_rules(path: Path) -> SafetyRules:
    _, data = _json_file(path, "--safety-rules")
    try:
        return SafetyRules.from_data(data)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--safety-rules {path}: {exc}") from None


def _json_file(path: Path, flag: str) -> tuple[str, object]:
    """The file's text and what it holds as JSON."""
    try:
        text = path.read_text(encoding="utf-8")
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{flag} {path}: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{flag} {path}: cannot read it: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 after a clean stop, 2 (with one line on stderr) for anything the user can fix."""
    try:
        return _run(sys.argv[1:] if argv is None else list(argv))
    except UsageError as exc:
        print(f"falfake: error: {exc}", file=sys.stderr)
        return 2


def _run(argv: list[str]) -> int:
    if argv[:1] == ["verify"]:
        from falfake.commandline import verify  # httpx and pydantic: a start needs neither

        return verify.main(argv[1:])
    args = flags.parse(argv)
    if args.config is not None:
        args = flags.parse(argv, config_file.defaults(args.config, args.command))
    if args.command == "endpoints":
        if args.action == "pull":
            return _pull(args.ids, args.endpoints_dir or pull.DEFAULT_FOLDER)
        if args.ids:
            raise UsageError("endpoint ids go after pull: falfake endpoints pull ID...")
        print(endpoint_list(_served(args.endpoint, args.endpoints_dir)), end="")
        return 0
    if args.command in ("env", "exec"):
        bundle = CertificateAuthority(_writable(args.ca_dir, "--ca-dir")).ensure().bundle_path
        base_url = _base_url(args.host, args.port)
        if args.command == "env":
            print(environment.exports(base_url, bundle, args.key), end="")
            return 0
        return _exec(args.command_line, base_url, bundle, args.key)
    if args.print_config:
        print(config_file.render(args), end="")
        return 0
    _check_host(args.host, allowed=args.allow_non_loopback)
    if not is_loopback(args.host):
        _check_network_keys(args)
    settings = settings_from(args)
    _check_storage(settings, args.workers)
    for warning in _served(settings.endpoint_files, settings.endpoints_dir).warnings:
        print(f"falfake: warning: {warning}", file=sys.stderr)
    if settings.replay is not None and args.max_age is not None:
        check_ages(settings.replay.folder, args.max_age, fail=args.old_recordings == "fail")
    loaded = () if args.scenarios is None else scenarios(args.scenarios)
    ca_dir = _writable(args.ca_dir, "--ca-dir")
    clock = VirtualClock() if args.clock == "virtual" else SystemClock()
    sock = _listen(args.host, args.port)
    try:
        app = create_app(settings, clock=clock, signer=WebhookSigner.in_folder(ca_dir))
    except StorageError as exc:
        sock.close()
        where = (
            f"--data-dir {args.data_dir}"
            if settings.database_url is None
            else f"--database {redacted(settings.database_url)}"
        )
        raise UsageError(f"{where}: {exc}") from None
    host, port = sock.getsockname()[:2]
    env_command = shlex.join(
        [sys.executable, "-m", "falfake", "env", "--port", str(port), "--ca-dir", str(ca_dir)]
        + (["--key", args.key[0]] if args.key else [])
    )
    authority = CertificateAuthority(ca_dir)
    base_url = _base_url(host, port)
    text = banner(base_url, authority.bundle_path, env_command, args.key)
    if not is_loopback(args.host):
        text += (
            f"\nListening on {args.host}: the API, the dashboard and the control API answer only"
            " the keys given by --key (the dashboard asks for one: user = key id, password ="
            " secret); /_falfake/health and the files stay open.\n"
        )
    if settings.upstream is not None:
        text += (
            f"\nUPSTREAM MODE: calls to fal's services go to {settings.upstream.base} with the key"
            f" in ${args.upstream_key_env}; this spends money (at most"
            f" {settings.upstream.max_paid_requests} submits, runs and streams, then refused).\n"
        )
    print(text, file=sys.stderr, flush=True)
    if loaded:
        app.state.fake.scenarios.preload(loaded, _digest(args.scenarios))

    def run() -> None:
        server = Server(
            app,
            authority.server_context,
            log_level=args.log_level,
            owns_process=True,
            pass_through=None
            if args.no_pass_through
            else journaled(
                app.state.fake.journal,
                app.state.fake.clock.now,
                remote_clients=args.pass_through_remote,
            ),
        )
        server.run(sockets=[sock])

    if args.workers == 1:
        run()
        return 0
    return supervise(args.workers, run)


_EXPOSED = (
    "whoever holds one of its keys (--key, required there) can submit and read every request,"
    " upload and result, reset the fake, change its clock and scenarios, make it send webhooks,"
    " and have it serve any file it can read (a scenario's $file); anyone can download its files"
)


def _upstream(args: argparse.Namespace) -> Upstream | None:
    """Upstream mode's settings, with the key read from falfake's own environment."""
    if args.upstream is None:
        return None
    key = os.environ.get(args.upstream_key_env, "").strip()
    if not key:
        raise UsageError(
            f"--upstream {args.upstream} needs the key to send it in ${args.upstream_key_env}"
            " (falfake's own environment; the app's key is never forwarded)"
        )
    return Upstream(
        args.upstream,
        Secret(key),
        args.max_paid_requests,
        drift_report=args.drift_report,
        strict_contract=args.strict_contract,
        # With --on-miss record, what the upstream answers joins the recordings replayed.
        record_dir=args.replay if args.on_miss == "record" and args.replay else args.record,
        match_ignore=tuple(args.match_ignore),
    )


def _replay(args: argparse.Namespace) -> Replay | None:
    if args.replay is None:
        if args.record is not None and args.upstream is None:
            raise UsageError("--record needs --upstream: recordings are of the upstream's replies")
        return None
    if args.upstream is not None and args.on_miss != "record":
        raise UsageError(
            "--replay answers without the network: leave --upstream out, or add --on-miss record"
        )
    if args.upstream is None and args.on_miss == "record":
        raise UsageError(
            "--on-miss record needs --upstream: where else would the answer come from?"
        )
    if not args.replay.is_dir():
        raise UsageError(f"--replay {args.replay}: no such folder of recordings")
    return Replay(args.replay, args.on_miss, args.replay_speed, tuple(args.match_ignore))


def check_ages(folder: Path, most: float, *, fail: bool) -> None:
    """Say which recordings are older than `most` seconds; with `fail`, refuse to start."""
    from falfake.upstream.recordings import load, older_than

    old = older_than(load(folder), most, time.time())
    names = ", ".join(f"{r.path.relative_to(folder)} ({r.data['recorded_at']})" for r in old)
    if old and fail:
        raise UsageError(
            f"--max-age: {len(old)} recordings are too old: {names}; record them again"
            " (--upstream fal --record) or raise --max-age"
        )
    for recording in old:
        print(
            f"falfake: warning: {recording.path.relative_to(folder)} was recorded"
            f" {recording.data['recorded_at']}, past --max-age",
            file=sys.stderr,
        )


def _pull(endpoint_ids: list[str], folder: Path) -> int:
    """Pull fal's documents of `endpoint_ids` into `folder`, one line per file written."""
    if not endpoint_ids:
        raise UsageError("pull needs endpoint ids: falfake endpoints pull fal-ai/flux/dev ...")
    import httpx  # only this command talks to fal.ai

    try:
        with httpx.Client(follow_redirects=True) as client:
            written = pull.pull(endpoint_ids, folder, client)
    except PullError as exc:
        raise UsageError(str(exc)) from None
    for path in written:
        print(f"{path}")
    print(f"serve them with: falfake serve --endpoints-dir {shlex.quote(str(folder))}")
    return 0


def _exec(command: list[str], base_url: str, bundle: Path, key: str) -> int:
    """Run `command` in `falfake env`'s environment, as the process itself (its exit status)."""
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("exec needs a command: falfake exec -- COMMAND [ARGS...]")
    variables = environment.variables(base_url, bundle, key, os.environ.get("NODE_OPTIONS", ""))
    try:
        os.execvpe(command[0], command, {**os.environ, **variables})
    except OSError as exc:
        raise UsageError(f"exec: cannot run {command[0]}: {exc.strerror or exc}") from None
    return 0  # not reached: the command replaced this process


def _check_storage(settings: Settings, workers: int) -> None:
    if settings.database_url is None:
        if workers > 1:
            raise UsageError(
                f"--workers {workers} runs {workers} replicas of one fake, and replicas share"
                " their state only through --database postgresql://…; give it, or one worker."
            )
        return
    if settings.data_dir is not None:
        raise UsageError("--data-dir and --database both say where the state lives: give one.")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_network_keys(args: argparse.Namespace) -> None:
    """A fake others can reach answers only the keys it was given, on every service."""
    if not args.key:
        raise UsageError(
            f"--host {args.host}: a fake on a network answers only configured keys; give one"
            " or more with --key KEY_ID:KEY_SECRET."
        )
    if args.allow_missing_key:
        raise UsageError(
            f"--host {args.host}: --allow-missing-key would let anyone on the network in."
        )


def _check_host(host: str, *, allowed: bool) -> None:
    if not (allowed or is_loopback(host)):
        raise UsageError(
            f"--host {host} is not a loopback address: {_EXPOSED}. Add --allow-non-loopback to"
            " listen there anyway."
        )


def _writable(path: Path, flag: str) -> Path:
    """`path`, made if missing, once a file can be written in it (the CA and keys are made later,
    when first needed, so a bad folder would otherwise fail in the middle of a test run)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".falfake-check-"):
            pass
    except OSError as exc:
        raise UsageError(
            f"{flag} {path}: cannot write there ({exc.strerror or exc}); pick another folder"
            f" with {flag}"
        ) from None
    return path


def _listen(host: str, port: int) -> socket.socket:
    try:
        return bind(host, port)
    except socket.gaierror as exc:
        raise UsageError(
            f"--host {host}: not an address this machine has ({exc.strerror})"
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} on {host} is in use (another falfake?); pick another with --port,"
                " or --port 0 for a free one"
            ) from None
        if exc.errno == errno.EACCES:
            raise UsageError(
                f"not allowed to listen on port {port} (ports below 1024 need root); pick another"
                " with --port"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UsageError(f"--host {host}: not an address this machine has") from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

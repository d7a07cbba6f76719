"""The `falfake` command's options: one definition feeds `--help`, `--config` files,
`--print-config` and the README's flag table, so the four cannot drift apart.

Every mistake a user can make in a value is caught while parsing (by the converters in
`flag_values`) and becomes a `UsageError` whose message is one line naming the flag and the
problem; the command prints it and exits 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from falfake.commandline.flag_values import (
    METAVARS,
    age,
    api_key,
    base_url,
    bytes_text,
    count,
    database_url,
    folder,
    host_name,
    non_empty,
    port,
    positive_number,
    positive_seconds,
    readable_file,
    seconds,
    size_in_bytes,
    upstream,
    video_size,
)
from falfake.contracts.rules import InputLimits
from falfake.runtime.tls import default_ca_dir
from falfake.settings import (
    MAX_PAID_REQUESTS,
    ImageLimits,
    Retention,
    Settings,
    Timing,
    WebhookSettings,
)

_TIMING, _RETENTION, _LIMITS, _SETTINGS = Timing(), Retention(), InputLimits(), Settings()
_IMAGES, _WEBHOOKS = ImageLimits(), WebhookSettings()
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class UsageError(Exception):
    """A value the command cannot start with; the message is the one line the user sees."""


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake raises `UsageError` instead of printing the whole usage and exiting,
    so the command answers in one line and `--config` can say which file a bad value came from."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


class Repeat(argparse.Action):
    """`append`, except that the first use on the command line replaces a list from `--config`
    (flags on the command line win) instead of adding to it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        current = getattr(namespace, self.dest, None)
        items = [] if current is None or current is self.default else list(current)
        setattr(namespace, self.dest, [*items, values])


def _serve_options(serve: argparse.ArgumentParser) -> None:
    server = serve.add_argument_group("server")
    server.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; one that is not loopback also needs --allow-non-loopback",
    )
    server.add_argument(
        "--port", type=port, default=8000, help="port to listen on; 0 picks a free one"
    )
    server.add_argument(
        "--workers",
        type=count,
        default=1,
        help="processes serving the port, one fake across them (needs --database): use every"
        " core of this machine",
    )
    server.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow a --host other machines can reach; it then needs --key, and the dashboard and"
        " control API want a key too (whoever holds one can use the whole fake)",
    )
    server.add_argument(
        "--no-pass-through",
        action="store_true",
        help="refuse CONNECT to hosts that are not fal's (for suites that must prove nothing else"
        " is called); by default the proxy tunnels them untouched for loopback clients",
    )
    server.add_argument(
        "--pass-through-remote",
        action="store_true",
        help="also tunnel other hosts for clients that are not on the loopback (with"
        " --allow-non-loopback: the fake is then a proxy for whoever reaches it)",
    )
    server.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        default="warning",
        help="info adds a line per request (the journal at /_falfake/requests keeps every one)",
    )
    server.add_argument(
        "--ca-dir",
        type=folder,
        default=default_ca_dir(),
        help="where the local CA and the webhook signing key are kept ($XDG_DATA_HOME is honoured)",
    )
    server.add_argument(
        "--config",
        type=readable_file,
        default=None,
        metavar="FILE",
        help="read flags from a TOML file (keys are flag names: queue-seconds = 2); flags on the"
        " command line win",
    )
    server.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective configuration as TOML (a --config file; paths relative to the"
        " current folder, where the file is to be saved) and exit",
    )
    control = serve.add_argument_group("control plane")
    control.add_argument(
        "--clock",
        choices=["system", "virtual"],
        default="system",
        help="virtual: time moves only through POST /_falfake/clock/advance or run-until",
    )
    control.add_argument(
        "--scenarios",
        type=readable_file,
        default=None,
        metavar="FILE",
        help="JSON list of scenarios to start with [default: none]",
    )
    timing = serve.add_argument_group("simulated lifecycle")
    timing.add_argument(
        "--queue-seconds",
        type=seconds,
        default=_TIMING.queue_seconds,
        help="minimum time a request waits in the queue",
    )
    timing.add_argument(
        "--run-seconds", type=seconds, default=_TIMING.run_seconds, help="time a request runs"
    )
    timing.add_argument(
        "--runners", type=count, default=_TIMING.runners, help="requests that run at once"
    )
    auth = serve.add_argument_group("auth (by default any non-empty key works)")
    auth.add_argument(
        "--key",
        type=api_key,
        action=Repeat,
        default=[],
        metavar="ID:SECRET",
        help="accept only these keys, others get fal's 401 (repeat for more)",
    )
    auth.add_argument(
        "--locked-key",
        type=api_key,
        action=Repeat,
        default=[],
        metavar="ID:SECRET",
        help="a key answered with fal's 403, as for a locked account (repeat for more)",
    )
    auth.add_argument(
        "--allow-missing-key",
        action="store_true",
        help="accept requests without an Authorization header (fal answers 401)",
    )
    auth.add_argument(
        "--proxy-key",
        type=api_key,
        default=None,
        metavar="ID:SECRET",
        help="the key /fal/proxy adds to requests without one [default: the first --key, else"
        " falfake-proxy]",
    )
    unknown = serve.add_argument_group("behaviour where fal's is unknown (PROTOCOL.md [I])")
    unknown.add_argument(
        "--validate-at",
        choices=["run", "submit"],
        default="run",
        help="run: a bad input is accepted and fails on the result GET, as on fal; submit: 422 at"
        " once",
    )
    unknown.add_argument(
        "--validation-detail",
        choices=["full", "minimal"],
        default="full",
        help="422 entries with pydantic's input and ctx, or only type, loc and msg",
    )
    unknown.add_argument(
        "--ignore-cancel",
        action="store_true",
        help="running requests finish normally after a cancel instead of ending with 499",
    )
    unknown.add_argument(
        "--cancel-completed-body",
        choices=["detail", "status"],
        default="detail",
        help='cancel of a finished request: {"detail": ...} as seen live, or the documented'
        ' {"status": "ALREADY_COMPLETED"}',
    )
    unknown.add_argument(
        "--flagged-images",
        choices=["blank", "reject"],
        default="blank",
        help="an image model's output flagged by the safety checker: blank images with"
        " has_nsfw_concepts true (fal's FLUX), or the request fails with a content-policy 422",
    )
    unknown.add_argument(
        "--stream-events",
        type=count,
        default=_SETTINGS.stream_events,
        help="progress events (with previews for images) before a media output on /stream",
    )
    unknown.add_argument(
        "--realtime-timeout",
        type=positive_seconds,
        default=_SETTINGS.realtime_idle_seconds,
        help="a realtime session with no input this long ends with fal's TIMEOUT error",
    )
    unknown.add_argument(
        "--realtime-refusal",
        choices=["http", "close"],
        default=_SETTINGS.realtime_refusal,
        help="a realtime upgrade without a valid token or key: fal's JSON 401 as the HTTP reply,"
        " or accepted and closed with 1008 and the reason",
    )
    unknown.add_argument(
        "--no-status-error-fields",
        action="store_true",
        help="leave error and error_type out of a failed request's COMPLETED status",
    )
    unknown.add_argument(
        "--max-images",
        type=count,
        default=_LIMITS.max_images,
        help="most reference images in image_urls",
    )
    unknown.add_argument(
        "--prompt-max-length",
        type=count,
        default=None,
        help="longest prompt in characters [default: no limit]",
    )
    unknown.add_argument(
        "--image-refs",
        choices=["reject", "accept"],
        default="reject",
        help="whether <IMAGE_REF_n> naming a missing image is a 422",
    )
    unknown.add_argument(
        "--min-request-timeout",
        type=positive_seconds,
        default=_SETTINGS.min_request_timeout_seconds,
        help="smallest X-Fal-Request-Timeout accepted",
    )
    _endpoint_options(serve.add_argument_group("endpoints"))
    limits = serve.add_argument_group("persistence and limits")
    limits.add_argument(
        "--data-dir",
        type=folder,
        default=None,
        metavar="DIR",
        help="keep requests, files, uploads and pending webhooks in DIR (SQLite) across restarts"
        " [default: none, all in memory]",
    )
    limits.add_argument(
        "--database",
        type=database_url,
        default=None,
        metavar="URL",
        help="keep the state in PostgreSQL (postgresql://user@host/db), shared by every falfake"
        " serve pointed at it: they are one fake [default: $FALFAKE_DATABASE_URL, else none]",
    )
    limits.add_argument(
        "--request-ttl",
        type=positive_seconds,
        default=_RETENTION.request_ttl_seconds,
        help="seconds a finished request is kept (fal keeps results an hour)",
    )
    limits.add_argument(
        "--max-requests",
        type=count,
        default=_RETENTION.max_requests,
        help="finished requests kept, oldest dropped first; queued and running ones are never"
        " dropped (a submit that cannot fit gets 429)",
    )
    limits.add_argument(
        "--max-request-bytes",
        type=size_in_bytes,
        default=_RETENTION.max_request_bytes,
        help="reference images held by kept requests",
    )
    limits.add_argument(
        "--file-ttl",
        type=positive_seconds,
        default=_RETENTION.file_ttl_seconds,
        help="seconds an uploaded or rendered file is kept",
    )
    limits.add_argument(
        "--max-files", type=count, default=_RETENTION.max_files, help="files kept, oldest first"
    )
    limits.add_argument(
        "--max-file-bytes",
        type=size_in_bytes,
        default=_RETENTION.max_file_bytes,
        help="bytes of files kept; one file larger than that gets 413",
    )
    limits.add_argument(
        "--max-body-bytes",
        type=size_in_bytes,
        default=_SETTINGS.max_body_bytes,
        help="larger request bodies get 413",
    )
    limits.add_argument(
        "--max-upload-bytes",
        type=size_in_bytes,
        default=_SETTINGS.max_upload_bytes,
        help="larger uploads get 413",
    )
    limits.add_argument(
        "--rate-limit",
        type=positive_number,
        default=None,
        metavar="N",
        help="submits and sync runs per second per key, in bursts of N; past it fal's 429 with"
        " Retry-After [default: no limit]",
    )
    images = serve.add_argument_group("reference images and safety filters")
    images.add_argument(
        "--fetch-images",
        action="store_true",
        help="fetch remote image URLs (by default they are drawn as placeholders, never fetched)",
    )
    images.add_argument(
        "--fetch-timeout",
        type=positive_seconds,
        default=_SETTINGS.fetch_timeout_seconds,
        help="seconds to wait for a fetched image",
    )
    images.add_argument(
        "--image-min-side",
        type=count,
        default=_IMAGES.min_side,
        help="smaller images fail with image_too_small",
    )
    images.add_argument(
        "--image-max-side",
        type=count,
        default=_IMAGES.max_side,
        help="larger images fail with image_too_large",
    )
    images.add_argument(
        "--image-max-bytes",
        type=size_in_bytes,
        default=_IMAGES.max_bytes,
        help="larger image files fail with file_too_large",
    )
    images.add_argument(
        "--safety-rules",
        type=readable_file,
        default=None,
        metavar="FILE",
        help="JSON object replacing the safety filter's triggers [default: the falfake: markers]",
    )
    hooks = serve.add_argument_group("webhooks")
    hooks.add_argument(
        "--allow-webhook-host",
        type=host_name,
        action=Repeat,
        default=[],
        metavar="HOST",
        help="a host other than loopback that webhooks may go to (repeat for more)",
    )
    hooks.add_argument(
        "--allow-any-webhook-host",
        action="store_true",
        help="send webhooks to any host",
    )
    hooks.add_argument(
        "--webhook-time-scale",
        type=positive_number,
        default=_WEBHOOKS.time_scale,
        help="multiplies fal's retry delays (7 s doubling); 0.001 makes 2 hours 7 seconds",
    )
    hooks.add_argument(
        "--webhook-timeout",
        type=positive_seconds,
        default=_WEBHOOKS.timeout_seconds,
        help="seconds to wait for a webhook receiver",
    )
    hooks.add_argument(
        "--webhook-user-id",
        type=non_empty,
        default=_WEBHOOKS.user_id,
        help="the X-Fal-Webhook-User-Id sent and signed",
    )
    forwarding = serve.add_argument_group("upstream mode: forward to fal instead (spends money)")
    forwarding.add_argument(
        "--upstream",
        type=upstream,
        default=None,
        metavar="fal|URL",
        help="forward every call to fal's services to fal itself (with the key of"
        " --upstream-key-env), or to a server with falfake's path layout at URL",
    )
    forwarding.add_argument(
        "--upstream-key-env",
        default="FAL_KEY",
        metavar="NAME",
        help="the environment variable holding the key sent upstream (never the app's)",
    )
    forwarding.add_argument(
        "--max-paid-requests",
        type=count,
        default=MAX_PAID_REQUESTS,
        metavar="N",
        help="forward at most N submits, sync runs and streams; later ones are refused here",
    )
    forwarding.add_argument(
        "--drift-report",
        type=Path,
        default=None,
        metavar="FILE",
        help="append each upstream reply that breaks the contract to FILE, as a JSON line",
    )
    forwarding.add_argument(
        "--record",
        type=folder,
        default=None,
        metavar="DIR",
        help="with --upstream: write each finished lifecycle to DIR, with its media",
    )
    forwarding.add_argument(
        "--replay",
        type=folder,
        default=None,
        metavar="DIR",
        help="answer submits and sync runs that match a recording in DIR from it (no network)",
    )
    forwarding.add_argument(
        "--on-miss",
        choices=["error", "simulate", "record"],
        default="error",
        help="with --replay, a call no recording matches: a 404 naming the closest, the usual"
        " made-up answer, or (with --upstream) the upstream's, recorded into the replay folder",
    )
    forwarding.add_argument(
        "--replay-speed",
        type=positive_number,
        default=1.0,
        metavar="X",
        help="replay recorded lifecycles X times faster",
    )
    forwarding.add_argument(
        "--match-ignore",
        action=Repeat,
        default=[],
        metavar="FIELD",
        help="an input field recordings are not matched on, such as seed (repeatable)",
    )
    forwarding.add_argument(
        "--max-age",
        type=age,
        default=None,
        metavar="AGE",
        help="with --replay, recordings older than AGE (90d, 12h...) are warned about at start,"
        " or refused with --old-recordings fail [default: any age]",
    )
    forwarding.add_argument(
        "--old-recordings",
        choices=["warn", "fail"],
        default="warn",
        help="what --max-age does with an old recording",
    )
    forwarding.add_argument(
        "--strict-contract",
        action="store_true",
        help="answer an upstream reply that breaks the contract with a 502 instead (for CI)",
    )
    media = serve.add_argument_group("media")
    media.add_argument(
        "--video-size",
        type=video_size,
        default=(_SETTINGS.video_width, _SETTINGS.video_height),
        metavar="WxH",
        help="size of 16:9 videos (9:16 swaps it)",
    )
    media.add_argument(
        "--public-url",
        type=base_url,
        default=None,
        metavar="URL",
        help="base URL for media links when callers use fal's host names [default: this server]",
    )


def _endpoint_options(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--endpoint",
        type=readable_file,
        action=Repeat,
        default=[],
        metavar="FILE",
        help="also serve the endpoint FILE describes: fal's OpenAPI document for it, as"
        " https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=ID serves it (repeatable)",
    )
    group.add_argument(
        "--endpoints-dir",
        type=folder,
        default=None,
        metavar="DIR",
        help="also serve every endpoint described by a *.json document in DIR",
    )


def _env_options(env: argparse.ArgumentParser) -> None:
    env.add_argument("--host", default="127.0.0.1", help="the fake's address")
    env.add_argument("--port", type=port, default=8000, help="the fake's port")
    env.add_argument(
        "--ca-dir",
        type=folder,
        default=default_ca_dir(),
        help="the fake's --ca-dir, whose bundle.pem the client must trust",
    )
    env.add_argument("--key", default="test-key", help="the FAL_KEY to export")
    env.add_argument(
        "--config",
        type=readable_file,
        default=None,
        metavar="FILE",
        help="take --host, --port and --ca-dir from the fake's TOML config file",
    )


class Formatter(argparse.HelpFormatter):
    """Help that states every default, in the units the user would type."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return help_text(action)


def help_text(action: argparse.Action) -> str:
    text = action.help or ""
    shown = shown_default(action)
    if shown is None or "default" in text:
        return text
    return f"{text} [default: {shown}]"


def shown_default(action: argparse.Action) -> str | None:
    """The default as a user would write it, or None where there is nothing to show."""
    value = action.default
    if value in (None, False, [], argparse.SUPPRESS) or action.nargs == 0:
        return None
    if action.type is size_in_bytes:
        return bytes_text(int(value))
    if action.type is video_size:
        return f"{value[0]}x{value[1]}"
    if isinstance(value, Path):
        return home_relative(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def home_relative(path: Path) -> str:
    """`path` as a user writes it on any machine: under `~` when in the home folder."""
    if not path.is_relative_to(Path.home()):
        return str(path)
    relative = path.relative_to(Path.home()).as_posix()
    return "~" if relative == "." else f"~/{relative}"


def parser() -> Parser:
    root = Parser(prog="falfake", description="An offline fake of fal.ai's queue API.")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the fake",
        description="Run the fake (on 127.0.0.1:8000 unless told otherwise).",
        usage="falfake serve [options]",
        formatter_class=Formatter,
    )
    _serve_options(serve)
    env = commands.add_parser(
        "env",
        help="print the shell settings that send the official clients to a running fake",
        description='Print export lines for the official clients: eval "$(falfake env)".',
        usage="falfake env [options]",
        formatter_class=Formatter,
    )
    _env_options(env)
    run = commands.add_parser(
        "exec",
        help="run a command in the environment `falfake env` prints (no eval needed)",
        description="Run COMMAND with the variables `falfake env` exports:"
        " falfake exec -- pytest -q.",
        usage="falfake exec [options] -- COMMAND [ARGS...]",
        formatter_class=Formatter,
    )
    _env_options(run)
    run.add_argument("command_line", nargs=argparse.REMAINDER, metavar="COMMAND")
    endpoints = commands.add_parser(
        "endpoints",
        help="list the endpoints the fake serves (with --endpoint and --endpoints-dir too)",
        description="List the endpoints served: id, category, and the document it comes from.",
        usage="falfake endpoints [options] [pull ID...]",
        formatter_class=Formatter,
    )
    _endpoint_options(endpoints)
    endpoints.add_argument(
        "action",
        nargs="?",
        choices=["pull"],
        help="pull: fetch fal's documents of the endpoints IDs into --endpoints-dir"
        " (default ./endpoints) instead of listing",
    )
    endpoints.add_argument("ids", nargs="*", metavar="ID", help="endpoint ids to pull")
    endpoints.add_argument(
        "--config",
        type=readable_file,
        default=None,
        metavar="FILE",
        help="take --endpoint and --endpoints-dir from the fake's TOML config file",
    )
    # Only listed here, for `falfake --help`: the command line hands `verify` to the contracts'
    # own parser, which has the options.
    commands.add_parser(
        "verify",
        help="replay the contract recordings against the fake in process, a running fake or fal"
        " (falfake verify --help)",
        add_help=False,
    )
    for command in (serve, env, run, endpoints):
        for action in command._actions:
            if action.metavar is None and action.type in METAVARS:
                action.metavar = METAVARS[action.type]
    return root


def subcommands(root: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """`serve` and `env` by name."""
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise LookupError("no subcommands")


def options(command: argparse.ArgumentParser) -> Iterator[tuple[str, list[argparse.Action]]]:
    """(group title, its options) in the order `--help` shows them, without `-h`."""
    for group in command._action_groups:
        actions = [a for a in group._group_actions if a.dest != "help"]
        if actions:
            yield group.title or "", actions


def flag_of(action: argparse.Action) -> str:
    return max(action.option_strings, key=len)


def markdown_table(command: argparse.ArgumentParser) -> str:
    """The README's flag reference: one table per group, the same words as `--help`."""
    sections = []
    for title, actions in options(command):
        rows = [f"**{title}**", "", "| flag | meaning |", "|---|---|"]
        for action in actions:
            metavar = "" if action.nargs == 0 else f" {action.metavar or action.dest.upper()}"
            if action.choices is not None:
                metavar = " " + "\\|".join(str(choice) for choice in action.choices)
            meaning = help_text(action).replace("|", "\\|").replace("<", "&lt;")
            rows.append(f"| `{flag_of(action)}{metavar}` | {meaning} |")
        sections.append("\n".join(rows))
    return "\n\n".join(sections) + "\n"


def parse(argv: Sequence[str] | None, defaults: dict[str, Any] | None = None) -> argparse.Namespace:
    """The command line over `defaults` (taken from a config file)."""
    root = parser()
    if defaults:
        command = subcommands(root)[str(defaults.pop("command"))]
        command.set_defaults(**defaults)
    return root.parse_args(argv)

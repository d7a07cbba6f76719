"""Every knob of the fake, with defaults that behave like fal but fast.

Each default marked [I] in PROTOCOL.md is a field here, so a user can switch to the other plausible
behaviour when fal turns out to differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from falfake.contracts import InputLimits

FLAGGED = (
    "The content could not be processed because it contained material flagged by a content checker."
)


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Where webhooks may go and how they are retried."""

    allowed_hosts: frozenset[str] = frozenset()
    allow_any_host: bool = False
    user_id: str = "github|0"
    # fal retries 10 times over about 2 hours: 7 s doubling ten times adds up to 7161 s.
    retries: int = 10
    first_delay_seconds: float = 7.0
    time_scale: float = 1.0
    timeout_seconds: float = 15.0

    def delay(self, retry: int) -> float:
        """Seconds before retry number `retry` (from 1), scaled by `time_scale`."""
        seconds: float = self.first_delay_seconds * 2 ** (retry - 1) * self.time_scale
        return seconds


@dataclass(frozen=True, slots=True)
class SafetyRules:
    prompt_terms: tuple[str, ...] = ("falfake:unsafe-prompt",)
    output_terms: tuple[str, ...] = ("falfake:unsafe-output",)
    image_markers: tuple[str, ...] = ("falfake-unsafe-image",)
    image_sha256: frozenset[str] = field(default_factory=frozenset)
    image_index: bool = False
    prompt_message: str = FLAGGED
    image_message: str = FLAGGED
    output_message: str = FLAGGED

    @classmethod
    def from_data(cls, data: object) -> SafetyRules:
        """Rules from a JSON object with any of the fields above; the rest keep their defaults."""
        known = [f.name for f in fields(cls)]
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object with keys among {known}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name not in known:
                raise ValueError(f"unknown key {name!r}; the keys are {known}")
            if name.endswith(("_terms", "_markers", "_sha256")):
                if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                    raise ValueError(f"{name} must be a list of strings")
                values[name] = (
                    frozenset(v.lower() for v in value) if name == "image_sha256" else tuple(value)
                )
            elif name == "image_index":
                if not isinstance(value, bool):
                    raise ValueError("image_index must be true or false")
                values[name] = value
            elif not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            else:
                values[name] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Timing:
    """The simulated lifecycle: about a second end to end by default."""

    queue_seconds: float = 0.3
    run_seconds: float = 0.7
    runners: int = 4


@dataclass(frozen=True, slots=True)
class Auth:
    """Who may call. With no `keys`, any non-empty `Key …` header is accepted."""

    keys: frozenset[str] = frozenset()
    locked_keys: frozenset[str] = frozenset()
    allow_missing: bool = False
    # The key `/fal/proxy` adds to requests that carry none, as fal's server-side proxy does.
    proxy_key: str | None = None
    # On a network: the dashboard and control API want one of `keys` too (as `Key …`, or Basic
    # auth with the key's id and secret, which a browser asks for); health stays open.
    control_keys_only: bool = False

    @property
    def effective_proxy_key(self) -> str:
        return self.proxy_key or min(self.keys, default="falfake-proxy")


@dataclass(frozen=True, slots=True)
class Retention:
    """Bounds on stored state, so a long-running fake does not grow without limit.

    Past a bound the oldest finished request (or file) is forgotten first; requests still queued
    or running are never dropped, and a submit that cannot fit gets fal's 429.
    """

    # fal keeps a result 1 h after completion (PROTOCOL.md §6).
    request_ttl_seconds: float = 3600.0
    max_requests: int = 10_000
    max_request_bytes: int = 2 * 1024**3  # reference images held by requests
    max_files: int = 10_000
    max_file_bytes: int = 4 * 1024**3
    file_ttl_seconds: float = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What the fake accepts as a reference image; fal does not document its limits (§19 q6)."""

    formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP")
    min_side: int = 16
    max_side: int = 4096
    max_bytes: int = 20 * 1024 * 1024


FAL_UPSTREAM = "fal"
MAX_PAID_REQUESTS = 10  # small: a test suite run by mistake against fal spends little


class Secret(str):
    """A key: a string that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True, slots=True)
class Upstream:
    """Upstream mode (issue 33): `base` is `fal` or the URL of a server with the fake's path
    layout; `key` goes to it as `Authorization: Key …` (never the app's, never written down);
    after `max_paid_requests` submits, runs and streams, the next are refused locally; every
    reply is checked against the contract (`falfake.upstream.contract`)."""

    base: str
    key: Secret = field(repr=False)
    max_paid_requests: int = MAX_PAID_REQUESTS
    # Each reply that breaks the contract, as a JSON line; with `strict_contract` it is a 502.
    drift_report: Path | None = None
    strict_contract: bool = False
    # How often a request followed upstream (a webhook, a recording) is polled.
    poll_seconds: float = 0.5
    # Each finished lifecycle written here, with its media (`upstream.recordings`).
    record_dir: Path | None = None
    # Top-level input fields a recording is not matched on (`seed`...).
    match_ignore: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Replay:
    """Replay mode (`--replay DIR`): submits and sync runs that match a recording replay it;
    `on_miss` says what the others get (a fal-shaped error naming the closest recording, the
    usual made-up output, or, with an upstream, the upstream's answer, recorded into `folder`);
    `speed` divides the recorded times."""

    folder: Path
    on_miss: Literal["error", "simulate", "record"] = "error"
    speed: float = 1.0
    match_ignore: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Settings:
    """Configuration of one fake instance."""

    timing: Timing = field(default_factory=Timing)
    auth: Auth = field(default_factory=Auth)
    retention: Retention = field(default_factory=Retention)
    limits: InputLimits = field(default_factory=InputLimits)
    images: ImageLimits = field(default_factory=ImageLimits)
    safety: SafetyRules = field(default_factory=SafetyRules)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    # Remote image URLs are drawn as placeholders unless fetching is turned on.
    fetch_images: bool = False
    fetch_timeout_seconds: float = 10.0
    # fal validates when the runner executes (PROTOCOL.md §3); "submit" answers 422 at once instead.
    validate_at: Literal["run", "submit"] = "run"
    # "full" adds pydantic's `input`/`ctx` to 422 entries, like FastAPI; fal's recordings omit them.
    validation_detail: Literal["full", "minimal"] = "full"
    # Whether the model honours cancel of a running request (499) or finishes it anyway (200).
    honour_cancel: bool = True
    # 400 body when cancelling a finished request: seen live ("detail") or documented ("status").
    cancel_completed_body: Literal["detail", "status"] = "detail"
    # An image endpoint's output the checker flags (one with `has_nsfw_concepts`): fal's FLUX
    # documents blank images with the flag set [I]; "reject" fails the request with a 422 instead.
    flagged_images: Literal["blank", "reject"] = "blank"
    # Whether a failed request's COMPLETED status carries `error`/`error_type` (PROTOCOL.md §4).
    status_error_fields: bool = True
    min_request_timeout_seconds: float = 0.1
    max_body_bytes: int = 64 * 1024 * 1024
    # Submits and sync runs per second per key (bursts as large); None: no limit.
    rate_limit: float | None = None
    # Python's client sends files up to 100 MiB in one request, larger ones in 10 MiB parts.
    max_upload_bytes: int = 256 * 1024 * 1024
    video_width: int = 1280
    video_height: int = 720
    sse_poll_seconds: float = 0.05
    sse_keepalive_seconds: float = 15.0
    # Progress events before a media output on `/stream`; fal does not document them.
    stream_events: int = 3
    # A realtime session with no input this long ends with fal's TIMEOUT error (real seconds).
    realtime_idle_seconds: float = 60.0
    # A WebSocket upgrade without a valid token or key: fal's 401 as the upgrade's HTTP reply, or
    # accepted and closed with 1008 (fal's gateway is not documented; STREAMING.md §5).
    realtime_refusal: Literal["http", "close"] = "http"
    # Forward fal's API to fal (or a server that speaks it) instead of answering it here.
    upstream: Upstream | None = None
    # Answer matching calls from recorded lifecycles.
    replay: Replay | None = None
    # Base URL for media links when the caller came through fal's host names; None: this server.
    public_url: str | None = None
    # Where state outlives the process (SQLite + files); None keeps everything in memory.
    data_dir: Path | None = None
    # PostgreSQL shared by every replica of one fake (postgresql://...); the state lives there.
    database_url: str | None = None
    # fal OpenAPI documents of more endpoints to serve, beside the built-in ones.
    endpoint_files: tuple[Path, ...] = ()
    endpoints_dir: Path | None = None

"""Scenarios: make the fake misbehave on purpose, for the requests a test chooses.

A scenario matches requests (by operation, endpoint, JSON input fields, a header, and how many
matched before) and applies behaviours: added latency, its own time in queue or running, a typed
fal error (any status, `error_type`, `Retry-After`, with or without fal's request-id header), a
dropped connection (at once, or on `/stream` after some events), a request stuck forever, a forced
content-policy rejection, or an output and logs of its own (given files read when the scenario is
made).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from falfake.contracts.rules import CONTENT_TYPE_MAX_LENGTH, CONTENT_TYPE_PATTERN
from falfake.errors import FalError
from falfake.queue.stubs import BYTES, FILE, Stub, given_bytes, is_file_marker

Operation = Literal["submit", "status", "stream", "result", "cancel", "run", "upload", "any"]
SafetyStage = Literal["prompt", "image", "output"]
_TEN_YEARS = 10 * 365 * 24 * 3600.0
_HEADER_TOKEN = re.compile("[!-~]{1,200}")
_CONTENT_TYPE = re.compile(CONTENT_TYPE_PATTERN)


@dataclass(frozen=True, slots=True)
class Scenario:
    """What to match, then what to do. Defaults match everything and change nothing."""

    operation: Operation = "any"
    endpoint: str | None = None
    input: dict[str, Any] | None = None
    header: tuple[str, str] | None = None
    after: int = 0
    times: int | None = None
    latency: float = 0.0
    queue_seconds: float | None = None
    run_seconds: float | None = None
    status: int | None = None
    error_type: str | None = None
    detail: Any = None
    retry_after: float | None = None
    request_id_header: bool = True
    drop: bool = False
    # On `/stream`: the connection drops after this many events (mid-stream).
    drop_after_events: int | None = None
    stuck: bool = False
    content_policy: tuple[SafetyStage, ...] = field(default_factory=tuple)
    # What a matching submit or run outputs and prints instead (`falfake.queue.stubs`).
    output: dict[str, Any] | None = None
    output_fields: dict[str, Any] | None = None
    logs: tuple[str, ...] | None = None
    # Read by pydantic, which validates scenarios from JSON: a misspelt field is a 422 naming it,
    # not a scenario that silently does nothing.
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    def __post_init__(self) -> None:
        """Bounds that keep a scenario from breaking the fake itself (a status no HTTP reply
        can carry, a wait that never ends by accident, NaN); pydantic reports them as 422s."""
        for name, value, most in (
            ("latency", self.latency, 3600.0),
            ("queue_seconds", self.queue_seconds, _TEN_YEARS),
            ("run_seconds", self.run_seconds, _TEN_YEARS),
            ("retry_after", self.retry_after, 86400.0),
        ):
            if value is not None and not 0 <= value <= most:  # False for NaN too
                raise ValueError(f"{name} must be a number from 0 to {most:g}")
        if self.status is not None and not 200 <= self.status <= 599:
            raise ValueError("status must be an HTTP status from 200 to 599")
        if self.after < 0 or (self.times is not None and self.times < 0):
            raise ValueError("after and times count requests: 0 or more")
        if self.drop_after_events is not None and self.drop_after_events < 0:
            raise ValueError("drop_after_events counts events: 0 or more")
        if self.error_type is not None and _HEADER_TOKEN.fullmatch(self.error_type) is None:
            # It is sent as X-Fal-Error-Type too, and a header carries no other characters.
            raise ValueError("error_type must be 1 to 200 printable ASCII characters, no spaces")
        # Read back in JSON replies (the listing, an error's detail): 1e400 parses as infinity,
        # which no JSON reply can carry.
        for name in ("input", "detail"):
            _check_numbers(getattr(self, name), name)
        # Given files are read now, so a missing one is a 422 (or a start-up error) naming it.
        for name in ("output", "output_fields"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _files_read(value, name))

    @property
    def effect(self) -> Effect:
        """What this scenario does to a submit or sync run it lets through."""
        return Effect(
            safety=frozenset(self.content_policy),
            queue_seconds=math.inf if self.stuck else self.queue_seconds,
            run_seconds=self.run_seconds,
            stuck=self.stuck,
            stub=Stub(self.output, self.output_fields, self.logs),
            drop_after_events=self.drop_after_events,
        )

    def to_json(self) -> dict[str, Any]:
        """As listed: given files' bytes shown by their size."""
        listed = asdict(self)
        for name in ("output", "output_fields"):
            listed[name] = _bytes_shown(listed[name])
        return listed


def _files_read(node: Any, where: str) -> Any:
    """`node` with each `{"$file": PATH}` read into `{"$bytes": ...}`, each `$bytes` and its
    fields checked, and every number one JSON can carry."""
    if is_file_marker(node):
        marker = dict(node)
        if FILE in marker:
            path = Path(str(marker.pop(FILE))).expanduser()
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ValueError(f"{where}: cannot read {path}: {exc.strerror or exc}") from None
            marker[BYTES] = base64.b64encode(data).decode()
            marker.setdefault("file_name", path.name)
        try:
            if not isinstance(marker[BYTES], str):
                raise binascii.Error
            base64.b64decode(marker[BYTES], validate=True)
        except binascii.Error:
            raise ValueError(f"{where}: {BYTES} must be base64") from None
        for name in ("file_name", "content_type"):
            if name in marker and not isinstance(marker[name], str):
                raise ValueError(f"{where}.{name} must be a string")
        content_type = marker.get("content_type")
        # It is sent as the file's Content-Type: a header carries printable ASCII alone, and the
        # bound is the one an upload's type has.
        if content_type is not None and (
            len(content_type) > CONTENT_TYPE_MAX_LENGTH or not _CONTENT_TYPE.fullmatch(content_type)
        ):
            raise ValueError(
                f"{where}.content_type must be 1 to {CONTENT_TYPE_MAX_LENGTH} printable ASCII"
                " characters"
            )
        _check_numbers(marker, where)  # its other fields are listed back as they came
        return marker
    if isinstance(node, dict):
        return {key: _files_read(value, f"{where}.{key}") for key, value in node.items()}
    if isinstance(node, list):
        return [_files_read(value, f"{where}[{i}]") for i, value in enumerate(node)]
    _check_numbers(node, where)
    return node


def _check_numbers(node: Any, where: str) -> None:
    """Refuse a number JSON has no spelling for (1e400 parses as infinity): no reply could carry
    it."""
    if isinstance(node, dict):
        for key, value in node.items():
            _check_numbers(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_numbers(value, f"{where}[{index}]")
    elif isinstance(node, float) and not math.isfinite(node):
        raise ValueError(f"{where}: {node} is not a JSON number")


def _bytes_shown(node: Any) -> Any:
    if is_file_marker(node):
        return {**node, BYTES: f"<{len(given_bytes(node[BYTES]))} bytes>"}
    if isinstance(node, dict):
        return {key: _bytes_shown(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_bytes_shown(value) for value in node]
    return node


@dataclass(frozen=True, slots=True)
class Call:
    """What a scenario can see of a request."""

    operation: str
    path: str
    headers: Mapping[str, str]
    body: object


def operation_of(method: str, path: str) -> str:
    """The queue API operation a routed path (`/queue/...`, `/run/...`) stands for."""
    if path.startswith("/queue/"):
        if method == "POST":
            return "submit"
        for suffix in ("/status/stream", "/status", "/cancel"):
            if path.endswith(suffix):
                return {"/status/stream": "stream", "/status": "status"}.get(suffix, "cancel")
        return "result" if "/requests/" in path else "other"
    if path.startswith("/run/"):
        return "stream" if path.endswith("/stream") else "run"
    if path.startswith(("/rest/storage/", "/cdn/files/upload", "/uploads/")):
        return "upload"
    return "other"


class ScenarioBook(Protocol):
    """The active scenarios, first added first matched, whatever keeps them: this process
    (`Scenarios`) or a database shared by replicas. Matching asks only what is already at hand
    (`__bool__`, `wants_body`) before it counts a match (`match`)."""

    def __bool__(self) -> bool: ...

    def wants_body(self, operation: str) -> bool: ...

    async def match(self, call: Call) -> Scenario | None:
        """The first scenario for this call, counting it as matched; None if none applies."""
        ...

    async def add(self, scenario: Scenario) -> int: ...

    def preload(self, scenarios: Sequence[Scenario], source: str) -> None:
        """Add `scenarios` read at start from `source` (a file's digest) before serving; a
        shared book adds them once for all the replicas started with the same file."""
        ...

    async def remove(self, scenario_id: int) -> bool: ...

    async def clear(self) -> None: ...

    async def listed(self) -> list[dict[str, Any]]:
        """Each scenario with `matched` (the calls it counted: skipped by `after`, then applied)
        and `used_up` (it has applied `times` times and matches nothing more)."""
        ...


class Scenarios:
    """`ScenarioBook` in this process; each scenario counts the requests it matched."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._active: dict[int, Scenario] = {}
        self._matched: dict[int, int] = {}

    async def add(self, scenario: Scenario) -> int:
        return self._add(scenario)

    def preload(self, scenarios: Sequence[Scenario], source: str) -> None:
        for scenario in scenarios:
            self._add(scenario)

    def _add(self, scenario: Scenario) -> int:
        scenario_id = next(self._ids)
        self._active[scenario_id] = scenario
        self._matched[scenario_id] = 0
        return scenario_id

    async def remove(self, scenario_id: int) -> bool:
        self._matched.pop(scenario_id, None)
        return self._active.pop(scenario_id, None) is not None

    async def clear(self) -> None:
        self._active.clear()
        self._matched.clear()

    async def listed(self) -> list[dict[str, Any]]:
        return [listing(i, s, self._matched[i]) for i, s in self._active.items()]

    def __bool__(self) -> bool:
        return bool(self._active)

    async def match(self, call: Call) -> Scenario | None:
        for scenario_id, scenario in self._active.items():
            count = self._matched[scenario_id]
            if used_up(scenario, count) or not matches(scenario, call):
                continue
            self._matched[scenario_id] = count + 1
            if count < scenario.after:
                continue
            return scenario
        return None

    def wants_body(self, operation: str) -> bool:
        return wanting_body(self._active.values(), operation)


def listing(scenario_id: int, scenario: Scenario, matched: int) -> dict[str, Any]:
    """A scenario as the control API lists it."""
    return {"id": scenario_id, "matched": matched, "used_up": used_up(scenario, matched)} | (
        scenario.to_json()
    )


def wanting_body(scenarios: Iterable[Scenario], operation: str) -> bool:
    """Whether any of `scenarios` matches on the input of `operation`'s calls."""
    return any(s.input is not None and s.operation in (operation, "any") for s in scenarios)


def used_up(scenario: Scenario, matched: int) -> bool:
    return scenario.times is not None and matched >= scenario.after + scenario.times


def matches(scenario: Scenario, call: Call) -> bool:
    if scenario.operation not in ("any", call.operation):
        return False
    if scenario.endpoint is not None and not _under(call.path, scenario.endpoint):
        return False
    if scenario.header is not None:
        name, value = scenario.header
        if call.headers.get(name.lower()) != value:
            return False
    if scenario.input is not None:
        if not isinstance(call.body, dict):
            return False
        return all(call.body.get(key) == value for key, value in scenario.input.items())
    return True


def _under(path: str, endpoint: str) -> bool:
    """Whether `path` is a call to `endpoint` (an id, or an app's `owner/app` for its polls):
    whole path segments, so `fal-ai/flux/dev` is not `fal-ai/flux/dev-lora`."""
    marker = f"/{endpoint}"
    at = path.find(marker)
    while at != -1:
        end = at + len(marker)
        if end == len(path) or path[end] == "/":
            return True
        at = path.find(marker, at + 1)
    return False


@dataclass(frozen=True, slots=True)
class Effect:
    """A matched scenario's part that the route applies, decided here once: the safety stages it
    forces, its own queue and run time (a stuck request waits forever), and its stubbed output."""

    safety: frozenset[str] = frozenset()
    queue_seconds: float | None = None
    run_seconds: float | None = None
    stuck: bool = False
    stub: Stub = field(default_factory=Stub)
    drop_after_events: int | None = None
    # The error the request ends with after its run (a replayed recording's).
    failure: FalError | None = None


NO_EFFECT = Effect()
# Set by the scenario runner around the call it let through (the same task runs the route).
_EFFECT: ContextVar[Effect] = ContextVar("falfake_scenario_effect", default=NO_EFFECT)


def current_effect() -> Effect:
    """The effect of the scenario that matched the call being answered, if any."""
    return _EFFECT.get()


@contextlib.contextmanager
def in_effect(effect: Effect) -> Iterator[None]:
    token = _EFFECT.set(effect)
    try:
        yield
    finally:
        _EFFECT.reset(token)

"""Replaying the recorded exchanges against a target and reporting drift.

Targets: the URL of a running falfake, `live` (fal itself: needs FAL_KEY and an explicit flag, and
costs money), or any `Target` a caller hands in (`falfake verify` hands in the fake itself, in
process: contracts/ never imports the fake).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from falfake.contracts import wire
from falfake.contracts.drift import Drift, reply_drift
from falfake.contracts.paths import contract_path
from falfake.contracts.reference_to_video import ENDPOINT_ID, ReferenceToVideoOutput

FAL_ROOTS = {
    "queue": "https://queue.fal.run",
    "run": "https://fal.run",
    "rest": "https://rest.fal.ai",
}
SCHEMAS: dict[str, type[BaseModel]] = {
    "ReferenceToVideoOutput": ReferenceToVideoOutput,
    **{model.__name__: model for model in wire.WIRE_MODELS},
}
# In a recording, `"schema": "output"` is the output of the recording's endpoint.
OUTPUT_SCHEMA = "output"
# The model's list price, about $0.13 per second of 720p video (PROTOCOL.md §14).
PRICE_PER_SECOND = 0.13
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Recording:
    name: str
    provenance: dict[str, str]
    exchanges: list[dict[str, Any]]
    endpoint: str = ENDPOINT_ID  # the endpoint whose calls it records; the seed's if unsaid

    @classmethod
    def load(cls, path: Path) -> Recording:
        data = json.loads(path.read_text())
        endpoint = data.get("endpoint", ENDPOINT_ID)
        return cls(path.stem, data["provenance"], data["exchanges"], endpoint)

    @property
    def since(self) -> str:
        kind, date = self.provenance.get("kind", "?"), self.provenance.get("date", "?")
        return f"{kind} {date}"

    def paid_requests(self) -> list[dict[str, Any]]:
        """The requests that ask a model to run: what live replay pays for."""
        return [
            step["request"]
            for step in self.exchanges
            if "request" in step
            and step["request"]["method"] == "POST"
            and step["request"]["service"] in ("queue", "run")
        ]

    def paid_seconds(self) -> int:
        """Seconds of the seed's video this recording asks for (priced per second)."""
        if self.endpoint != ENDPOINT_ID:
            return 0
        return sum(int(r.get("json", {}).get("duration", 8)) for r in self.paid_requests())


def recordings(folder: Path | None = None) -> list[Recording]:
    folder = folder or contract_path("recordings")
    return [Recording.load(path) for path in sorted(folder.glob("*.json"))]


@dataclass(slots=True)
class Report:
    checked: int = 0
    drifts: list[tuple[Recording, int, Drift]] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = f"{self.checked} exchanges checked, {len(self.drifts)} differences"
        return [head] + [
            f"  {recording.name} #{index}: {drift} (recording: {recording.since})"
            for recording, index, drift in self.drifts
        ]


Send = Callable[[str, str, str, dict[str, str], Any], Awaitable[httpx.Response]]


class Target:
    """Where requests go: `send(service, method, path, headers, json)` and time passing."""

    def __init__(
        self,
        send: Send,
        wait: Callable[[], Awaitable[None]],
        key: str,
        client: httpx.AsyncClient,
    ) -> None:
        self.send, self.wait, self.key, self._client = send, wait, key, client

    async def __aenter__(self) -> Target:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()


async def replay(recording: Recording, target: Target, report: Report) -> list[tuple[int, Any]]:
    """Send each request in turn, comparing replies; returns (status, body) of each reply."""
    saved: dict[str, str] = {}
    replies: list[tuple[int, Any]] = []
    for index, step in enumerate(recording.exchanges):
        template = step["wait"] if "wait" in step else step["request"]["path"]
        missing = [name for name in _PLACEHOLDER.findall(template) if name not in saved]
        if missing:
            # An earlier reply drifted so far that it named no request to follow: the rest of
            # this recording cannot be replayed, which is itself the drift to report.
            report.drifts.append((recording, index, _cannot_follow(missing[0], replies)))
            break
        path = _PLACEHOLDER.sub(lambda m: saved[m.group(1)], template)
        if "wait" in step:
            if not await _wait_until_completed(target, path):
                report.drifts.append((recording, index, Drift("wait", "COMPLETED", "timed out")))
                break
            continue
        request = step["request"]
        headers = dict(request.get("headers", {}))
        if request.get("auth", True):
            headers["Authorization"] = f"Key {target.key}"
        response = await target.send(
            request["service"], request["method"], path, headers, request.get("json")
        )
        body = _json_or_text(response)
        replies.append((response.status_code, body))
        report.checked += 1
        expected = step["response"]
        drifts = reply_drift(expected, response.status_code, response.headers, body)
        drifts += schema_drift(expected.get("schema"), body, recording.endpoint)
        report.drifts += [(recording, index, drift) for drift in drifts]
        for name, key in step.get("save", {}).items():
            if isinstance(body, dict) and isinstance(body.get(key), str):
                saved[name] = body[key]
    return replies


def _cannot_follow(name: str, replies: list[tuple[int, Any]]) -> Drift:
    status, body = replies[-1] if replies else (None, None)
    hint = " (is FAL_KEY, or --key, one the target accepts?)" if status in (401, 403) else ""
    return Drift(f"cannot go on: no {name} in the reply before{hint}", f"a reply with {name}", body)


async def _wait_until_completed(target: Target, status_path: str) -> bool:
    """Poll until the status is 200 (COMPLETED); False if it never gets there."""
    for _ in range(600):
        headers = {"Authorization": f"Key {target.key}"}
        response = await target.send("queue", "GET", status_path, headers, None)
        if response.status_code == 200:
            return True
        await target.wait()
    return False


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def schema_drift(schema: str | None, body: Any, endpoint: str) -> list[Drift]:
    if schema is None:
        return []
    model = output_model(endpoint) if schema == OUTPUT_SCHEMA else SCHEMAS[schema]
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return [Drift(f"body against {schema}", "valid", str(exc).splitlines()[0])]
    return []


def output_model(endpoint: str) -> type[BaseModel]:
    """The output model of a built-in endpoint: the seed's, or the one its document describes."""
    if endpoint == ENDPOINT_ID:
        return ReferenceToVideoOutput
    from falfake.contracts.documents import built_in_documents
    from falfake.contracts.schema_models import input_model

    (document,) = [d for d in built_in_documents() if d.endpoint_id == endpoint]
    return input_model(document.output_schema, "Output")


async def verify(target: Target, chosen: Iterable[Recording]) -> Report:
    report = Report()
    for recording in chosen:
        await replay(recording, target, report)
    return report


def http_target(base_url: str | None, key: str, *, wait_seconds: float) -> Target:
    """A running falfake at `base_url` (path prefixes), or fal itself when `base_url` is None."""
    client = httpx.AsyncClient(timeout=120, follow_redirects=False)

    async def send(
        service: str, method: str, path: str, headers: dict[str, str], body: Any
    ) -> httpx.Response:
        root = FAL_ROOTS[service] if base_url is None else f"{base_url.rstrip('/')}/{service}"
        return await client.request(method, root + path, headers=headers, json=body)

    async def wait() -> None:
        await asyncio.sleep(wait_seconds)

    return Target(send, wait, key, client)


VOLATILE_KEYS = frozenset(
    {"request_id", "gateway_request_id", "response_url", "status_url", "cancel_url", "url"}
    | {"timestamp", "token", "expires_at", "upload_url", "file_url", "access_url", "input"}
)


def generalised(value: Any, key: str = "") -> Any:
    """A live body made recordable: ids, URLs and times become `<volatile>`."""
    if isinstance(value, dict):
        return {k: generalised(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [generalised(item, key) for item in value]
    if isinstance(value, str) and key in VOLATILE_KEYS:
        return "<volatile>"
    return value

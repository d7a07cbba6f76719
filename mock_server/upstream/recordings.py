"""Recorded lifecycles (`--record DIR`, `--replay DIR`; issue 33): one readable JSON file per
request, with its output media beside it and its input files stored by the digest of their bytes.

A recording keeps the endpoint, the input (each file the fake served replaced by
`{"$digest": "sha256:…"}`), every state the request went through (status, queue position, the
log lines printed since the state before, seconds after the submit), the result's status, its
allow-listed headers (content type, billable units, error type) and body (each media file replaced
by `{"$file": "media/<sha256>.<ext>", …}` with its other fields), the date and falfake's version.
Nothing of a request's headers is kept, and the upstream key is scrubbed from every string, so no
recorded byte can hold it (a test greps them all).

Its name is the digest of what it matches: the endpoint and the input without the ignored fields,
so recording the same call again replaces it. A replayed submit matches on the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger("falfake")
FORMAT = 1
DIGEST = "$digest"
MEDIA = "media"
INPUTS = "inputs"
REDACTED = "<redacted>"


@dataclass(frozen=True, slots=True)
class Recording:
    path: Path
    endpoint_id: str
    matched: dict[str, Any]  # the input as matched: digests for files, ignored fields gone
    data: dict[str, Any]


def digest_marker(data: bytes) -> dict[str, str]:
    return {DIGEST: "sha256:" + hashlib.sha256(data).hexdigest()}


def matched_input(node: Any, ignore: Iterable[str]) -> Any:
    """The input as it is matched: the top-level fields in `ignore` left out."""
    ignored = set(ignore)
    if isinstance(node, dict):
        return {key: value for key, value in node.items() if key not in ignored}
    return node


def match_key(endpoint_id: str, matched: Any) -> str:
    canonical = json.dumps([endpoint_id, matched], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def file_of(folder: Path, endpoint_id: str, matched: Any) -> Path:
    return folder / endpoint_id.replace("/", "--") / f"{match_key(endpoint_id, matched)}.json"


def scrubbed(node: Any, secret: str) -> Any:
    """`node` with `secret` replaced wherever a string holds it."""
    if isinstance(node, str):
        return node.replace(secret, REDACTED) if secret else node
    if isinstance(node, list):
        return [scrubbed(item, secret) for item in node]
    if isinstance(node, dict):
        return {scrubbed(k, secret): scrubbed(v, secret) for k, v in node.items()}
    return node


def media_marked(node: Any, store: Callable[[str], dict[str, Any] | None]) -> Any:
    """`node` with each file object (a dict with an http(s) `url`) replaced by what `store`
    makes of it (its `$file` marker), or kept when `store` gives None."""
    if isinstance(node, dict):
        url = node.get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            marker = store(url)
            if marker is not None:  # its own content type first: the recorded object's wins
                return {**marker, **{k: v for k, v in node.items() if k != "url"}}
        return {key: media_marked(value, store) for key, value in node.items()}
    if isinstance(node, list):
        return [media_marked(item, store) for item in node]
    return node


def stored_media(folder: Path, data: bytes, content_type: str, url: str) -> dict[str, Any]:
    """Keep `data` under media/ by its digest; the `$file` marker that points at it."""
    extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or Path(url).suffix
    name = f"{hashlib.sha256(data).hexdigest()}{extension or '.bin'}"
    (folder / MEDIA).mkdir(parents=True, exist_ok=True)
    (folder / MEDIA / name).write_bytes(data)
    return {"$file": f"{MEDIA}/{name}", "$exact": True, "content_type": content_type}


def write(
    folder: Path,
    endpoint_id: str,
    matched: Any,
    recorded: dict[str, Any],
    *,
    secret: str,
    version: str,
    now: float,
) -> Path:
    """Write one recording whole (a reviewer never sees half of one); replaces an older one of
    the same call."""
    path = file_of(folder, endpoint_id, matched)
    data = {
        "format": FORMAT,
        "falfake": version,
        "recorded_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        "endpoint": endpoint_id,
        "matched_input": matched,
        **recorded,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(scrubbed(data, secret), indent=2, ensure_ascii=False) + "\n")
    partial.replace(path)
    return path


def load(folder: Path) -> list[Recording]:
    """Every recording under `folder` (media and inputs aside); a file that is not one falfake
    can replay (not JSON, a field missing, a media file outside `media/` or gone) is left aside
    with one warning."""
    found = []
    for path in sorted(folder.glob("*/*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            recording = Recording(path, str(data["endpoint"]), data["matched_input"], data)
            _check_media(folder, data.get("result"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning(
                "falfake: %s is not a recording falfake can replay (%r): left aside", path, exc
            )
            continue
        found.append(recording)
    return found


def _check_media(folder: Path, node: Any) -> None:
    """Raise ValueError for a `$file` that is not a file under `folder/media`."""
    if isinstance(node, dict) and "$file" in node:
        media = (folder / MEDIA).resolve()
        path = (folder / str(node["$file"])).resolve()
        if not path.is_relative_to(media) or not path.is_file():
            raise ValueError(f"media file {node['$file']!r} is not under {MEDIA}/")
    if isinstance(node, dict):
        for value in node.values():
            _check_media(folder, value)
    elif isinstance(node, list):
        for item in node:
            _check_media(folder, item)


def differing_fields(recorded: Any, asked: Any) -> list[str]:
    """The top-level fields whose values differ (or that one side lacks)."""
    if not isinstance(recorded, dict) or not isinstance(asked, dict):
        return ["(input)"]
    keys = sorted(set(recorded) | set(asked))
    return [key for key in keys if recorded.get(key) != asked.get(key)]


def replayable(recording: Recording) -> bool:
    """A recording with a result to replay: an output, or the error it ended with."""
    result = recording.data.get("result") or {}
    status = result.get("status")
    return isinstance(status, int) and (status != 200 or isinstance(result.get("body"), dict))


def timings(states: list[dict[str, Any]], speed: float) -> tuple[float, float]:
    """Seconds in the queue and running, as recorded, divided by `speed`."""
    started = next((s["after_seconds"] for s in states if s["status"] == "IN_PROGRESS"), None)
    done = next((s["after_seconds"] for s in states if s["status"] == "COMPLETED"), 0.0)
    queued = done if started is None else started
    return queued / speed, max(0.0, done - queued) / speed


def recorded_logs(states: list[dict[str, Any]]) -> list[tuple[float, str]]:
    """Every log line the lifecycle printed, in order (each state keeps the new ones), with when
    it was first seen as a share of the run (0 for a line seen while queued)."""
    queued, running = timings(states, 1.0)
    lines = []
    for state in states:
        share = (state["after_seconds"] - queued) / running if running else 1.0
        for line in state.get("logs") or []:
            if isinstance(line, dict):
                lines.append((min(1.0, max(0.0, share)), str(line.get("message", ""))))
    return lines


def older_than(recordings: Iterable[Recording], seconds: float, now: float) -> list[Recording]:
    """The recordings made more than `seconds` before `now`."""
    return [
        recording
        for recording in recordings
        if now - datetime.fromisoformat(recording.data["recorded_at"]).timestamp() > seconds
    ]

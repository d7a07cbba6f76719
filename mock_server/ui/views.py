"""What the dashboard shows of a request, a journal entry or a file: plain data for templates."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from falfake.queue.models import Snapshot, Status

PAGE_SIZE = 50
MEDIA_KINDS = {"video": "video", "image": "img", "audio": "audio"}


@dataclass(frozen=True, slots=True)
class Row:
    request_id: str
    seq: int
    endpoint_id: str
    status: str
    queue_position: int | None
    submitted: str
    started: str
    finished: str
    duration: str
    error_type: str


def moment(at: float | None) -> str:
    """A time on the fake's clock as a reader wants it: UTC, to the millisecond."""
    if at is None:
        return ""
    whole = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))
    return f"{whole}.{int(at * 1000) % 1000:03d}"


def row(snapshot: Snapshot) -> Row:
    request = snapshot.request
    took = ""
    if request.completed_at is not None:
        took = f"{request.completed_at - request.submitted_at:.2f} s"
    failure = request.failure
    return Row(
        request_id=request.request_id,
        seq=request.seq,
        endpoint_id=request.endpoint_id,
        status=request.status.value,
        queue_position=snapshot.queue_position,
        submitted=moment(request.submitted_at),
        started=moment(request.started_at),
        finished=moment(request.completed_at),
        duration=took,
        error_type="" if failure is None else error_type(failure.error_type, failure.detail),
    )


def error_type(declared: str | None, detail: object) -> str:
    """A failure's type as fal names it: the flat body's, or the first 422 entry's."""
    if declared is not None:
        return declared
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("type", ""))
    return ""


def timeline(snapshot: Snapshot) -> list[tuple[str, str]]:
    """(status, when) for each step the request has reached."""
    request = snapshot.request
    steps = [(Status.IN_QUEUE.value, moment(request.submitted_at))]
    if request.started_at is not None:
        steps.append((Status.IN_PROGRESS.value, moment(request.started_at)))
    if request.completed_at is not None:
        steps.append((Status.COMPLETED.value, moment(request.completed_at)))
    return steps


def pretty(value: Any) -> str:
    """Indented JSON, with other scripts as they are written but a lone surrogate (a body may
    spell one as `\\udfff`) as its escape: the page is sent as UTF-8, which cannot carry one."""
    return _escaped(json.dumps(value, indent=2, ensure_ascii=False))


def sendable(value: object) -> object:
    """A value a page shows, with each lone surrogate in a string as its escape (a scenario's log
    line or file name may hold one); the templates' `finalize`, so no page can fail on one."""
    if isinstance(value, str) and _LONE_SURROGATE.search(value):
        return type(value)(_escaped(value))  # markup stays markup: the escapes are plain text
    return value


def _escaped(text: str) -> str:
    return _LONE_SURROGATE.sub(lambda found: f"\\u{ord(found[0]):04x}", text)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def parsed_body(text: str) -> Any:
    """A journaled body as JSON when it is JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def stream_events(reply: str) -> list[Any]:
    """The `data:` payloads of a journaled event stream, each as JSON when it is JSON."""
    return [
        parsed_body(line.removeprefix("data:").strip())
        for line in reply.splitlines()
        if line.startswith("data:")
    ]


def media_in(body: Any) -> list[tuple[str, str]]:
    """(element, url) for every file in an output: `video`, `img` or `audio` by content type."""
    found: list[tuple[str, str]] = []
    if isinstance(body, dict):
        url, content_type = body.get("url"), body.get("content_type")
        if isinstance(url, str) and isinstance(content_type, str):
            element = MEDIA_KINDS.get(content_type.partition("/")[0])
            if element is not None:
                found.append((element, url))
        for value in body.values():
            found += media_in(value)
    elif isinstance(body, list):
        for item in body:
            found += media_in(item)
    return found


def size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024**2:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024**2:.1f} MiB"

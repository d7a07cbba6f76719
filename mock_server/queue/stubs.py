"""Outputs and logs a scenario sets for the requests it matches (WireMock's stubbed bodies).

`output` replaces the generated output; `output_fields` is merged into it, object by object (a
list or a value replaces what was there). A file object the stub gives as
`{"$bytes": BASE64, "content_type": ..., "file_name": ...}` (the control API reads a
`{"$file": PATH}` into that form) becomes a file the fake serves at its own URL, like any
rendered one; a stub's object at a rendered file's place without a `url` changes that file's
fields and keeps the file. `logs` replaces the lines the request prints, spread over its run.

A request whose input is rejected is not stubbed: fal would refuse it whatever the model makes.
"""

from __future__ import annotations

import base64
import functools
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from falfake.media.specs import Generation, GivenFile, MediaSlot
from falfake.queue.models import Job, LogLine

FILE = "$file"
BYTES = "$bytes"
# A given file whose object is to be exactly as written (a recording's): its own fields, and
# `file_size` only if it had one; otherwise `content_type`, `file_name` and `file_size` are added.
EXACT = "$exact"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Stub:
    output: dict[str, Any] | None = None
    output_fields: dict[str, Any] | None = None
    logs: Sequence[str] | None = None
    # When each of `logs` is printed, as a share of the run (a replayed recording's); None
    # spreads them evenly.
    log_moments: Sequence[float] | None = None

    def __bool__(self) -> bool:
        return self.output is not None or self.output_fields is not None or self.logs is not None


def stubbed(job: Job, stub: Stub) -> Job:
    """`job` with the stub's output and logs."""
    if job.failure is not None or not stub:
        return job
    logs = job.logs
    if stub.logs is not None:
        count = len(stub.logs)
        moments = stub.log_moments or [(i + 1) / (count + 1) for i in range(count)]
        logs = tuple(LogLine(at, line) for at, line in zip(moments, stub.logs, strict=True))
    generation = job.outcome
    assert isinstance(generation, Generation), "a job that does not fail has an output"
    body: dict[str, Any] = generation.body
    slots = list(generation.slots)
    if stub.output is not None:
        body, slots = stub.output, []
    if stub.output_fields is not None:
        slots = [kept for slot in slots if (kept := _kept(slot, stub.output_fields)) is not None]
        body = _merged(body, stub.output_fields)
    given: list[MediaSlot] = []
    body = _given_files(body, (), given)
    return Job(logs, replace(generation, body=body, slots=(*slots, *given)), job.fails_late)


@functools.lru_cache(maxsize=16)
def given_bytes(encoded: str) -> bytes:
    """A given file's bytes, decoded once however many requests its scenario stubs (the base64
    was checked when the scenario was made)."""
    return base64.b64decode(encoded)


def is_file_marker(value: object) -> bool:
    return isinstance(value, dict) and (FILE in value or BYTES in value)


def _merged(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict) and not is_file_marker(extra):
        return {**base, **{key: _merged(base.get(key), value) for key, value in extra.items()}}
    return extra


def _kept(slot: MediaSlot, fields: dict[str, Any]) -> MediaSlot | None:
    """The rendered file at `slot` after merging `fields`: untouched, with changed fields, or
    gone (None) where the stub puts something else there."""
    node: Any = fields
    for key in slot.at:
        if not isinstance(node, dict) or is_file_marker(node):
            return None
        if key not in node:
            return slot
        node = node[key]
    if not isinstance(node, dict) or is_file_marker(node) or "url" in node:
        return None
    return replace(slot, fields={**slot.fields, **node})


def _given_files(node: Any, at: tuple[str | int, ...], found: list[MediaSlot]) -> Any:
    """`node` with each given file replaced by a placeholder its slot (added to `found`) fills."""
    if is_file_marker(node):
        found.append(_slot(node, at, len(found)))
        return {}
    if isinstance(node, dict):
        return {key: _given_files(value, (*at, key), found) for key, value in node.items()}
    if isinstance(node, list):
        return [_given_files(value, (*at, index), found) for index, value in enumerate(node)]
    return node


def _slot(marker: dict[str, Any], at: tuple[str | int, ...], number: int) -> MediaSlot:
    name = str(marker.get("file_name") or "file")
    content_type = marker.get("content_type") or mimetypes.guess_type(name)[0]
    content_type = str(content_type or "application/octet-stream")
    data = given_bytes(marker[BYTES])
    # The URL ends in the name; a number keeps two given files of one name apart.
    served = f"given{number}_{_UNSAFE_NAME.sub('_', name)}"
    fields: dict[str, object] = {"content_type": content_type, "file_name": name}
    with_size = True
    if marker.get(EXACT):
        fields = {k: v for k, v in marker.items() if k not in (FILE, BYTES, EXACT, "file_size")}
        with_size = "file_size" in marker
    spec = GivenFile(data, content_type)
    return MediaSlot(at, spec, served, fields, with_size=with_size)

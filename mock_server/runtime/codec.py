"""A request as JSON text, for the SQLite store: what it is, where it stands, what it will do.

Reference images travel apart from the text (they can be megabytes and never change); the record
names them by digest and `decode_request` asks for their bytes. The codec knows no endpoint: an
output is a `Generation` whatever made it. A change to what a record holds bumps
`data_dir.SCHEMA_VERSION`, so an older falfake refuses a newer directory and the reverse.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

from falfake.errors import FalError, error_state, restored_error
from falfake.media.specs import (
    MEDIA_TYPES,
    Generation,
    GivenFile,
    ImageSource,
    MediaSlot,
    MediaSpec,
    VideoSpec,
)
from falfake.queue.models import Job, LogLine, QueuedRequest, Status
from falfake.validation import Priority

_SCALARS = (
    "request_id",
    "endpoint_id",
    "app_id",
    "seq",
    "submitted_at",
    "eligible_at",
    "start_deadline",
    "output_path",
    "webhook_url",
    "media_root",
    "run_seconds",
    "started_at",
    "finishes_at",
    "completed_at",
    "webhook_pending",
)
_VIDEO_SCALARS = ("width", "height", "duration", "fps", "prompt", "request_id")
_KINDS = {cls: kind for kind, cls in MEDIA_TYPES.items()}


def encode_request(request: QueuedRequest) -> str:
    """The record as JSON text (ASCII: a lone surrogate echoed from the input survives)."""
    record: dict[str, Any] = {name: getattr(request, name) for name in _SCALARS}
    record["priority"] = request.priority.value
    record["status"] = request.status.value
    record["failure"] = None if request.failure is None else encode_error(request.failure)
    record["job"] = _encode_job(request.job)
    return json.dumps(record, allow_nan=False, separators=(",", ":"))


def decode_request(text: str, image_data: Callable[[str], bytes | None]) -> QueuedRequest:
    """The record `encode_request` wrote; `image_data(digest)` gives a stored image's bytes."""
    record = json.loads(text)
    failure = record["failure"]
    return QueuedRequest(
        **{name: record[name] for name in _SCALARS},
        priority=Priority(record["priority"]),
        status=Status(record["status"]),
        failure=None if failure is None else decode_error(failure),
        job=_decode_job(record["job"], image_data),
    )


def stored_images(request: QueuedRequest) -> Iterator[ImageSource]:
    """The images whose bytes the record refers to by digest."""
    outcome = request.job.outcome
    if isinstance(outcome, Generation):
        yield from (image for image in outcome.images if image.data is not None)


def encode_error(error: FalError) -> dict[str, Any]:
    type_name, state = error_state(error)
    return {"type": type_name, "state": state}


def decode_error(record: dict[str, Any]) -> FalError:
    return restored_error(record["type"], record["state"])


def _encode_job(job: Job) -> dict[str, Any]:
    outcome = job.outcome
    return {
        "logs": [[line.at, line.message, line.level] for line in job.logs],
        "fails_late": job.fails_late,
        "error": encode_error(outcome) if isinstance(outcome, FalError) else None,
        "generation": None if isinstance(outcome, FalError) else _encode_generation(outcome),
    }


def _decode_job(record: dict[str, Any], image_data: Callable[[str], bytes | None]) -> Job:
    logs = tuple(LogLine(at, message, level) for at, message, level in record["logs"])
    outcome: Generation | FalError
    if record["error"] is not None:
        outcome = decode_error(record["error"])
    else:
        outcome = _decode_generation(record["generation"], image_data)
    return Job(logs=logs, outcome=outcome, fails_late=record["fails_late"])


def _encode_generation(generation: Generation) -> dict[str, Any]:
    return {
        "body": generation.body,
        "billable_units": generation.billable_units,
        "inline": generation.inline,
        "slots": [
            {
                "at": list(slot.at),
                "file_name": slot.file_name,
                "fields": slot.fields,
                "with_size": slot.with_size,
                "kind": _KINDS[type(slot.spec)],
                "spec": _encode_spec(slot.spec),
            }
            for slot in generation.slots
        ],
    }


def _decode_generation(
    record: dict[str, Any], image_data: Callable[[str], bytes | None]
) -> Generation:
    slots = tuple(
        MediaSlot(
            at=tuple(slot["at"]),
            spec=_decode_spec(slot["kind"], slot["spec"], image_data),
            file_name=slot["file_name"],
            fields=slot["fields"],
            with_size=slot["with_size"],
        )
        for slot in record["slots"]
    )
    return Generation(
        body=record["body"],
        slots=slots,
        billable_units=record["billable_units"],
        inline=record.get("inline", False),  # records from before sync_mode have none
    )


def _encode_spec(spec: MediaSpec) -> dict[str, Any]:
    if isinstance(spec, VideoSpec):
        return _encode_video(spec)
    if isinstance(spec, GivenFile):
        return {"data": base64.b64encode(spec.data).decode(), "content_type": spec.content_type}
    return dataclasses.asdict(spec)


def _decode_spec(
    kind: str, record: dict[str, Any], image_data: Callable[[str], bytes | None]
) -> MediaSpec:
    if kind == "video":
        return _decode_video(record, image_data)
    if kind == "given":
        return GivenFile(base64.b64decode(record["data"]), record["content_type"])
    return MEDIA_TYPES[kind](**record)


def _encode_video(video: VideoSpec) -> dict[str, Any]:
    record: dict[str, Any] = {name: getattr(video, name) for name in _VIDEO_SCALARS}
    record["images"] = [
        {
            "digest": image.digest,
            "label": image.label,
            "index": image.index,
            "stored": image.data is not None,
        }
        for image in video.images
    ]
    return record


def _decode_video(record: dict[str, Any], image_data: Callable[[str], bytes | None]) -> VideoSpec:
    images = tuple(
        ImageSource(
            digest=image["digest"],
            label=image["label"],
            index=image["index"],
            data=image_data(image["digest"]) if image["stored"] else None,
        )
        for image in record["images"]
    )
    return VideoSpec(**{name: record[name] for name in _VIDEO_SCALARS}, images=images)

"""An output (`Generation`) as plain values: marshal bytes, and apart from them the bytes payloads
it holds (reference images, given files), kept as they are so reading it back copies no image.

A job keeps its output so from submit until the request is forgotten (`falfake.queue.models.Job`):
as objects, an output is six or more the cyclic garbage collector walks, and a fake under load
holds thousands of requests in flight and hundreds of thousands finished.
"""

from __future__ import annotations

import marshal
from typing import Any

from falfake.media.specs import (
    AudioSpec,
    Generation,
    GivenFile,
    ImageSource,
    ImageSpec,
    MediaSlot,
    MediaSpec,
    VideoSpec,
)

_NO_DATA = -1  # where a payload's index would be: it has none


def pack_generation(generation: Generation) -> tuple[bytes, tuple[bytes, ...]] | None:
    """(record, payloads); None if the output holds a value marshal cannot keep (a subclass of a
    plain type, from an odd scenario)."""
    payloads: list[bytes] = []
    slots = tuple(
        (slot.at, _spec(slot.spec, payloads), slot.file_name, slot.fields, slot.with_size)
        for slot in generation.slots
    )
    record = generation.body, slots, generation.billable_units, generation.inline
    try:
        return marshal.dumps(record), tuple(payloads)
    except ValueError:  # "unmarshallable object"
        return None


def unpack_generation(record: bytes, payloads: tuple[bytes, ...]) -> Generation:
    """The output `pack_generation` was given, equal to it."""
    body, slots, billable_units, inline = marshal.loads(record)
    return Generation(
        body=body,
        slots=tuple(
            MediaSlot(
                at=at,
                spec=_unspec(spec, payloads),
                file_name=file_name,
                fields=fields,
                with_size=with_size,
            )
            for at, spec, file_name, fields, with_size in slots
        ),
        billable_units=billable_units,
        inline=inline,
    )


def _spec(spec: MediaSpec, payloads: list[bytes]) -> tuple[Any, ...]:
    if isinstance(spec, VideoSpec):
        images = tuple(
            (image.digest, image.label, image.index, _payload(image.data, payloads))
            for image in spec.images
        )
        video = (spec.width, spec.height, spec.duration, spec.fps, spec.prompt, spec.request_id)
        return "video", video, images
    if isinstance(spec, GivenFile):
        return "given", (_payload(spec.data, payloads), spec.content_type), ()
    if isinstance(spec, ImageSpec):
        image = (spec.width, spec.height, spec.format, spec.prompt, spec.request_id)
        return "image", (*image, spec.index, spec.blank), ()
    return "audio", (spec.duration, spec.format, spec.text, spec.request_id), ()


def _unspec(record: tuple[Any, ...], payloads: tuple[bytes, ...]) -> MediaSpec:
    kind, fields, images = record
    if kind == "video":
        sources = tuple(
            ImageSource(digest, label, index, None if at == _NO_DATA else payloads[at])
            for digest, label, index, at in images
        )
        width, height, duration, fps, prompt, request_id = fields
        return VideoSpec(width, height, duration, fps, prompt, request_id, sources)
    if kind == "given":
        at, content_type = fields
        return GivenFile(payloads[at], content_type)
    if kind == "image":
        return ImageSpec(*fields)
    return AudioSpec(*fields)


def _payload(data: bytes | None, payloads: list[bytes]) -> int:
    """Where `data` sits among the record's payloads (appended), or _NO_DATA."""
    if data is None:
        return _NO_DATA
    payloads.append(data)
    return len(payloads) - 1

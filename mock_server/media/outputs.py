"""Turning a finished job into its output JSON, with each rendered file published at its URL."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from falfake.media.files import Files
from falfake.media.specs import CONTENT_TYPES, Generation, GivenFile, MediaSlot
from falfake.media.work import Work


@dataclass(frozen=True, slots=True)
class Output:
    body: dict[str, Any]
    billable_units: str


def slot_path(output_path: str, slot: MediaSlot) -> str:
    """Where a slot's file is served: the request's output prefix and the file's name."""
    return f"{output_path}_{slot.file_name}"


async def publish_output(
    generation: Generation,
    output_path: str,
    files: Files,
    media_root: str,
    work: Work,
) -> Output:
    """Render the generation's files off the event loop, serve them under `output_path`, and
    write their URLs (and sizes) into the output body.

    A file already published (an earlier result GET, a webhook) is served as it is; one being
    rendered for another caller is waited for.
    """
    body: Any = generation.body
    for slot in generation.slots:
        path = slot_path(output_path, slot)
        size = await _published_size(slot, path, files, work)
        url = await _data_uri(files, path) if generation.inline else f"{media_root}/files/{path}"
        file: dict[str, Any] = {"url": url, **slot.fields}
        if slot.with_size:
            file["file_size"] = size
        body = _placed(body, slot.at, file)
    return Output(body=body, billable_units=generation.billable_units)


async def _published_size(slot: MediaSlot, path: str, files: Files, work: Work) -> int:
    published = await files.entry(path)
    if published is not None:
        return published.size

    def render() -> bytes:
        # In the worker thread: the first render imports PyAV, numpy or Pillow, which would hold
        # the event loop for a few hundred milliseconds.
        from falfake.media.renderers import render

        return render(slot.spec)

    async def render_and_store() -> int:
        data = await work.run(render)
        await files.put(path, data, content_type_of(slot))
        return len(data)

    return await work.once(path, render_and_store)


def content_type_of(slot: MediaSlot) -> str:
    """A rendered file's type follows its extension; a given file says its own."""
    if isinstance(slot.spec, GivenFile):
        return slot.spec.content_type
    return CONTENT_TYPES[slot.file_name.rpartition(".")[2]]


async def _data_uri(files: Files, path: str) -> str:
    stored = await files.read(path)
    return f"data:{stored.content_type};base64,{base64.b64encode(stored.data).decode()}"


def _placed(node: Any, at: tuple[str | int, ...], value: dict[str, Any]) -> Any:
    """`node` with `value` at `at`, copying only the containers on the way (the stored body is
    shared by every reply)."""
    if not at:
        return value
    key, rest = at[0], at[1:]
    if isinstance(node, list) and isinstance(key, int):
        items = list(node)
        items[key] = _placed(node[key], rest, value)
        return items
    fields = dict(node)
    fields[key] = _placed(node[key], rest, value)
    return fields

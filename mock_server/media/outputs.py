"""Turning a finished job into its output JSON, with the rendered file published at its URL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_server.media.files import FileStore
from mock_server.media.specs import VideoSpec
from mock_server.media.work import Work


@dataclass(frozen=True, slots=True)
class Output:
    body: dict[str, Any]
    billable_units: str


async def publish_output(
    describe: Callable[[str, int], dict[str, Any]],
    video: VideoSpec,
    output_path: str,
    files: FileStore,
    media_root: str,
    work: Work,
) -> Output:
    """Render `video` off the event loop, serve it at `output_path`, and `describe` it (the
    endpoint's output body for the file's URL and size).

    An output already published (an earlier result GET, a webhook) is served as it is; one being
    rendered for another caller is waited for.
    """
    published = files.entry(output_path)
    if published is None:

        def render() -> bytes:
            # In the worker thread: the first render imports PyAV, numpy and Pillow, which would
            # hold the event loop for a few hundred milliseconds.
            from mock_server.media.video import render_video

            return render_video(video)

        async def render_and_store() -> int:
            data = await work.run(render)
            files.put(output_path, data, "video/mp4")
            return len(data)

        size = await work.once(output_path, render_and_store)
    else:
        size = published.size
    body = describe(f"{media_root}/files/{output_path}", size)
    # fal bills this model per second of video (§15.2).
    return Output(body=body, billable_units=str(video.duration))

"""The fal endpoints the fake serves, as data: id, how a runner plans a request, output shape.

The queue code knows endpoints only through `Endpoint`; serving a second model means adding an entry
to `ENDPOINTS`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.detail import validation_detail
from contracts.rules import ENDPOINT_ID, IMAGE_REF_TAG, AspectRatioEnum
from mock_server.errors import BodyNotParsed, InvalidInput
from mock_server.media.files import FileStore
from mock_server.media.images import Fetch, load_images
from mock_server.media.specs import ImageSource, VideoSpec
from mock_server.media.work import Work
from mock_server.queue.models import Job, LogLine
from mock_server.queue.replies import reject_early
from mock_server.queue.safety import input_flags, output_flag
from mock_server.settings import Settings
from mock_server.validation import decode_body


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What a runner may look at besides the body."""

    settings: Settings
    files: FileStore
    request_id: str
    own_roots: Sequence[str] = ()
    forced_safety: frozenset[str] = frozenset()
    fetch: Fetch | None = None
    work: Work = field(default_factory=Work)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One fal endpoint: `plan` turns a decoded body into a Job, raising InvalidInput if it must."""

    endpoint_id: str
    plan: Callable[[object, PlanContext], Awaitable[Job]]
    output: Callable[[str, int], dict[str, Any]]
    # `owner/app`, the part of the id that status, result and cancel URLs use (§2).
    app_id: str = field(init=False)

    def __post_init__(self) -> None:
        owner, app, *_ = self.endpoint_id.split("/")
        object.__setattr__(self, "app_id", f"{owner}/{app}")  # derived once: it is on every poll


async def plan_job(
    endpoint: Endpoint, raw: bytes, content_type: str | None, context: PlanContext
) -> Job:
    """What the runner will do with this body; input it rejects becomes a Job failing with it."""
    try:
        return await endpoint.plan(decode_body(raw, content_type), context)
    except (InvalidInput, BodyNotParsed) as exc:
        exc.request_id = context.request_id
        reason = "Input rejected" if _is_content_policy(exc) else "Input validation failed"
        return Job(
            logs=(
                LogLine(0.0, "Validating input"),
                LogLine(0.0, f"{reason}: {exc.message()}", "ERROR"),
            ),
            outcome=exc,
        )


def _is_content_policy(exc: InvalidInput | BodyNotParsed) -> bool:
    detail = exc.detail if isinstance(exc.detail, list) else []
    return any(entry.get("type") == "content_policy_violation" for entry in detail)


def check_at_submit(job: Job, settings: Settings) -> None:
    """With validation at submit, bad input is a 422 at once instead of on the result (§3)."""
    if settings.validate_at == "submit":
        reject_early(job)


async def _plan_reference_to_video(payload: object, context: PlanContext) -> Job:
    # The models and pydantic load with the first submit (or the warm-up after start).
    from pydantic import ValidationError

    from contracts import validate_input

    settings = context.settings
    try:
        data = validate_input(payload, settings.limits)
    except ValidationError as exc:
        raise InvalidInput(validation_detail(exc, settings.validation_detail)) from None
    images = await load_images(
        data.image_urls,
        context.files,
        settings.images,
        context.work,
        own_roots=context.own_roots,
        fetch=context.fetch,
    )
    flags = input_flags(
        data.prompt, data.image_urls, images, settings.safety, context.forced_safety
    )
    if flags:
        raise InvalidInput(flags)
    width, height = settings.video_width, settings.video_height
    if data.aspect_ratio is AspectRatioEnum.PORTRAIT:
        width, height = height, width
    video = VideoSpec(
        width=width,
        height=height,
        duration=data.duration,
        prompt=data.prompt,
        request_id=context.request_id,
        images=in_prompt_order(data.prompt, images),
    )
    logs = _run_logs(len(images), data.duration, data.aspect_ratio.value)
    flagged = output_flag(data.prompt, settings.safety, context.forced_safety)
    if flagged is None:
        return Job(logs=logs, outcome=video)
    checked = LogLine(1.0, "Generated content flagged by the content checker", "ERROR")
    failure = InvalidInput([flagged], request_id=context.request_id)
    return Job(logs=(*logs, checked), outcome=failure, fails_late=True)


@functools.lru_cache(maxsize=128)
def _run_logs(count: int, duration: int, aspect_ratio: str) -> tuple[LogLine, ...]:
    """The runner's log lines: the same few for every request of a shape, so made once."""
    return (
        LogLine(0.0, "Validating input"),
        LogLine(0.05, f"Loading {count} reference image{'s' if count > 1 else ''}"),
        LogLine(0.3, f"Generating {duration} s of video at {aspect_ratio}"),
        LogLine(0.8, "Encoding video"),
        LogLine(1.0, "Video generated"),
    )


def in_prompt_order(prompt: str, images: Sequence[ImageSource]) -> tuple[ImageSource, ...]:
    """The images in the order the prompt's tags first name them, then the unnamed ones."""
    named = dict.fromkeys(int(n) for n in IMAGE_REF_TAG.findall(prompt) if int(n) < len(images))
    rest = [i for i in range(len(images)) if i not in named]
    return tuple(images[i] for i in [*named, *rest])


def _video_output(url: str, file_size: int) -> dict[str, Any]:
    """What `ReferenceToVideoOutput` dumps for this file, built directly: it answers every result
    GET (tests/mock_server/test_endpoints.py holds it to the model)."""
    file = {"url": url, "content_type": "video/mp4", "file_name": "output.mp4"}
    return {"video": {**file, "file_size": file_size}}


ENDPOINTS: dict[str, Endpoint] = {
    ENDPOINT_ID: Endpoint(
        endpoint_id=ENDPOINT_ID, plan=_plan_reference_to_video, output=_video_output
    ),
}

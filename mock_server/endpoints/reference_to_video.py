"""The seed endpoint, `google/gemini-omni-flash/reference-to-video`: its plan and its output."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from falfake.contracts.detail import validation_detail
from falfake.contracts.rules import CATEGORY, ENDPOINT_ID, IMAGE_REF_TAG, AspectRatioEnum
from falfake.errors import InvalidInput
from falfake.media.images import load_images
from falfake.media.specs import Generation, ImageSource, MediaSlot, VideoSpec
from falfake.queue.models import Job, LogLine
from falfake.queue.plans import Endpoint, PlanContext
from falfake.queue.safety import input_flags, output_flag

if TYPE_CHECKING:
    from pydantic_core import ValidationError

    from falfake.contracts.reference_to_video import ReferenceToVideoInput
    from falfake.contracts.rules import InputLimits

    Validate = Callable[[object, InputLimits], ReferenceToVideoInput]


@functools.cache
def _validation() -> tuple[type[ValidationError], Validate]:
    """pydantic's error and the input's validator, loaded with the first submit (or the warm-up
    after start); named where they are defined, since `pydantic` and `contracts` look lazy names
    up on each import, and kept, since an import statement costs a submit a microsecond."""
    from pydantic_core import ValidationError

    from falfake.contracts.reference_to_video import validate_input

    return ValidationError, validate_input


async def _plan(payload: object, context: PlanContext) -> Job:
    validation_error, validate_input = _validation()
    settings = context.settings
    try:
        data = validate_input(payload, settings.limits)
    except validation_error as exc:
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
        return Job(logs=logs, outcome=video_output(video))
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
    if len(images) < 2:
        return tuple(images)
    named = dict.fromkeys(int(n) for n in IMAGE_REF_TAG.findall(prompt) if int(n) < len(images))
    rest = [i for i in range(len(images)) if i not in named]
    return tuple(images[i] for i in [*named, *rest])


def video_output(video: VideoSpec) -> Generation:
    """`{"video": File}` as `ReferenceToVideoOutput` dumps it (tests/mock_server/test_endpoints.py
    holds the two together); fal bills this model per second of video (§15.2)."""
    slot = MediaSlot(
        at=("video",),
        spec=video,
        file_name="output.mp4",
        fields={"content_type": "video/mp4", "file_name": "output.mp4"},
    )
    return Generation(body={"video": None}, slots=(slot,), billable_units=str(video.duration))


REFERENCE_TO_VIDEO = Endpoint(endpoint_id=ENDPOINT_ID, plan=_plan, category=CATEGORY)

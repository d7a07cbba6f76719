"""The fal endpoints the fake serves, as data: id, input validation, runner plan and output shape.

The queue code knows endpoints only through `Endpoint`; serving a second model means adding an entry
to `ENDPOINTS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from contracts import ENDPOINT_ID, AspectRatioEnum, File, ReferenceToVideoOutput, validate_input
from contracts.detail import validation_detail
from mock_server.errors import BodyNotParsed, InvalidInput
from mock_server.models import Job, LogLine, VideoSpec
from mock_server.settings import Settings
from mock_server.validation import decode_body


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One fal endpoint: `plan` validates a decoded body (raising InvalidInput) into a Job."""

    endpoint_id: str
    plan: Callable[[object, Settings], Job]
    output: Callable[[str, int], dict[str, Any]]

    @property
    def app_id(self) -> str:
        """`owner/app`, the part of the id that status, result and cancel URLs use (§2)."""
        owner, app, *_ = self.endpoint_id.split("/")
        return f"{owner}/{app}"


def plan_job(
    endpoint: Endpoint, raw: bytes, content_type: str | None, settings: Settings, request_id: str
) -> Job:
    """What the runner will do with this body; bad input becomes a Job that fails with a 422."""
    try:
        return endpoint.plan(decode_body(raw, content_type), settings)
    except (InvalidInput, BodyNotParsed) as exc:
        exc.request_id = request_id
        return Job(
            logs=(
                LogLine(0.0, "Validating input"),
                LogLine(0.0, f"Input validation failed: {exc.message()}", "ERROR"),
            ),
            outcome=exc,
        )


def check_at_submit(job: Job, settings: Settings) -> None:
    """With validation at submit, bad input is a 422 at once instead of on the result (§3)."""
    if settings.validate_at == "submit" and job.failure is not None:
        raise job.failure


def _plan_reference_to_video(payload: object, settings: Settings) -> Job:
    try:
        data = validate_input(payload, settings.limits)
    except ValidationError as exc:
        raise InvalidInput(validation_detail(exc, settings.validation_detail)) from None
    width, height = settings.video_width, settings.video_height
    if data.aspect_ratio is AspectRatioEnum.PORTRAIT:
        width, height = height, width
    count = len(data.image_urls)
    return Job(
        logs=(
            LogLine(0.0, "Validating input"),
            LogLine(0.05, f"Loading {count} reference image{'s' if count > 1 else ''}"),
            LogLine(0.3, f"Generating {data.duration} s of video at {data.aspect_ratio.value}"),
            LogLine(0.8, "Encoding video"),
            LogLine(1.0, "Video generated"),
        ),
        outcome=VideoSpec(width=width, height=height, duration=data.duration),
    )


def _video_output(url: str, file_size: int) -> dict[str, Any]:
    video = File(url=url, content_type="video/mp4", file_name="output.mp4", file_size=file_size)
    return ReferenceToVideoOutput(video=video).model_dump(mode="json")


ENDPOINTS: dict[str, Endpoint] = {
    ENDPOINT_ID: Endpoint(
        endpoint_id=ENDPOINT_ID, plan=_plan_reference_to_video, output=_video_output
    ),
}

"""What the queue knows of an endpoint: an id, a plan from body to job, an output shape.

`falfake.endpoints.registry` lists the endpoints served; each lives in a module of its own
(`reference_to_video.py`) that builds one `Endpoint`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from falfake.errors import BodyNotParsed, InvalidInput
from falfake.media.files import Files
from falfake.media.images import Fetch
from falfake.media.work import Work
from falfake.queue.models import Job, LogLine
from falfake.queue.replies import reject_early
from falfake.settings import Settings
from falfake.validation import decode_body


@dataclass(slots=True)  # not frozen, like NewRequest: made on every submit, read by one plan
class PlanContext:
    """What a runner may look at besides the body."""

    settings: Settings
    files: Files
    request_id: str
    own_roots: Sequence[str] = ()
    forced_safety: frozenset[str] = frozenset()
    fetch: Fetch | None = None
    work: Work = field(default_factory=Work)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One fal endpoint: `plan` turns a decoded body into a Job, raising InvalidInput if it must.

    The Job carries its own output (`Generation`), so nothing after the plan needs the endpoint.
    """

    endpoint_id: str
    plan: Callable[[object, PlanContext], Awaitable[Job]]
    category: str = ""  # fal's category: text-to-image, image-to-video, ...
    # The output field a stream sends cumulatively (LLM-like outputs); None streams progress.
    stream_text: str | None = None
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

"""The facts of google/gemini-omni-flash/reference-to-video that need no schema library: its id,
aspect ratios, the limits fal leaves open, and the `<IMAGE_REF_n>` rule.

Kept apart from the pydantic models (`falfake.contracts.reference_to_video`) so that importing
them costs next to nothing: the fake starts serving before pydantic is loaded.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Literal

ENDPOINT_ID = "google/gemini-omni-flash/reference-to-video"
# fal's category for it is not on its page; image-to-video is where fal files its reference-to-video
# models.
CATEGORY = "image-to-video"

DEFAULT_MAX_IMAGES = 10
IMAGE_REF_START = "<IMAGE_REF"
# At most nine digits: a longer index is malformed, and int() of 4300+ digits would raise.
IMAGE_REF_TAG = re.compile(r"<IMAGE_REF_([0-9]{1,9})>")


class AspectRatioEnum(enum.StrEnum):
    """The aspect ratio of the generated video."""

    LANDSCAPE = "16:9"
    PORTRAIT = "9:16"


@dataclass(frozen=True, slots=True)
class InputLimits:
    """Limits fal does not document (PROTOCOL.md §14.1, §19 q6-7); defaults are our choice."""

    max_images: int = DEFAULT_MAX_IMAGES
    prompt_max_length: int | None = None
    image_refs: Literal["reject", "accept"] = "reject"


def image_ref_problem(prompt: str, image_count: int) -> str | None:
    """Why the prompt's `<IMAGE_REF_n>` tags are wrong (n counts from 0); None if they are fine."""
    start = prompt.find(IMAGE_REF_START)
    while start >= 0:
        tag = IMAGE_REF_TAG.match(prompt, start)
        if tag is None:
            fragment = prompt[start : start + 20]
            return (
                f"malformed image reference {fragment!r}: write <IMAGE_REF_n> with n from 0"
                f" to {image_count - 1}"
            )
        index = int(tag.group(1))
        if index >= image_count:
            return (
                f"{tag.group(0)} refers to image {index}, but image_urls has {image_count}"
                f" image(s) (references start at 0)"
            )
        start = prompt.find(IMAGE_REF_START, start + 1)
    return None


# A file's declared content type (an upload's, or a scenario's given file), which the file is served
# with as its Content-Type: printable ASCII (inner spaces allowed), so no line break can end the
# header early and nothing outside Latin-1 makes the file's GET a 500. fal's answer to another type
# is unknown; a FastAPI app's 422 is the likeliest.
CONTENT_TYPE_PATTERN = r"^[!-~]+(?: +[!-~]+)*$"
CONTENT_TYPE_MAX_LENGTH = 255

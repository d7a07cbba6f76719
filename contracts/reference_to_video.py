"""Schema of google/gemini-omni-flash/reference-to-video, shared by the fake and the client.

The models follow the model page (shared/seed) and PROTOCOL.md §14. Validation is pydantic v2 in lax
mode, as in fal's FastAPI apps, so error `type`/`msg` texts are pydantic's own.
"""

from __future__ import annotations

import functools

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import InitErrorDetails

from falfake.contracts.rules import (
    CATEGORY,
    DEFAULT_MAX_IMAGES,
    ENDPOINT_ID,
    IMAGE_REF_TAG,
    AspectRatioEnum,
    InputLimits,
    image_ref_problem,
)

__all__ = [
    "CATEGORY",
    "ENDPOINT_ID",
    "IMAGE_REF_TAG",
    "AspectRatioEnum",
    "File",
    "InputLimits",
    "ReferenceToVideoInput",
    "ReferenceToVideoOutput",
    "image_ref_problem",
    "input_model",
    "validate_input",
]


class ReferenceToVideoInput(BaseModel):
    """Input of the endpoint; unknown fields are ignored, as FastAPI does."""

    model_config = ConfigDict(extra="ignore", title="ReferenceToVideoInput")

    prompt: str = Field(
        description=(
            "The text prompt describing the video. You can bind reference images to roles inline"
            " using tags like <IMAGE_REF_0>."
        ),
        examples=["A cat playfully batting at a ball of yarn in a sunlit living room."],
    )
    image_urls: list[str] = Field(
        min_length=1,
        max_length=DEFAULT_MAX_IMAGES,
        description="URLs of the reference images to incorporate into the video.",
    )
    aspect_ratio: AspectRatioEnum = Field(
        default=AspectRatioEnum.LANDSCAPE,
        description="The aspect ratio of the generated video.",
    )
    duration: int = Field(
        default=8, ge=3, le=10, description="The duration of the generated video, in seconds."
    )


class File(BaseModel):
    """A file served by fal's CDN (here: by the fake)."""

    url: str = Field(description="The URL where the file can be downloaded from.")
    content_type: str | None = Field(default=None, description="The mime type of the file.")
    file_name: str | None = Field(
        default=None,
        description="The name of the file. It will be auto-generated if not provided.",
    )
    file_size: int | None = Field(default=None, description="The size of the file in bytes.")


class ReferenceToVideoOutput(BaseModel):
    """Output of the endpoint."""

    model_config = ConfigDict(title="ReferenceToVideoOutput")

    video: File = Field(description="The generated video.")


_DEFAULTS = InputLimits()


@functools.cache
def input_model(limits: InputLimits) -> type[ReferenceToVideoInput]:
    """The input model with `limits` applied, so pydantic reports every violation at once."""
    if limits.max_images == DEFAULT_MAX_IMAGES and limits.prompt_max_length is None:
        return ReferenceToVideoInput
    base_fields = ReferenceToVideoInput.model_fields
    model: type[ReferenceToVideoInput] = create_model(
        "ReferenceToVideoInput",
        __base__=ReferenceToVideoInput,
        prompt=(
            str,
            Field(
                max_length=limits.prompt_max_length,
                description=base_fields["prompt"].description,
                examples=base_fields["prompt"].examples,
            ),
        ),
        image_urls=(
            list[str],
            Field(
                min_length=1,
                max_length=limits.max_images,
                description=base_fields["image_urls"].description,
            ),
        ),
    )
    return model


def validate_input(data: object, limits: InputLimits = _DEFAULTS) -> ReferenceToVideoInput:
    """Validate a request body as fal's app would; raises pydantic's `ValidationError`."""
    # from_attributes as in FastAPI, which words a non-object body "model_attributes_type".
    model = input_model(limits).model_validate(data, from_attributes=True)
    if limits.image_refs == "reject":
        problem = image_ref_problem(model.prompt, len(model.image_urls))
        if problem is not None:
            error: InitErrorDetails = {
                "type": "value_error",
                "loc": ("prompt",),
                "input": model.prompt,
                "ctx": {"error": ValueError(problem)},
            }
            raise ValidationError.from_exception_data(model.__class__.__name__, [error])
    return model

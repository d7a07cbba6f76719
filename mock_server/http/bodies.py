"""JSON bodies checked by pydantic models, with FastAPI's 422 for what does not fit: storage
uploads, scenarios and the control API's clock bodies.

The handlers that take these bodies import this module when first called, so a fake starts
serving before pydantic is loaded (the queue's own input goes through `contracts`).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from falfake.contracts.detail import validation_detail
from falfake.contracts.rules import CONTENT_TYPE_MAX_LENGTH, CONTENT_TYPE_PATTERN
from falfake.errors import InvalidInput
from falfake.harness.scenarios import Scenario
from falfake.validation import decode_body

SCENARIO = TypeAdapter(Scenario)
ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")


class UploadRequest(BaseModel):
    """Body of `storage/upload/initiate[-multipart]` (§13.2-13.4)."""

    file_name: str = "upload.bin"
    content_type: str = Field(
        default="application/octet-stream",
        max_length=CONTENT_TYPE_MAX_LENGTH,
        pattern=CONTENT_TYPE_PATTERN,
    )


class CompletedPart(BaseModel):
    part_number: int = Field(alias="partNumber")
    etag: str


class CompleteRequest(BaseModel):
    """Body that finishes a multipart upload: the parts in order, with their ETags."""

    parts: list[CompletedPart] = Field(min_length=1)


def parse_json(adapter: TypeAdapter[T], raw: bytes, content_type: str | None) -> T:
    """A JSON body validated by a pydantic adapter, or FastAPI's 422."""
    try:
        return adapter.validate_python(decode_body(raw, content_type))
    except ValidationError as exc:
        raise InvalidInput(validation_detail(exc)) from None


def parse_model(model: type[ModelT], raw: bytes, content_type: str | None) -> ModelT:
    """A JSON body validated against `model`, or FastAPI's 422; an empty body is `{}`."""
    body = decode_body(raw, content_type) if raw else {}  # no body: every field's default
    try:
        return model.model_validate(body, from_attributes=True)
    except ValidationError as exc:
        raise InvalidInput(validation_detail(exc)) from None


class Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(ge=0, le=10 * 365 * 24 * 3600)


class RunUntil(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str
    status: str = Field(default="COMPLETED", pattern="^(IN_QUEUE|IN_PROGRESS|COMPLETED)$")

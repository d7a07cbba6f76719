"""An endpoint served from its fal OpenAPI document: validated by the model the document describes,
its reference images loaded and checked, its safety triggers honoured, its output generated.

The input model is built on the first request (pydantic loads then, as for the seed endpoint).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from falfake.contracts.documents import EndpointDocument
from falfake.endpoints.generated import Request, generate
from falfake.errors import InvalidInput
from falfake.media.images import load_images
from falfake.media.specs import ImageSource
from falfake.queue.models import Job, LogLine
from falfake.queue.plans import Endpoint, PlanContext
from falfake.queue.safety import input_flags, output_flag

# Input fields whose value is one reference image, or a list of them.
_ONE_IMAGE = ("image_url", "start_image_url", "reference_image_url", "mask_url")
_IMAGES = ("image_urls", "reference_image_urls")


def documented_endpoint(document: EndpointDocument) -> Endpoint:
    model = functools.cache(functools.partial(_input_model, document))
    plan = functools.partial(_plan, document, model)
    return Endpoint(
        endpoint_id=document.endpoint_id,
        plan=plan,
        category=document.category,
        stream_text=streamed_text(document.output_schema),
    )


def streamed_text(output_schema: dict[str, Any]) -> str | None:
    """`output` for an output that streams text (it has a `partial` flag, like fal's LLMs)."""
    properties = output_schema.get("properties") or {}
    text = properties.get("output")
    if "partial" in properties and isinstance(text, dict) and text.get("type") == "string":
        return "output"
    return None


def _input_model(document: EndpointDocument) -> Any:
    from falfake.contracts.schema_models import input_model

    return input_model(document.input_schema, "Input")


async def _plan(
    document: EndpointDocument, model: Callable[[], Any], payload: object, context: PlanContext
) -> Job:
    from pydantic_core import ValidationError  # pydantic looks lazy names up on each import

    from falfake.contracts.detail import validation_detail

    settings = context.settings
    try:
        # Defaults are not validated (fal's are sometimes of another type): dump them as they are.
        valid = model().model_validate(payload)
        data = valid.model_dump(mode="json", by_alias=True, warnings=False)
    except ValidationError as exc:
        raise InvalidInput(validation_detail(exc, settings.validation_detail)) from None
    field, urls, indexed = _reference_images(data)
    images: tuple[ImageSource, ...] = ()
    if urls:
        images = await load_images(
            urls,
            context.files,
            settings.images,
            context.work,
            own_roots=context.own_roots,
            fetch=context.fetch,
            field=field,
            indexed=indexed,
        )
    text_field = "prompt" if isinstance(data.get("prompt"), str) else "text"
    text = data.get(text_field) if isinstance(data.get(text_field), str) else ""
    assert isinstance(text, str)
    flags = input_flags(
        text,
        urls,
        images,
        settings.safety,
        context.forced_safety,
        text_field=text_field,
        image_field=field,
        indexed=indexed,
    )
    if flags:
        raise InvalidInput(flags)
    # The checker runs on the output unless the input turns it off (FLUX's enable_safety_checker).
    checked_output = data.get("enable_safety_checker") is not False
    flagged = output_flag(text, settings.safety, context.forced_safety) if checked_output else None
    request = Request(
        data=data,
        request_id=context.request_id,
        category=document.category,
        video_size=(settings.video_width, settings.video_height),
        images=images,
        flagged=flagged is not None,
    )
    generation = generate(document.output_schema, request)
    logs = (
        LogLine(0.0, "Validating input"),
        LogLine(0.3, f"Running {document.endpoint_id}"),
        LogLine(1.0, "Done"),
    )
    nsfw_flags = "has_nsfw_concepts" in (document.output_schema.get("properties") or {})
    if flagged is None or (nsfw_flags and settings.flagged_images == "blank"):
        # Image models flag an output by blanking it and saying so (`has_nsfw_concepts`).
        return Job(logs=logs, outcome=generation)
    checked = LogLine(1.0, "Generated content flagged by the content checker", "ERROR")
    failure = InvalidInput([flagged], request_id=context.request_id)
    return Job(logs=(*logs, checked), outcome=failure, fails_late=True)


def _reference_images(data: dict[str, Any]) -> tuple[str, list[str], bool]:
    """The input's reference images: the field, its URLs, and whether it is a list."""
    for key in _IMAGES:
        value = data.get(key)
        if isinstance(value, list) and all(isinstance(url, str) for url in value):
            return key, list(value), True
    for key in _ONE_IMAGE:
        value = data.get(key)
        if isinstance(value, str):
            return key, [value], False
    return "image_urls", [], True

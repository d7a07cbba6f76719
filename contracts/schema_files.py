"""JSON Schemas and the OpenAPI document, generated from the pydantic models, kept as files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from falfake.contracts.documents import built_in_documents
from falfake.contracts.openapi import endpoint_document, openapi
from falfake.contracts.paths import contract_path
from falfake.contracts.reference_to_video import (
    ENDPOINT_ID,
    ReferenceToVideoInput,
    ReferenceToVideoOutput,
)
from falfake.contracts.wire import WIRE_MODELS


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


SCHEMAS: dict[str, type[BaseModel]] = {
    "reference_to_video.input.json": ReferenceToVideoInput,
    "reference_to_video.output.json": ReferenceToVideoOutput,
    **{f"{_snake(model.__name__)}.json": model for model in WIRE_MODELS},
}
OPENAPI_FILE = "openapi.json"
SEED_DOCUMENT = f"endpoints/{ENDPOINT_ID.replace('/', '--')}.json"


def generated(name: str) -> dict[str, Any]:
    """The schema the models define today (or the OpenAPI document)."""
    if name == OPENAPI_FILE:
        return openapi(built_in_documents())
    if name == SEED_DOCUMENT:
        return endpoint_document()
    return SCHEMAS[name].model_json_schema(mode="serialization")


def file_of(name: str) -> Path:
    if name in (OPENAPI_FILE, SEED_DOCUMENT):
        return contract_path(name)
    return contract_path("schemas", name)


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_all() -> list[str]:
    """Rewrite every schema file from the models; returns the names of those that changed."""
    changed = []
    # The seed's document first: the OpenAPI document reads the built-in documents.
    for name in [SEED_DOCUMENT, *SCHEMAS, OPENAPI_FILE]:
        path = file_of(name)
        text = render(generated(name))
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(name)
    return changed

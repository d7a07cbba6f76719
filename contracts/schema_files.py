"""JSON Schemas of the endpoint, generated from the pydantic models and kept as files."""

from __future__ import annotations

import json
from typing import Any

from contracts.paths import contract_path
from contracts.reference_to_video import ReferenceToVideoInput, ReferenceToVideoOutput

SCHEMAS: dict[str, type[ReferenceToVideoInput] | type[ReferenceToVideoOutput]] = {
    "reference_to_video.input.json": ReferenceToVideoInput,
    "reference_to_video.output.json": ReferenceToVideoOutput,
}


def generated(name: str) -> dict[str, Any]:
    """The schema the models define today."""
    return SCHEMAS[name].model_json_schema()


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_all() -> list[str]:
    """Rewrite every schema file from the models; returns the names of those that changed."""
    changed = []
    for name in SCHEMAS:
        path = contract_path("schemas", name)
        text = render(generated(name))
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(name)
    return changed

"""A document written for these tests (not a built-in one), in fal's queue-OpenAPI layout."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

ENDPOINT_ID = "acme/sketch/v1"


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def document(
    input_schema: dict[str, Any], output_schema: dict[str, Any], **schemas: Any
) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/SketchInput"}
    out = {"$ref": "#/components/schemas/SketchOutput"}
    return {
        "openapi": "3.0.4",
        "info": {
            "title": f"Queue OpenAPI for {ENDPOINT_ID}",
            "version": "1.0.0",
            "x-fal-metadata": {"endpointId": ENDPOINT_ID, "category": "text-to-image"},
        },
        "components": {
            "schemas": {"SketchInput": input_schema, "SketchOutput": output_schema, **schemas}
        },
        "paths": {
            f"/{ENDPOINT_ID}": {"post": {"requestBody": json_body(ref)}},
            f"/{ENDPOINT_ID}/requests/{{request_id}}": {
                "get": {"responses": {"200": json_body(out)}}
            },
        },
    }


SKETCH = document(
    {
        "title": "SketchInput",
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "prompt": {"type": "string", "maxLength": 40},
            "strokes": {"type": "integer", "exclusiveMinimum": 0, "maximum": 9, "default": 3},
            "style": {"allOf": [{"$ref": "#/components/schemas/Style"}], "default": "ink"},
            "seed": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "palette": {"$ref": "#/components/schemas/Palette"},
            "output_format": {"type": "string", "enum": ["png", "webp"], "default": "webp"},
        },
    },
    {
        "type": "object",
        "required": ["image", "seed", "strokes", "note"],
        "properties": {
            "image": {"allOf": [{"$ref": "#/components/schemas/Image"}]},
            "seed": {"type": "integer"},
            "strokes": {"type": "integer"},
            "note": {"type": "string", "enum": ["drawn", "other"]},
            "extra": {"type": "string"},
        },
    },
    Style={"title": "Style", "type": "string", "enum": ["ink", "chalk"]},
    Image={
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string"},
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "content_type": {"type": "string", "default": "image/png"},
            "file_size": {"type": "integer"},
        },
    },
)


@pytest.fixture
def sketch() -> dict[str, Any]:
    return copy.deepcopy(SKETCH)


@pytest.fixture
def sketch_file(tmp_path: Path, sketch: dict[str, Any]) -> Path:
    path = tmp_path / "acme-sketch.json"
    path.write_text(json.dumps(sketch))
    return path

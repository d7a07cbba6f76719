"""The JSON Schema files are exactly what the models generate, so there is one definition."""

from __future__ import annotations

import json

import pytest

from falfake.contracts.schema_files import OPENAPI_FILE, SCHEMAS, SEED_DOCUMENT, file_of, generated


@pytest.mark.parametrize("name", [*sorted(SCHEMAS), OPENAPI_FILE, SEED_DOCUMENT])
def test_schema_file_matches_the_models(name: str) -> None:
    on_disk = json.loads(file_of(name).read_text())
    assert on_disk == generated(name), (
        "run `python -m falfake.contracts schemas` and commit the result"
    )


def test_input_schema_states_fals_constraints() -> None:
    schema = generated("reference_to_video.input.json")
    assert schema["required"] == ["prompt", "image_urls"]
    assert schema["properties"]["duration"] | {"description": ""} == {
        "default": 8,
        "description": "",
        "maximum": 10,
        "minimum": 3,
        "title": "Duration",
        "type": "integer",
    }
    assert schema["$defs"]["AspectRatioEnum"]["enum"] == ["16:9", "9:16"]

"""fal's documents are read through `paths`, with their dialect quirks, or refused by name."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from falfake.contracts.documents import (
    DocumentError,
    built_in_documents,
    parse_document,
    read_document,
)
from falfake.contracts.paths import contract_path
from falfake.contracts.rules import ENDPOINT_ID as SEED_ID
from falfake.endpoints.reference_to_video import REFERENCE_TO_VIDEO
from falfake.endpoints.registry import served
from tests.endpoints.conftest import ENDPOINT_ID


def test_input_and_output_are_found_through_paths_and_resolved(sketch: dict[str, Any]) -> None:
    sketch["components"]["schemas"]["Renamed"] = sketch["components"]["schemas"].pop("SketchInput")
    sketch["paths"][f"/{ENDPOINT_ID}"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]["$ref"] = "#/components/schemas/Renamed"
    document = parse_document(sketch, "doc.json")
    assert document.endpoint_id == ENDPOINT_ID
    assert document.category == "text-to-image"
    style = document.input_schema["properties"]["style"]
    assert (style["enum"], style["default"]) == (["ink", "chalk"], "ink")
    assert document.output_schema["properties"]["image"]["properties"]["url"] == {"type": "string"}


def test_a_missing_reference_accepts_anything_and_is_reported(sketch: dict[str, Any]) -> None:
    document = parse_document(sketch, "doc.json")
    assert document.input_schema["properties"]["palette"] == {}
    assert document.missing_refs == ("#/components/schemas/Palette",)


def test_a_recursive_schema_ends_at_its_second_visit(sketch: dict[str, Any]) -> None:
    sketch["components"]["schemas"]["Style"] = {
        "type": "object",
        "properties": {"inner": {"$ref": "#/components/schemas/Style"}},
    }
    document = parse_document(sketch, "doc.json")
    assert document.input_schema["properties"]["style"]["properties"]["inner"] == {}


def test_openapi_3_0s_dialect_is_read_as_json_schema(sketch: dict[str, Any]) -> None:
    properties = sketch["components"]["schemas"]["SketchInput"]["properties"]
    properties["strokes"] = {"type": "integer", "minimum": 0, "exclusiveMinimum": True}
    properties["seed"] = {"type": "integer", "nullable": True, "default": None, "title": "Seed"}
    properties["size"] = {"type": "integer", "maximum": 9, "exclusiveMaximum": False}

    read = parse_document(sketch, "doc.json").input_schema["properties"]

    assert read["strokes"] == {"type": "integer", "exclusiveMinimum": 0}
    assert read["seed"] == {
        "default": None,
        "title": "Seed",
        "anyOf": [{"type": "integer"}, {"type": "null"}],
    }
    assert read["size"] == {"type": "integer", "maximum": 9}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("paths"), "has no object at paths"),
        (lambda d: d["info"]["x-fal-metadata"].pop("endpointId"), "endpointId must be an id"),
        (lambda d: d["info"]["x-fal-metadata"].update(endpointId="../x"), "endpointId must be"),
        (lambda d: d["paths"].pop(f"/{ENDPOINT_ID}"), f"has no object at paths./{ENDPOINT_ID}"),
        (lambda d: d["components"].update(schemas=[]), "components.schemas must be an object"),
    ],
)
def test_a_document_that_cannot_be_served_names_the_problem(
    sketch: dict[str, Any], change: Any, problem: str
) -> None:
    change(sketch)
    with pytest.raises(DocumentError, match=problem):
        parse_document(sketch, "doc.json")


def test_a_file_that_is_not_json_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(DocumentError, match=rf"^{path}: is not JSON"):
        read_document(path)


def test_every_built_in_document_loads_without_missing_references() -> None:
    documents = built_in_documents()
    assert {d.endpoint_id for d in documents} == {
        "google/gemini-omni-flash/reference-to-video",
        "fal-ai/flux/dev",
        "fal-ai/flux/schnell",
        "fal-ai/kling-video/v2.1/standard/image-to-video",
        "fal-ai/elevenlabs/tts/multilingual-v2",
        "fal-ai/any-llm",
    }
    assert all(d.missing_refs == () for d in documents)


def test_the_seed_endpoints_document_describes_it_but_its_models_serve_it() -> None:
    endpoints = served()
    seed = endpoints.documents[SEED_ID]
    assert seed.category == "image-to-video"
    assert set(seed.input_schema["required"]) == {"prompt", "image_urls"}
    assert endpoints.endpoints[SEED_ID] is REFERENCE_TO_VIDEO


def test_a_users_document_is_served_beside_the_built_in_ones(sketch_file: Path) -> None:
    endpoints = served([sketch_file])
    assert ENDPOINT_ID in endpoints.endpoints
    assert "fal-ai/flux/dev" in endpoints.endpoints
    assert endpoints.warnings == (
        f"{sketch_file}: #/components/schemas/Palette is not defined; that field accepts anything",
    )


def test_a_folder_of_documents_is_served(sketch_file: Path) -> None:
    assert ENDPOINT_ID in served(folder=sketch_file.parent).endpoints


def test_two_documents_for_one_id_are_refused(sketch_file: Path, tmp_path: Path) -> None:
    twin = tmp_path / "twin.json"
    twin.write_text(sketch_file.read_text())
    with pytest.raises(DocumentError, match=f"is described by {sketch_file} too"):
        served([sketch_file, twin])


def test_a_document_of_the_seed_endpoint_is_left_aside_with_a_warning(
    sketch_file: Path, tmp_path: Path
) -> None:
    """A folder that holds fal's document of the seed, or a copy of contracts/endpoints/, is
    served; the seed keeps its own models."""
    folder = tmp_path / "documents"
    folder.mkdir()
    for built_in in contract_path("endpoints").glob("*.json"):
        shutil.copy(built_in, folder)
    shutil.copy(sketch_file, folder)
    endpoints = served(folder=folder)
    seed = SEED_ID
    assert endpoints.endpoints[seed] is REFERENCE_TO_VIDEO
    assert ENDPOINT_ID in endpoints.endpoints
    document = folder / "google--gemini-omni-flash--reference-to-video.json"
    assert f"{document}: {seed} is served by falfake's own model" in endpoints.warnings

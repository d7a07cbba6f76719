"""hypothesis strategies for the endpoint's input, generated from its JSON Schema, and for JSON.

A small generator for the JSON Schema subset pydantic emits here (objects, strings, integers,
enums, arrays, `$ref`): hypothesis-jsonschema does not support the pinned hypothesis.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from falfake.contracts.schema_files import generated

INPUT_SCHEMA = generated("reference_to_video.input.json")


def from_schema(
    schema: dict[str, Any], root: dict[str, Any] | None = None
) -> st.SearchStrategy[Any]:
    """Values valid under `schema` (the subset above)."""
    root = root or schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return from_schema(root["$defs"][name], root)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return st.text(max_size=schema.get("maxLength", 60))
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "array":
        items = from_schema(schema.get("items", {}), root)
        return st.lists(
            items, min_size=schema.get("minItems", 0), max_size=schema.get("maxItems", 5)
        )
    if kind == "object":
        properties = {k: from_schema(v, root) for k, v in schema.get("properties", {}).items()}
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: v for k, v in properties.items() if k in required},
            optional={k: v for k, v in properties.items() if k not in required},
        )
    raise ValueError(f"no strategy for {schema!r}")


# Image URLs the fake accepts without fetching anything: remote https URLs become placeholders.
image_urls = st.lists(
    st.from_regex(r"https://images\.example/[a-z0-9]{1,12}\.png", fullmatch=True),
    min_size=1,
    max_size=10,
)


def _without_tag_syntax(data: dict[str, Any]) -> bool:
    """The tag rule and the safety terms are checked apart; keep valid inputs free of both."""
    prompt = str(data.get("prompt", ""))
    return "<IMAGE_REF" not in prompt and "falfake" not in prompt.lower()


valid_inputs: st.SearchStrategy[dict[str, Any]] = (
    from_schema(INPUT_SCHEMA)
    .flatmap(lambda data: image_urls.map(lambda urls: {**data, "image_urls": urls}))
    .filter(_without_tag_syntax)
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

# Anything a caller might send as the body: any JSON, or an object near the input's shape.
near_inputs: st.SearchStrategy[Any] = json_values | st.fixed_dictionaries(
    {},
    optional={
        "prompt": json_values,
        "image_urls": json_values | image_urls,
        "aspect_ratio": json_values | st.sampled_from(["16:9", "9:16"]),
        "duration": json_values | st.integers(0, 12),
    },
)


# Any JSON value, lone surrogates and control characters in its strings, NaN among its floats.
any_json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from('\ud800\x00\x1f"\\')),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


def typed(value: Any) -> Any:
    """A value with its types and key order spelled out, NaN and -0.0 included."""
    if isinstance(value, dict):
        return ("dict", [(key, typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else repr(value))
    return (type(value).__name__, value)

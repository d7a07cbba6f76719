"""A resolved JSON Schema made into the pydantic model fal's server would validate it with.

fal's endpoints are FastAPI apps with pydantic v2 models, and their documents are generated from
those models; building the model back from the document gives the same 422 entries (`missing`,
`int_parsing`, `less_than_equal`, `string_too_long`, ...) and the same lax coercion (`"5"` is an
integer) as fal, rather than a JSON Schema validator's different words. How the mapping reads a
schema, and why:

- an `enum` in a named component is a str `Enum` (pydantic's error type `enum`), an inline one a
  `Literal` (`literal_error`): that is how pydantic itself writes the two into a schema;
- `anyOf` is a union, `{type: "null"}` in it makes the field nullable;
- `exclusiveMinimum` becomes `gt` (the document reader has made OpenAPI 3.0's boolean numeric);
- an object with properties is a nested model (unknown keys ignored, as pydantic's default),
  one without is a mapping; a schema with no type at all accepts anything.
"""

from __future__ import annotations

import enum
import keyword
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from falfake.contracts.documents import REF_NAME

_SCALARS: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}


def input_model(schema: dict[str, Any], name: str) -> type[BaseModel]:
    """The model of an endpoint's input (its `<Name>Input`)."""
    return _Models().model(schema, name)


class _Models:
    """Builds one document's classes, named as fal names them where the document says."""

    def model(self, schema: dict[str, Any], fallback: str) -> type[BaseModel]:
        required = set(schema.get("required") or ())
        fields: dict[str, Any] = {}
        for key, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, dict):
                prop = {}
            annotation = self.annotation(prop, _pascal(key))
            default = ... if key in required else prop.get("default")
            python_name = _python_name(key)
            extra = {"alias": key} if python_name != key else {}
            fields[python_name] = (annotation, Field(default, **extra))
        return create_model(
            _class_name(schema, fallback),
            __config__=ConfigDict(populate_by_name=True, protected_namespaces=()),
            **fields,
        )

    def annotation(self, schema: dict[str, Any], hint: str) -> Any:
        members = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(members, list) and members:
            kinds = [self.annotation(m if isinstance(m, dict) else {}, hint) for m in members]
            return Union[tuple(kinds)]  # noqa: UP007 -- built from a runtime tuple
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [self.annotation({**schema, "type": k}, hint) for k in kind]
            return Union[tuple(kinds)]  # noqa: UP007 -- built from a runtime tuple
        if kind == "null":
            return type(None)
        if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
            return self._enum(schema, hint)
        if kind in _SCALARS:
            return _constrained(_SCALARS[kind], schema)
        if kind == "array":
            items = schema.get("items")
            item = self.annotation(items if isinstance(items, dict) else {}, hint)
            return _constrained(list[item], schema)  # type: ignore[valid-type]
        if kind == "object" or "properties" in schema:
            if schema.get("properties"):
                return self.model(schema, hint)
            return dict[str, Any]
        return Any

    def _enum(self, schema: dict[str, Any], hint: str) -> Any:
        values = tuple(schema["enum"])
        if REF_NAME in schema and all(isinstance(value, str) for value in values):
            members = {f"m{n}": value for n, value in enumerate(values)}
            return enum.Enum(_class_name(schema, hint), members, type=str)
        return Literal[values]


def _constrained(kind: Any, schema: dict[str, Any]) -> Any:
    bounds = {
        name: schema[key]
        for key, name in (
            ("minimum", "ge"),
            ("maximum", "le"),
            ("minLength", "min_length"),
            ("maxLength", "max_length"),
            ("minItems", "min_length"),
            ("maxItems", "max_length"),
            ("exclusiveMinimum", "gt"),
            ("exclusiveMaximum", "lt"),
        )
        if _is_number(schema.get(key))
    }
    return Annotated[kind, Field(**bounds)] if bounds else kind


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _class_name(schema: dict[str, Any], fallback: str) -> str:
    name = schema.get("title") or schema.get(REF_NAME) or fallback
    cleaned = "".join(c for c in str(name) if c.isalnum() or c == "_")
    return cleaned if cleaned and cleaned[0].isalpha() else f"Model{cleaned}"


def _pascal(key: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in key.replace("-", "_").split("_"))


def _python_name(key: str) -> str:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in key)
    if not name or name[0].isdigit() or keyword.iskeyword(name) or name.startswith("_"):
        name = f"field_{name}"
    return name

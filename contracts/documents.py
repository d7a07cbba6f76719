"""Reading fal's per-endpoint queue OpenAPI document (ENDPOINTS.md §1) into plain schemas.

Only the endpoint's id, category, input and output are taken; the queue behaviour stays ours.
Input and output are found through `paths`, never by component name, and every
`#/components/schemas` reference is resolved in place, so what follows is plain JSON Schema:

- `allOf: [{$ref}]` (fal's way of describing a sub-object) becomes the referenced schema, with the
  wrapper's own keys (`title`, `default`, `description`) on top;
- a reference to a schema the document does not define becomes `{}` (accepts anything), and its
  name is reported once, at load, rather than stopping the fake;
- a reference back into itself (a recursive schema) becomes `{}` at the second visit;
- OpenAPI 3.0's dialect becomes JSON Schema's (fal's documents say 3.0.4 but mostly write 3.1):
  a boolean `exclusiveMinimum` takes the value of `minimum` (and the same for maximum), and
  `nullable: true` becomes an `anyOf` with `{type: "null"}`.

A resolved schema keeps the name it was referenced by in `x-falfake-ref`, which the models use to
name nested classes and enums as fal's pydantic models name them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from falfake.contracts.paths import contract_path

BUILT_IN_FOLDER = contract_path("endpoints")
REF_PREFIX = "#/components/schemas/"
ENDPOINT_ID_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+")
REF_NAME = "x-falfake-ref"
_JSON_SCHEMA = ("content", "application/json", "schema")


class DocumentError(Exception):
    """A document the fake cannot serve; the message names the file and the problem."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")


@dataclass(frozen=True, slots=True)
class EndpointDocument:
    endpoint_id: str
    category: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    source: str
    missing_refs: tuple[str, ...] = ()


def built_in_documents() -> list[EndpointDocument]:
    """The documents under contracts/endpoints/, the seed endpoint's (made from its models) too."""
    return [read_document(path) for path in documents_in(BUILT_IN_FOLDER)]


def documents_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DocumentError(str(folder), "is not a folder")
    return sorted(folder.glob("*.json"))


def plain_schema(node: Any) -> Any:
    """A resolved schema without the names it was referenced by: plain JSON Schema to publish."""
    if isinstance(node, list):
        return [plain_schema(item) for item in node]
    if isinstance(node, dict):
        return {key: plain_schema(value) for key, value in node.items() if key != REF_NAME}
    return node


def read_document(path: Path) -> EndpointDocument:
    """The document at `path`; `DocumentError` if it is not one fal would serve."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(str(path), f"cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise DocumentError(str(path), f"is not JSON ({exc})") from None
    return parse_document(data, str(path))


def parse_document(data: object, source: str) -> EndpointDocument:
    if not isinstance(data, dict):
        raise DocumentError(source, "is not an OpenAPI document (expected a JSON object)")
    metadata = _at(data, source, "info", "x-fal-metadata")
    endpoint_id = metadata.get("endpointId")
    if not isinstance(endpoint_id, str) or not ENDPOINT_ID_PATTERN.fullmatch(endpoint_id):
        raise DocumentError(source, "info.x-fal-metadata.endpointId must be an id like owner/app")
    post = _at(data, source, "paths", f"/{endpoint_id}", "post")
    where = f"{source} (POST /{endpoint_id})"
    input_ref = _at(post, where, "requestBody", *_JSON_SCHEMA)
    result = _at(data, source, "paths", f"/{endpoint_id}/requests/{{request_id}}", "get")
    where = f"{source} (GET /{endpoint_id}/requests/{{request_id}})"
    output_ref = _at(result, where, "responses", "200", *_JSON_SCHEMA)
    schemas = data.get("components", {}).get("schemas", {})
    if not isinstance(schemas, dict):
        raise DocumentError(source, "components.schemas must be an object")
    resolver = _Resolver(schemas)
    input_schema = resolver.resolve(input_ref)
    output_schema = resolver.resolve(output_ref)
    for name, schema in (("input", input_schema), ("output", output_schema)):
        if schema.get("type", "object") != "object":
            raise DocumentError(source, f"the {name} schema must describe an object")
    category = metadata.get("category")
    return EndpointDocument(
        endpoint_id=endpoint_id,
        category=category if isinstance(category, str) else "",
        input_schema=input_schema,
        output_schema=output_schema,
        source=source,
        missing_refs=tuple(sorted(resolver.missing)),
    )


def _at(node: object, source: str, *keys: str) -> dict[str, Any]:
    walked: list[str] = []
    for key in keys:
        walked.append(key)
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            raise DocumentError(source, f"has no object at {'.'.join(walked)}")
        node = node[key]
    assert isinstance(node, dict)
    return node


# Keys that describe a schema rather than constrain it: they stay outside a nullable's `anyOf`.
_ANNOTATIONS = {"title", "description", "default", "examples", "example", "deprecated", REF_NAME}


def _json_schema(node: dict[str, Any]) -> dict[str, Any]:
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = node.get(exclusive)
        if isinstance(flag, bool):
            node.pop(exclusive)
            if flag and bound in node:
                node[exclusive] = node.pop(bound)
    if node.get("nullable") is not True:
        return node
    rest = {key: value for key, value in node.items() if key != "nullable"}
    inner = {key: value for key, value in rest.items() if key not in _ANNOTATIONS}
    outer = {key: value for key, value in rest.items() if key in _ANNOTATIONS}
    return {**outer, "anyOf": [inner, {"type": "null"}]}


class _Resolver:
    def __init__(self, schemas: dict[str, Any]) -> None:
        self._schemas = schemas
        self.missing: set[str] = set()

    def resolve(self, node: Any, visiting: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.resolve(item, visiting) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._referenced(ref, node, visiting)
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            wrapper = {key: value for key, value in node.items() if key != "allOf"}
            inner = self.resolve(all_of[0], visiting)
            if not isinstance(inner, dict):
                return inner
            return {**inner, **self.resolve(wrapper, visiting)}
        return _json_schema({key: self.resolve(value, visiting) for key, value in node.items()})

    def _referenced(self, ref: str, node: dict[str, Any], visiting: tuple[str, ...]) -> Any:
        name = ref.removeprefix(REF_PREFIX)
        target = self._schemas.get(name) if ref.startswith(REF_PREFIX) else None
        if not isinstance(target, dict):
            self.missing.add(ref)
            return {}
        if name in visiting:
            return {}
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return {**self.resolve(target, (*visiting, name)), **siblings, REF_NAME: name}

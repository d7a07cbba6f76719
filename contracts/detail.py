"""pydantic errors as FastAPI renders them in a 422 `detail`, for the fake and the client alike."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import ValidationError

DetailStyle = Literal["full", "minimal"]


def validation_detail(exc: ValidationError, style: DetailStyle = "full") -> list[dict[str, Any]]:
    """pydantic errors as FastAPI renders them: `type, loc, msg` (+ `input`, `ctx` when full)."""
    entries = []
    for error in exc.errors(include_url=False):
        entry: dict[str, Any] = {
            "type": error["type"],
            "loc": ["body", *error["loc"]],
            "msg": error["msg"],
        }
        if style == "full":
            entry["input"] = _jsonable(error["input"])
            if "ctx" in error:
                entry["ctx"] = {key: _jsonable(value) for key, value in error["ctx"].items()}
        entries.append(entry)
    return entries


def _jsonable(value: object) -> object:
    """What FastAPI's `jsonable_encoder` makes of a value in an error entry."""
    if isinstance(value, BaseException):
        return {}  # FastAPI encodes an exception in `ctx` through its empty `vars()`.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return str(value)

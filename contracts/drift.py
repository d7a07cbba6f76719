"""Comparing a reply with its recording: status, headers that matter, and the body's shape.

Values are compared only where the recording states them; a recorded string `"<volatile>"`
(ids, URLs, times) matches any string. Objects must have the same keys, arrays' first items the
same shape, and every value the same JSON type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VOLATILE = "<volatile>"


@dataclass(frozen=True, slots=True)
class Drift:
    where: str
    recorded: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.where}: recorded {self.recorded!r}, got {self.actual!r}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def body_drift(recorded: Any, actual: Any, where: str = "body") -> list[Drift]:
    """How `actual` differs in shape (and stated values) from `recorded`."""
    if _kind(recorded) != _kind(actual):
        return [Drift(f"{where} type", _kind(recorded), _kind(actual))]
    if isinstance(recorded, dict):
        if set(recorded) != set(actual):
            return [Drift(f"{where} keys", sorted(recorded), sorted(actual))]
        return [
            d for key in recorded for d in body_drift(recorded[key], actual[key], f"{where}.{key}")
        ]
    if isinstance(recorded, list):
        if recorded and actual:
            return body_drift(recorded[0], actual[0], f"{where}[0]")
        return (
            []
            if bool(recorded) == bool(actual)
            else [Drift(f"{where} length", len(recorded), len(actual))]
        )
    if isinstance(recorded, str) and recorded != VOLATILE and recorded != actual:
        return [Drift(where, recorded, actual)]
    if isinstance(recorded, bool) and recorded != actual:
        return [Drift(where, recorded, actual)]
    return []


def reply_drift(
    recorded: Mapping[str, Any], status: int, headers: Mapping[str, str], body: Any
) -> list[Drift]:
    """Every difference between a reply and its recorded `response`."""
    drifts = []
    if recorded["status"] != status:
        drifts.append(Drift("status", recorded["status"], status))
    lowered = {name.lower(): value for name, value in headers.items()}
    for name, value in recorded.get("headers", {}).items():
        actual = lowered.get(name.lower())
        if actual is None or (value != VOLATILE and value != actual):
            drifts.append(Drift(f"header {name}", value, actual))
    if "body" in recorded:
        drifts += body_drift(recorded["body"], body)
    return drifts

"""Recorded lifecycles (falfake's `--record DIR`) checked against today's contract, offline:
`python -m falfake.contracts verify --recordings DIR` says what the recorded side drifted from.

Each state must be one of fal's statuses with a valid queue position and valid log lines, the
lifecycle must end COMPLETED, and the result must be the endpoint's output (its media, kept
beside the recording, stand in for their URLs) or one of fal's error bodies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from falfake.contracts import wire

OutputModel = Callable[[str], "type[BaseModel] | None"]
FORMAT = 1
STATUSES = ("IN_QUEUE", "IN_PROGRESS", "COMPLETED")


def recording_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*/*.json"))


def lifecycle_drift(data: Any, output_model: OutputModel) -> list[str]:
    """What in one recording breaks today's contract; [] when nothing does."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return [f"not a recording of format {FORMAT}"]
    found: list[str] = []
    states = data.get("states") or []
    for number, state in enumerate(states):
        found += _state_drift(number, state)
    if not states or states[-1].get("status") != "COMPLETED":
        found.append("the lifecycle does not end COMPLETED")
    result = data.get("result") or {}
    body = _urls_for_files(result.get("body"))
    if result.get("status") == 200:
        model = output_model(str(data.get("endpoint")))
        if model is not None:
            found += problems(model, body, f"{data.get('endpoint')} output")
    else:
        status = result.get("status")
        error: type[BaseModel] = (
            wire.ValidationErrorBody if status == 422 else wire.RequestErrorBody
        )
        found += problems(error, body, f"{status} body")
    return found


def _state_drift(number: int, state: Any) -> list[str]:
    where = f"state {number}"
    if not isinstance(state, dict):
        return [f"{where}: not an object"]
    found = []
    if state.get("status") not in STATUSES:
        found.append(f"{where}: status {state.get('status')!r} is not one of fal's")
    position = state.get("queue_position")
    if position is not None and (not isinstance(position, int) or position < 0):
        found.append(f"{where}: queue_position {position!r}")
    for line in state.get("logs") or []:
        found += problems(wire.LogEntry, line, f"{where} log")
    return found


def _urls_for_files(node: Any) -> Any:
    """The recorded body with each kept file (`$file`) back as a file object with a URL."""
    if isinstance(node, dict) and "$file" in node:
        kept = {k: v for k, v in node.items() if not k.startswith("$")}
        return {"url": f"https://recorded.invalid/{node['$file']}", **kept}
    if isinstance(node, dict):
        return {key: _urls_for_files(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_urls_for_files(item) for item in node]
    return node


def problems(
    model: type[BaseModel], body: Any, where: str | None = None, *, strict: bool = True
) -> list[str]:
    """What `model` finds wrong with `body`, one line per error (`where: loc: msg`); strict by
    default, since a `"42"` where the contract says integer is drift. falfake's upstream mode
    checks live replies with it too."""
    try:
        model.model_validate(body, strict=strict)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors()
        ]
        return lines if where is None else [f"{where}: {line}" for line in lines]
    return []


def verify_folder(folder: Path, output_model: OutputModel) -> tuple[list[str], int]:
    """One line per recording (its drift, or `0 differences`) and how many drifted."""
    lines, drifted = [], 0
    for path in recording_files(folder):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            found = [f"cannot be read: {exc}"]
        else:
            found = lifecycle_drift(data, output_model)
        name = path.relative_to(folder)
        lines.append(f"{name}: {len(found)} differences" + "".join(f"\n  {f}" for f in found))
        drifted += bool(found)
    return lines, drifted

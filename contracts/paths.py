"""Where the contract data files live; nothing else builds paths into them."""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent


def contract_path(*parts: str) -> Path:
    """Path of a file under `contracts/`, e.g. `contract_path("schemas", "input.json")`."""
    return _ROOT.joinpath(*parts)

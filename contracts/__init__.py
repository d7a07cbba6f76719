"""falfake's single source of truth: endpoint schemas and the contract data files.

The pydantic models load when first asked for (`falfake.contracts.File` and the like), so that
a process that only needs the endpoint's id or limits does not pay for pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from falfake.contracts.paths import contract_path
from falfake.contracts.rules import ENDPOINT_ID, AspectRatioEnum, InputLimits

if TYPE_CHECKING:
    from falfake.contracts.reference_to_video import (
        File,
        ReferenceToVideoInput,
        ReferenceToVideoOutput,
        validate_input,
    )

_MODELS = frozenset({"File", "ReferenceToVideoInput", "ReferenceToVideoOutput", "validate_input"})

__all__ = [
    "ENDPOINT_ID",
    "AspectRatioEnum",
    "File",
    "InputLimits",
    "ReferenceToVideoInput",
    "ReferenceToVideoOutput",
    "contract_path",
    "validate_input",
]


def __getattr__(name: str) -> Any:
    if name in _MODELS:
        from falfake.contracts import reference_to_video

        value = getattr(reference_to_video, name)
        globals()[name] = value  # asked once per submit: later lookups skip this function
        return value
    raise AttributeError(f"module 'falfake.contracts' has no attribute {name!r}")

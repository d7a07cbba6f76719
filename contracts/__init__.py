"""falfake's single source of truth: endpoint schemas and the contract data files."""

from contracts.paths import contract_path
from contracts.reference_to_video import (
    ENDPOINT_ID,
    AspectRatioEnum,
    File,
    InputLimits,
    ReferenceToVideoInput,
    ReferenceToVideoOutput,
    validate_input,
)

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

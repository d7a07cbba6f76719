"""What a renderer is asked to make: plain values, equal specs giving equal bytes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ImageSource:
    """A reference image as the renderer draws it: its bytes, or a placeholder showing `label`."""

    digest: str  # sha256 of the bytes (or of the URL, for a placeholder): what equality uses
    label: str
    index: int = 0  # the n of <IMAGE_REF_n>
    data: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class VideoSpec:
    """What the runner renders; equal specs give equal bytes."""

    width: int
    height: int
    duration: int
    fps: int = 24
    prompt: str = ""
    request_id: str = ""
    images: tuple[ImageSource, ...] = ()

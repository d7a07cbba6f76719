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


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """A still image an endpoint outputs: `format` is `jpeg`, `png` or `webp`."""

    width: int
    height: int
    format: str = "jpeg"
    prompt: str = ""
    request_id: str = ""
    index: int = 0  # which of the request's images: each looks different
    blank: bool = False  # what fal's safety checker leaves of a flagged image


@dataclass(frozen=True, slots=True)
class AudioSpec:
    """Speech an endpoint outputs: a tone as long as the text takes to say; `format` mp3 or wav."""

    duration: float
    format: str = "mp3"
    text: str = ""
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class GivenFile:
    """A file a scenario sets as (part of) the output, a golden video or a fixed image: served
    as it is, with its own content type."""

    data: bytes = field(repr=False)
    content_type: str = "application/octet-stream"


MediaSpec = VideoSpec | ImageSpec | AudioSpec | GivenFile
MEDIA_TYPES: dict[str, type[MediaSpec]] = {
    "video": VideoSpec,
    "image": ImageSpec,
    "audio": AudioSpec,
    "given": GivenFile,
}
CONTENT_TYPES = {
    "mp4": "video/mp4",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
}


@dataclass(frozen=True, slots=True)
class MediaSlot:
    """One file of an output: rendered from `spec`, then written into the body at `at`.

    The file object there is `{"url": ..., **fields}`, plus `file_size` when the schema has it.
    """

    at: tuple[str | int, ...]
    spec: MediaSpec
    file_name: str
    fields: dict[str, object] = field(default_factory=dict, hash=False)
    with_size: bool = True


@dataclass(frozen=True, slots=True)
class Generation:
    """What a finished job produced: the output body without its files, and the files to make.

    Plain data, so a data directory stores it and any endpoint's output is served the same way.
    """

    body: dict[str, object] = field(hash=False)
    slots: tuple[MediaSlot, ...] = ()
    billable_units: str = "1"
    # fal's `sync_mode`: each file's bytes in the body as a data URI, not a URL to fetch.
    inline: bool = False

    @property
    def images(self) -> tuple[ImageSource, ...]:
        """The reference images the renders draw from (kept until the request is forgotten)."""
        return tuple(
            image
            for slot in self.slots
            if isinstance(slot.spec, VideoSpec)
            for image in slot.spec.images
        )

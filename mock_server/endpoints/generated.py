"""An endpoint's output made from its output schema: real media where it names files, the input
echoed where names match, and plain values elsewhere. Equal requests give equal outputs.

Media objects are recognised by shape (an object with a `url`) and named by their property, their
content type or their component (ENDPOINTS.md §2), falling back on the endpoint's category. What
each value is:

- images: `num_images` of them (1 if the input has no such field), the size `image_size` (a fal
  preset or `{width, height}`), `width`/`height` or `aspect_ratio` asks for, the format of
  `output_format` or the schema's content type;
- videos: our MP4 renderer, `duration` seconds (`5`, `"5"` or `"8s"`), `aspect_ratio` and
  `resolution` honoured, the input's reference images shown;
- audio: MP3 (WAV when `output_format` asks for it) as long as the text takes to say, about 15
  characters a second, `duration` filled in;
- text: a string `output` (LLM-like endpoints) is `falfake.endpoints.text.reply_text` of the
  prompt, and their `partial` flag is false (a stream sends the partial ones);
- `seed` the input's, or one drawn from the request id when none was given; `has_nsfw_concepts` one
  per image; `timings.inference` a plausible figure; other names found in the input are echoed;
  then the schema's default, first enum value or example; then a plain value of the type.

Only required keys, media and the keys above appear, so nothing the schema forbids is invented.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from falfake.contracts.documents import REF_NAME
from falfake.endpoints.text import reply_text
from falfake.media.specs import (
    CONTENT_TYPES,
    AudioSpec,
    Generation,
    ImageSource,
    ImageSpec,
    MediaSlot,
    MediaSpec,
    VideoSpec,
)

# fal's image size presets (ENDPOINTS.md §3, from fal's docs).
IMAGE_SIZES = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}
# What one rendered image may hold: fal allows 14142x14142 (200 MP), which would take seconds and
# gigabytes here; larger asks are scaled down to this, keeping the aspect, and say so in the output.
MAX_IMAGE_PIXELS = 4096 * 4096
_RESOLUTIONS = {"480p": 480, "540p": 540, "720p": 720, "1080p": 1080, "1440p": 1440, "4k": 2160}
_CATEGORY_KINDS = (("image", "image"), ("video", "video"), ("speech", "audio"), ("audio", "audio"))
CHARACTERS_PER_SECOND = 15


@dataclass(frozen=True, slots=True)
class Request:
    """What an output is made from: the validated input (defaults applied) and where it runs."""

    data: dict[str, Any]
    request_id: str
    category: str = ""
    video_size: tuple[int, int] = (1280, 720)
    images: Sequence[ImageSource] = ()
    flagged: bool = False  # the safety checker flagged the output: images come out blank
    seed: int = field(init=False)

    def __post_init__(self) -> None:
        given = self.data.get("seed")
        drawn = int.from_bytes(hashlib.sha256(self.request_id.encode()).digest()[:4]) >> 1
        object.__setattr__(self, "seed", given if isinstance(given, int) else drawn)

    @property
    def text(self) -> str:
        for key in ("prompt", "text"):
            if isinstance(self.data.get(key), str):
                return str(self.data[key])
        return ""


def generate(schema: dict[str, Any], request: Request) -> Generation:
    """The output for `request`, as a body with its media slots."""
    slots: list[MediaSlot] = []
    body = _object(schema, request, slots, ())
    kinds = {type(slot.spec) for slot in slots}
    if kinds == {VideoSpec}:
        units = sum(slot.spec.duration for slot in slots if isinstance(slot.spec, VideoSpec))
    elif kinds == {AudioSpec}:
        units = max(1, len(request.text))
    else:
        units = max(1, len(slots))
    inline = request.data.get("sync_mode") is True
    return Generation(body=body, slots=tuple(slots), billable_units=str(units), inline=inline)


def image_count(data: dict[str, Any]) -> int:
    for key in ("num_images", "num_outputs"):
        if isinstance(data.get(key), int):
            return max(1, int(data[key]))
    return 1


def _object(
    schema: dict[str, Any], request: Request, slots: list[MediaSlot], at: tuple[str | int, ...]
) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    body: dict[str, Any] = {}
    for key, prop in properties.items():
        prop = prop if isinstance(prop, dict) else {}
        value = _value(key, prop, request, slots, (*at, key), required=key in required)
        if value is not _ABSENT:
            body[key] = value
    return body


_ABSENT = object()


def _value(
    key: str,
    schema: dict[str, Any],
    request: Request,
    slots: list[MediaSlot],
    at: tuple[str | int, ...],
    *,
    required: bool,
) -> Any:
    schema = _non_null(schema)
    kind = _media_kind(key, schema, request.category)
    if kind is not None:
        slots.append(_slot(kind, key, schema, request, at, 0))
        return None
    items = schema.get("items") if schema.get("type") == "array" else None
    item = _non_null(items) if isinstance(items, dict) else {}
    item_kind = _media_kind(key, item, request.category) if item else None
    if item_kind is not None:
        count = image_count(request.data) if item_kind == "image" else 1
        for n in range(count):
            slots.append(_slot(item_kind, key, item, request, (*at, n), n))
        return [None] * count
    known = _known(key, schema, request)
    if known is not _ABSENT:
        return known
    if key in request.data and _fits(request.data[key], schema):
        return request.data[key]
    return _plain(schema, request, slots, at) if required else _ABSENT


def _known(key: str, schema: dict[str, Any], request: Request) -> Any:
    if key == "seed":
        return request.seed
    if key == "has_nsfw_concepts":
        return [request.flagged] * image_count(request.data)
    if key == "timings":
        steps = request.data.get("num_inference_steps")
        return {"inference": round(0.05 * (steps if isinstance(steps, int) else 20), 3)}
    if key == "prompt" and request.text:
        return request.text
    if key == "output" and schema.get("type") == "string":
        return reply_text(request.text)
    if key == "partial" and schema.get("type") == "boolean":
        return False
    return _ABSENT


def _plain(
    schema: dict[str, Any], request: Request, slots: list[MediaSlot], at: tuple[str | int, ...]
) -> Any:
    if "default" in schema:
        return schema["default"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _object(schema, request, slots, at)
    bound = schema.get("minimum", schema.get("exclusiveMinimum"))
    number = bound if isinstance(bound, int | float) and not isinstance(bound, bool) else 0
    plain = {"string": "", "integer": int(number), "number": float(number), "boolean": False}
    return [] if kind == "array" else plain.get(str(kind))


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A nullable schema's non-null member (`anyOf: [X, {type: null}]`), else the schema."""
    members = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(members, list):
        for member in members:
            if isinstance(member, dict) and member.get("type") != "null":
                return {
                    **{k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")},
                    **member,
                }
    return schema


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    kinds = {"string": str, "integer": int, "number": int | float, "boolean": bool, "array": list}
    expected = kinds.get(str(schema.get("type")))
    return expected is None or isinstance(value, expected)


def _media_kind(key: str, schema: dict[str, Any], category: str) -> str | None:
    """`image`, `video` or `audio` for a file object, else None."""
    properties = schema.get("properties")
    if not isinstance(properties, dict) or "url" not in properties:
        return None
    content = properties.get("content_type", {})
    hints = [key, str(schema.get(REF_NAME, "")), str(schema.get("title", ""))]
    if isinstance(content, dict):
        hints.append(str(content.get("default", "")))
    for hint in (h.lower() for h in hints):
        for word, kind in (("image", "image"), ("video", "video"), ("audio", "audio")):
            if word in hint:
                return kind
    for word, kind in _CATEGORY_KINDS:
        if category.endswith(word) or f"to-{word}" in category:
            return kind
    return "image"


def _slot(
    kind: str,
    key: str,
    schema: dict[str, Any],
    request: Request,
    at: tuple[str | int, ...],
    index: int,
) -> MediaSlot:
    properties = schema.get("properties") or {}
    spec: MediaSpec
    facts: dict[str, object]
    if kind == "image":
        width, height = _bounded(*_image_size(request.data))
        spec = ImageSpec(
            width, height, _image_format(request.data, properties), request.text,
            request.request_id, index=index, blank=request.flagged,
        )  # fmt: skip
        extension, facts = spec.format, {"width": width, "height": height}
        name = f"{key}_{index}.{extension}"
    elif kind == "video":
        width, height = _video_size(request.data, request.video_size)
        duration = _seconds(request.data.get("duration"), 5)
        spec = VideoSpec(
            width, height, duration, prompt=request.text, request_id=request.request_id,
            images=tuple(request.images),
        )  # fmt: skip
        extension = "mp4"
        facts = {"width": width, "height": height, "fps": spec.fps, "duration": duration}
        facts["num_frames"] = duration * spec.fps
        name = "output.mp4"
    else:
        seconds = max(1.0, round(len(request.text) / CHARACTERS_PER_SECOND, 2))
        extension = "wav" if "wav" in str(request.data.get("output_format", "")) else "mp3"
        spec = AudioSpec(seconds, extension, request.text, request.request_id)
        facts = {"duration": seconds}
        name = f"output.{extension}"
    facts |= {"content_type": CONTENT_TYPES[extension], "file_name": name}
    fields = {k: facts[k] for k in properties if k in facts and k not in ("url", "file_size")}
    return MediaSlot(at, spec, name, fields, with_size="file_size" in properties)


def _image_size(data: dict[str, Any]) -> tuple[int, int]:
    size = data.get("image_size")
    if isinstance(size, str) and size in IMAGE_SIZES:
        return IMAGE_SIZES[size]
    if isinstance(size, dict) and isinstance(size.get("width"), int):
        return size["width"], size.get("height") or size["width"]
    if isinstance(data.get("width"), int) and isinstance(data.get("height"), int):
        return data["width"], data["height"]
    ratio = _ratio(data.get("aspect_ratio"))
    if ratio is not None:
        return (1024, round(1024 / ratio)) if ratio >= 1 else (round(1024 * ratio), 1024)
    return 1024, 1024


def _bounded(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, (MAX_IMAGE_PIXELS / (width * height)) ** 0.5)
    return max(1, int(width * scale)), max(1, int(height * scale))


def _image_format(data: dict[str, Any], properties: dict[str, Any]) -> str:
    asked = str(data.get("output_format", "")).lower().replace("jpg", "jpeg")
    if asked in ("jpeg", "png", "webp"):
        return asked
    content = properties.get("content_type")
    default = content.get("default") if isinstance(content, dict) else None
    if isinstance(default, str) and default.startswith("image/"):
        subtype = default.removeprefix("image/")
        return subtype if subtype in ("jpeg", "png", "webp") else "jpeg"
    return "jpeg"


def _video_size(data: dict[str, Any], base: tuple[int, int]) -> tuple[int, int]:
    height = _RESOLUTIONS.get(str(data.get("resolution", "")).lower(), min(base))
    ratio = _ratio(data.get("aspect_ratio")) or max(base) / min(base)
    if ratio >= 1:
        return _even(height * ratio), _even(height)
    return _even(height), _even(height / ratio)


def _ratio(value: object) -> float | None:
    match = re.fullmatch(r"(\d+):(\d+)", str(value))
    if match is None or int(match[2]) == 0:
        return None
    return int(match[1]) / int(match[2])


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _seconds(value: object, default: int) -> int:
    match = re.fullmatch(r"\s*(\d+)(?:\.\d*)?\s*s?\s*", str(value)) if value is not None else None
    return max(1, int(match[1])) if match else default

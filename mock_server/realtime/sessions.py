"""One realtime frame in, one result out (STREAMING.md §2.3, §2.6): msgpack inputs checked, a
real JPEG of the asked size rendered, the input's `request_id` echoed.

Served for the image endpoints fal documents as realtime (`REALTIME_ENDPOINTS`). A bad frame is
an `x-fal-error` the session survives: fal's own answer to bad input is not documented, and the
apps its SDK runs would end the session with `INTERNAL_ERROR`, which punishes one typo with a
reconnect.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import time
import warnings
from dataclasses import dataclass
from typing import Any

from falfake.endpoints.generated import IMAGE_SIZES

# The docs' realtime models and the demos' sub-paths (§4); each is served at `{id}/realtime`.
REALTIME_ENDPOINTS = (
    "fal-ai/fast-lcm-diffusion",
    "fal-ai/fast-lcm-diffusion/image-to-image",
    "fal-ai/fast-turbo-diffusion",
    "fal-ai/fast-turbo-diffusion/image-to-image",
    "fal-ai/flux-2/klein",
)
DEFAULT_SIDE = 512
MAX_SIDE = 1024  # a realtime frame is a preview-sized image; larger inputs are scaled down
IDLE_REASON = "no inputs, reconnect when needed!"


class BadFrame(Exception):
    """A frame the session cannot use: sent back as `x-fal-error` with this code and reason."""

    def __init__(self, reason: str, code: str = "INVALID_INPUT") -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass(frozen=True, slots=True)
class Ask:
    """What one input asks for."""

    prompt: str
    width: int
    height: int
    seed: int
    steps: int
    request_id: object = None


def decoded(frame: bytes) -> dict[str, Any]:
    """The input map of a binary frame; BadFrame for anything else msgpack or not."""
    import msgpack  # with the first realtime session

    try:
        value = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except (ValueError, TypeError, OverflowError, RecursionError, msgpack.UnpackException) as exc:
        raise BadFrame(f"the frame is not msgpack: {exc or type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise BadFrame(f"the input must be a map, not {type(value).__name__}")
    return value


def ask_of(data: dict[str, Any]) -> Ask:
    """The input checked field by field; BadFrame names the first bad one."""
    prompt = data.get("prompt", "")
    if not isinstance(prompt, str):
        raise BadFrame("prompt must be a string")
    for name, low, high in (("strength", 0.0, 1.0), ("guidance_scale", 0.0, 20.0)):
        value = data.get(name)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise BadFrame(f"{name} must be a number from {low:g} to {high:g}")
    steps = _integer(data, "num_inference_steps", 4, 1, 50)
    drawn = (
        int.from_bytes(hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).digest()[:4]) >> 1
    )
    seed = _integer(data, "seed", drawn, 0, 2**63 - 1)
    width, height = _size(data)
    return Ask(prompt, width, height, seed, steps, data.get("request_id"))


def _integer(data: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadFrame(f"{name} must be an integer from {low} to {high}")
    return value


def _size(data: dict[str, Any]) -> tuple[int, int]:
    """The input image's size (bytes or a data URI), else `image_size`, else 512x512."""
    image = data.get("image_bytes")
    url = data.get("image_url")
    if image is None and isinstance(url, str) and url.startswith("data:"):
        try:
            image = base64.b64decode(url.partition(",")[2], validate=True)
        except binascii.Error:
            raise BadFrame("image_url is not a valid base64 data URI") from None
    if image is not None:
        if not isinstance(image, bytes):
            raise BadFrame("image_bytes must be binary")
        return _bounded(*_image_size(image))
    preset = data.get("image_size")
    if isinstance(preset, str) and preset in IMAGE_SIZES:
        return _bounded(*IMAGE_SIZES[preset])
    if isinstance(preset, dict):
        width, height = preset.get("width"), preset.get("height")
        if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
            return _bounded(width, height)
    if preset is not None:
        raise BadFrame("image_size must be a preset name or {width, height}")
    return DEFAULT_SIDE, DEFAULT_SIDE


def _image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        # Only the size is read; a picture past Pillow's pixel limit is refused, not decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except Image.DecompressionBombError:
        raise BadFrame("image_bytes has more pixels than falfake decodes") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise BadFrame("image_bytes is not an image Pillow can read") from None


def _bounded(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(8, round(width * scale)), max(8, round(height * scale))


def result(ask: Ask) -> dict[str, Any]:
    """The output frame of one input, with a freshly rendered JPEG (blocking: run it off the
    loop)."""
    from falfake.media.renderers import render_image
    from falfake.media.specs import ImageSpec

    started = time.perf_counter()
    content = render_image(
        ImageSpec(ask.width, ask.height, "jpeg", ask.prompt, request_id=str(ask.seed))
    )
    body: dict[str, Any] = {
        "images": [
            {
                "content": content,
                "content_type": "image/jpeg",
                "width": ask.width,
                "height": ask.height,
            }
        ],
        "timings": {"inference": round(time.perf_counter() - started, 4)},
        "seed": ask.seed,
        "num_inference_steps": ask.steps,
        "nsfw_content_detected": [False],
    }
    if ask.request_id is not None:
        body["request_id"] = ask.request_id
    return body


def message(action: str, **fields: object) -> dict[str, object]:
    """An `x-fal-message` control frame."""
    return {"type": "x-fal-message", "action": action, **fields}


def error(code: str, reason: str) -> dict[str, object]:
    """An `x-fal-error` control frame."""
    return {"type": "x-fal-error", "error": code, "reason": reason}

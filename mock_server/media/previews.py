"""Small previews of an output's images, as data URIs, for the progress events of a stream."""

from __future__ import annotations

import base64
import functools
import io
from typing import Any

from falfake.media.files import Files
from falfake.media.outputs import slot_path
from falfake.media.specs import Generation, ImageSpec
from falfake.media.work import Work

# A preview is what a stream can carry in every event: a thumbnail, not the image.
PREVIEW_SIDE = 128


async def image_previews(
    generation: Generation, output_path: str, files: Files, work: Work
) -> list[dict[str, Any]]:
    """One JPEG thumbnail per published image of `generation` (none for other media)."""
    previews = []
    for slot in generation.slots:
        if isinstance(slot.spec, ImageSpec):
            stored = await files.read(slot_path(output_path, slot))
            previews.append(await work.run(functools.partial(_thumbnail, stored.data)))
    return previews


def _thumbnail(data: bytes) -> dict[str, Any]:
    from PIL import Image  # in the worker thread: Pillow loads on first use

    with Image.open(io.BytesIO(data)) as image:
        small = image.convert("RGB")
        small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=70)
    encoded = base64.b64encode(out.getvalue()).decode()
    return {
        "url": f"data:image/jpeg;base64,{encoded}",
        "width": small.width,
        "height": small.height,
        "content_type": "image/jpeg",
    }

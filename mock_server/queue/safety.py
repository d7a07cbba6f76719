"""Deterministic safety filters: what makes the fake answer `content_policy_violation` (§10).

Triggers, each configurable through a JSON rules file (`--safety-rules`):
- a prompt containing one of `prompt_terms` is rejected at `loc ["body", "prompt"]`;
- a reference image whose URL or bytes contain one of `image_markers`, or whose SHA-256 is in
  `image_sha256`, is rejected at `loc ["body", "image_urls"]` (with its index if `image_index`);
- a prompt containing one of `output_terms` runs to the end, then its video is flagged at
  `loc ["body"]`.
Tests can also force each stage per request with the header `X-Falfake-Safety: prompt,image,output`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from falfake.media.specs import ImageSource
from falfake.settings import SafetyRules

URL = "https://docs.fal.ai/errors#content_policy_violation"
FORCE_HEADER = b"x-falfake-safety"  # as ASGI scopes spell header names
STAGES = frozenset({"prompt", "image", "output"})


def forced_stages(header: str | None) -> frozenset[str]:
    """The stages a request forces through `X-Falfake-Safety`; unknown names are ignored."""
    if header is None:
        return frozenset()
    return frozenset(part.strip().lower() for part in header.split(",")) & STAGES


def _contains(text: str, terms: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(term in lowered for term in _lowered(terms))


@functools.lru_cache(maxsize=64)  # a few rule sets per process, asked on every submit
def _lowered(terms: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(term.lower() for term in terms if term)


def input_flags(
    prompt: str,
    urls: Sequence[str],
    images: Sequence[ImageSource],
    rules: SafetyRules,
    forced: frozenset[str],
    *,
    text_field: str = "prompt",
    image_field: str = "image_urls",
    indexed: bool = True,
) -> list[dict[str, Any]]:
    """The `content_policy_violation` entries for the prompt (or other text) and the reference
    images (a list at `image_field`, or one image when not `indexed`)."""
    entries = []
    if "prompt" in forced or _contains(prompt, rules.prompt_terms):
        entries.append(_entry(["body", text_field], rules.prompt_message))
    flagged = [
        source.index
        for source in images
        if "image" in forced
        or _contains(urls[source.index], rules.image_markers)
        or source.digest in rules.image_sha256
        or (
            source.data is not None and any(m in source.data for m in _encoded(rules.image_markers))
        )
    ]
    if flagged and rules.image_index and indexed:
        entries += [_entry(["body", image_field, i], rules.image_message) for i in flagged]
    elif flagged:
        entries.append(_entry(["body", image_field], rules.image_message))
    return entries


@functools.lru_cache(maxsize=64)
def _encoded(markers: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(marker.encode() for marker in markers if marker)


def output_flag(prompt: str, rules: SafetyRules, forced: frozenset[str]) -> dict[str, Any] | None:
    """The entry that flags the generated video, or None."""
    if "output" in forced or _contains(prompt, rules.output_terms):
        return _entry(["body"], rules.output_message)
    return None


def _entry(loc: list[str | int], msg: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": "content_policy_violation", "url": URL}

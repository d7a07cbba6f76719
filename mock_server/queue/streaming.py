"""What `POST fal.run/{id}/stream` sends (STREAMING.md §1.4): the events of one output, in order.

A text output (one with a `partial` flag, LLM-like) streams its text cumulatively with
`partial: true`, then the whole output with `partial: false`; the clients never read the flag,
but apps do, and fal's LLM endpoints send the text so far in every event (§4). A media output
streams progress events, with small previews where it has images, then the output itself. fal
does not document its preview events: the shape here (`progress`, `message`, `images` as data
URIs) is ours, and `--stream-events` sets how many come before the output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Past this many words, several go out in one event: a long answer is not a thousand events.
MAX_TEXT_EVENTS = 64
PROGRESS_MESSAGE = "Generating"


def text_events(body: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """The cumulative text of `body[field]` word by word (`partial: true`), then `body` whole."""
    text = body.get(field)
    final = {**body, "partial": False}
    if not isinstance(text, str) or not text:
        return [final]
    words = text.split(" ")
    per_event = -(-len(words) // MAX_TEXT_EVENTS)  # ceiling: at most MAX_TEXT_EVENTS partials
    partials = [
        {**body, field: " ".join(words[:end]), "partial": True}
        for end in range(per_event, len(words), per_event)
    ]
    return [*partials, final]


def media_events(
    body: dict[str, Any], progress_events: int, previews: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """`progress_events` progress events (with the previews, if any), then `body`."""
    events: list[dict[str, Any]] = []
    for step in range(1, progress_events + 1):
        event: dict[str, Any] = {
            "progress": round(step / (progress_events + 1), 3),
            "message": PROGRESS_MESSAGE,
        }
        if previews:
            event["images"] = list(previews)
        events.append(event)
    return [*events, body]


def event_times(start: float, seconds: float, count: int) -> list[float]:
    """When each of `count` events goes out: evenly over the run, the last one as it ends."""
    return [start + seconds * n / count for n in range(1, count + 1)]

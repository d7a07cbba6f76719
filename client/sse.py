"""An incremental parser of `text/event-stream`: chunks in, the `data` of complete events out."""

from __future__ import annotations

import json
import re

from falfake.client.errors import UnexpectedResponse
from falfake.client.models import Status, parse_status

_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEDecoder:
    """Feed decoded text as it arrives; get back each finished event's data (lines joined by
    newlines). Comments (keep-alives) and other fields are skipped; CRLF, CR and LF all end lines,
    even when a CRLF is split between two chunks."""

    def __init__(self) -> None:
        self._pending = ""
        self._data: list[str] = []
        self._after_cr = False

    def feed(self, text: str) -> list[str]:
        if self._after_cr and text.startswith("\n"):
            text = text[1:]
        self._pending += text
        *lines, self._pending = _LINE_END.split(self._pending)
        self._after_cr = bool(lines) and text.endswith("\r")
        events: list[str] = []
        for line in lines:
            if line == "":
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
                continue
            name, _, value = line.partition(":")
            if name == "data":
                self._data.append(value.removeprefix(" "))
        return events


def status_from_event(data: str) -> Status:
    """The status a `data:` event of fal's status stream carries."""
    try:
        return parse_status(json.loads(data))
    except json.JSONDecodeError:
        raise UnexpectedResponse(f"Status event is not JSON: {data!r:.200}") from None

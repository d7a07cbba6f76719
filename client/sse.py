"""An incremental parser of `text/event-stream`: chunks in, the `data` of complete events out."""

from __future__ import annotations


class SSEDecoder:
    """Feed decoded text as it arrives; get back each finished event's data (lines joined by
    newlines). Comments (keep-alives) and other fields are skipped; CRLF and CR line ends work."""

    def __init__(self) -> None:
        self._pending = ""
        self._data: list[str] = []

    def feed(self, text: str) -> list[str]:
        self._pending += text
        events: list[str] = []
        while True:
            line, found = self._next_line()
            if not found:
                return events
            if line == "":
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
            elif line.startswith("data"):
                name, _, value = line.partition(":")
                if name == "data":
                    self._data.append(value.removeprefix(" "))

    def _next_line(self) -> tuple[str, bool]:
        for index, char in enumerate(self._pending):
            if char == "\n" or (char == "\r" and index + 1 < len(self._pending)):
                end = index + 1
                if char == "\r" and self._pending[end] == "\n":
                    end += 1
                line, self._pending = self._pending[:index], self._pending[end:]
                return line, True
        return "", False

    def close(self) -> list[str]:
        """Events the stream ended without a blank line after (the spec drops them; so do we)."""
        self._pending, self._data = "", []
        return []

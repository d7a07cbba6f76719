"""JSON replies, ASCII-escaped: the JSON value fal's UTF-8 replies carry, safe for any input."""

from __future__ import annotations

import json
from typing import Any

from starlette import responses

# One encoder for every reply: `json.dumps` with options builds a new one per call.
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


class JSONResponse(responses.JSONResponse):
    """Starlette's JSON reply with `\\uXXXX` escapes: a lone surrogate decoded from the request
    cannot be encoded as UTF-8, and echoing it in a 422 must not turn the 422 into a 500."""

    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content).encode("ascii")

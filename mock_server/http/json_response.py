"""JSON replies, ASCII-escaped: the JSON value fal's UTF-8 replies carry, safe for any input."""

from __future__ import annotations

import json
import sys
from typing import Any

from starlette import responses

# One encoder for every reply: `json.dumps` with options builds a new one per call.
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def encode(content: Any) -> bytes:
    """`content` as compact JSON with `\\uXXXX` escapes for anything outside ASCII.

    pydantic's encoder writes the same JSON five times faster, where it writes plain ASCII: every
    reply the queue makes, as a rule. It is used once pydantic has loaded (after start, in the
    background) and not imported here, so the first replies do not wait for it. Anything else
    goes to the standard library's encoder, which decides what the reply is: escapes, lone
    surrogates, and the ValueError for NaN or infinity (pydantic's would write a string).
    """
    # Read off the module as it stands: another thread may be importing it right now (the
    # start-up's), and a module still loading is in sys.modules without its functions.
    to_json = getattr(sys.modules.get("pydantic_core"), "to_json", None)
    if to_json is not None:
        try:
            fast: bytes = to_json(content, inf_nan_mode="strings")
        except ValueError:  # pydantic's serialisation errors, a lone surrogate among them
            pass
        else:
            if fast.isascii() and b'"NaN"' not in fast and b'Infinity"' not in fast:
                return fast
    return _ENCODER.encode(content).encode("ascii")


class JSONResponse(responses.JSONResponse):
    """Starlette's JSON reply with `\\uXXXX` escapes: a lone surrogate decoded from the request
    cannot be encoded as UTF-8, and echoing it in a 422 must not turn the 422 into a 500."""

    def render(self, content: Any) -> bytes:
        return encode(content)

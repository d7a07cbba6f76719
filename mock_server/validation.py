"""Pure parsing of what callers send: bodies, query parameters and fal's request headers.

Untrusted values enter as `str`/`bytes`/`object` and leave typed, or as a raised `FalError`.
"""

from __future__ import annotations

import contextlib
import email.message
import enum
import functools
import json
import math
import re

from falfake.errors import BadRequest, BodyNotParsed, InvalidInput

_NON_NEGATIVE_INT = re.compile(r"[0-9]{1,9}")
_LOGS_VALUES = {"1": True, "true": True, "0": False, "false": False}


class Priority(enum.StrEnum):
    """`X-Fal-Queue-Priority`: every `low` request waits behind every `normal` one."""

    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        return 0 if self is Priority.NORMAL else 1


def decode_body(raw: bytes, content_type: str | None) -> object:
    """The body as FastAPI hands it to validation: parsed JSON, or the raw text for other types.

    Raises FastAPI's errors: `InvalidInput` for an empty or invalid JSON body, `BodyNotParsed` for
    one that is not text or nests too deep.
    """
    if not raw:
        raise InvalidInput(
            [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
        )
    if content_type is not None and not _is_json_type(content_type):
        return raw.decode("utf-8", errors="replace")
    # pydantic's parser first, six times faster than the standard library's; it refuses all the
    # standard library refuses and more (a BOM, a lone surrogate, nesting past 200), and what it
    # refuses the standard library decides, with the errors FastAPI gives. Loaded on first use,
    # since pydantic loads after start.
    from pydantic_core import from_json

    with contextlib.suppress(ValueError):
        return from_json(raw)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", exc.pos],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ]
        ) from None
    except (ValueError, RecursionError):
        # Bytes that are not UTF-8/16/32, integers past Python's 4300 digits, nesting deeper than
        # the recursion limit: FastAPI turns every such failure into this plain 400.
        raise BodyNotParsed from None


@functools.lru_cache(maxsize=256)
def _is_json_type(content_type: str) -> bool:
    """FastAPI's test, through the email parser; each distinct header is parsed once."""
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def parse_logs_flag(value: str | None) -> bool:
    """`logs=1|0|true|false` (JS sends digits, Python words); absent means no logs."""
    if value is None:
        return False
    flag = _LOGS_VALUES.get(value.strip().lower())
    if flag is None:
        raise BadRequest(f"Invalid value for 'logs': {value!r}; expected 1, 0, true or false.")
    return flag


def parse_priority(value: str | None) -> Priority:
    """`X-Fal-Queue-Priority: normal|low`; absent means normal."""
    if value is None:
        return Priority.NORMAL
    try:
        return Priority(value.strip().lower())
    except ValueError:
        raise BadRequest(
            f"Invalid X-Fal-Queue-Priority {value!r}; expected 'normal' or 'low'."
        ) from None


def parse_request_timeout(value: str | None, minimum: float) -> float | None:
    """`X-Fal-Request-Timeout` in seconds; below `minimum` or not a number is a 400 (§9.4)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < minimum:
        raise BadRequest(
            f"Invalid X-Fal-Request-Timeout {value!r}; expected a number of seconds of at"
            f" least {minimum:g}."
        )
    return seconds


def parse_max_queue_length(value: str | None) -> int | None:
    """`fal_max_queue_length`, a non-negative integer."""
    if value is None:
        return None
    if _NON_NEGATIVE_INT.fullmatch(value.strip()) is None:
        raise BadRequest(
            f"Invalid fal_max_queue_length {value!r}; expected a non-negative integer."
        )
    return int(value)


def parse_part_number(value: str) -> int:
    """A multipart part number in a URL: 1 to 10000, as S3 and GCS allow."""
    if _NON_NEGATIVE_INT.fullmatch(value) is None or not 1 <= int(value) <= 10_000:
        raise BadRequest(f"Invalid part number {value!r}; expected 1 to 10000.")
    return int(value)

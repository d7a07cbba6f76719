"""JSON replies: compact, ASCII, and the value the standard library's encoder would write."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pydantic_core  # noqa: F401 -- loaded, so the fast encoder is the one under test
import pytest
from hypothesis import given

from falfake.http.json_response import encode
from falfake.queue.models import Status
from tests.strategies import any_json_values, typed


def _stdlib(value: Any) -> bytes | str:
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":")).encode("ascii")
    except ValueError:
        return "refused"


def _encoded(value: Any) -> bytes | str:
    try:
        return encode(value)
    except ValueError:
        return "refused"


@given(any_json_values)
def test_a_reply_is_the_standard_librarys_json_in_ascii(value: Any) -> None:
    """Same value, same types, same key order; NaN and infinity refused as the standard library
    refuses them, never written as null or as a string in their place."""
    expected, got = _stdlib(value), _encoded(value)
    if isinstance(expected, str) or isinstance(got, str):
        assert got == expected
        return
    assert got.isascii()
    assert typed(json.loads(got)) == typed(json.loads(expected))


@pytest.mark.parametrize(
    ("value", "spelled"),
    [
        pytest.param({"prompt": "猫"}, b'{"prompt":"\\u732b"}', id="non-ascii-escaped"),
        pytest.param({"prompt": "\ud800"}, b'{"prompt":"\\ud800"}', id="lone-surrogate"),
        pytest.param({"s": "NaN", "t": "-Infinity"}, b'{"s":"NaN","t":"-Infinity"}', id="nan-text"),
        pytest.param(
            {"status": Status.COMPLETED, "logs": None, "metrics": {}},
            b'{"status":"COMPLETED","logs":null,"metrics":{}}',
            id="status-reply",
        ),
    ],
)
def test_replies_are_spelled_compactly(value: Any, spelled: bytes) -> None:
    assert encode(value) == spelled


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf")])
def test_a_number_json_cannot_carry_is_refused(number: float) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        encode({"detail": [{"input": number}]})


def test_a_reply_made_while_pydantic_loads_in_another_thread_is_still_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The start-up loads pydantic in the background; a request answered at that moment found
    # the module in sys.modules without its functions yet (a 500 under load, once in ten).
    monkeypatch.setitem(sys.modules, "pydantic_core", types.ModuleType("pydantic_core"))
    assert encode({"status": "ok"}) == b'{"status":"ok"}'

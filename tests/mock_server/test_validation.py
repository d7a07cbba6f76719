"""Pure parsing of bodies, query parameters and headers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from falfake.errors import BadRequest, BodyNotParsed, InvalidInput
from falfake.validation import (
    Priority,
    decode_body,
    parse_logs_flag,
    parse_max_queue_length,
    parse_part_number,
    parse_priority,
    parse_request_timeout,
)
from tests.strategies import any_json_values, typed


@pytest.mark.parametrize(
    ("content_type", "decoded"),
    [
        pytest.param(None, {"a": 1}, id="no-type"),
        pytest.param("application/json", {"a": 1}, id="json"),
        pytest.param("application/json; charset=utf-8", {"a": 1}, id="json-charset"),
        pytest.param("application/vnd.api+json", {"a": 1}, id="json-suffix"),
        pytest.param("text/plain", '{"a": 1}', id="text"),
        pytest.param("multipart/form-data; boundary=x", '{"a": 1}', id="form"),
    ],
)
def test_decode_body_parses_json_types_only(content_type: str | None, decoded: object) -> None:
    assert decode_body(b'{"a": 1}', content_type) == decoded


def test_decode_body_reports_the_json_error_position() -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_body(b'{"a": }', "application/json")
    assert caught.value.detail == [
        {
            "type": "json_invalid",
            "loc": ["body", 6],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": "Expecting value"},
        }
    ]


def _stdlib(raw: bytes) -> Any:
    try:
        return typed(json.loads(raw))
    except (ValueError, RecursionError):
        return "refused"


def _decoded(raw: bytes) -> Any:
    try:
        return typed(decode_body(raw, "application/json"))
    except (InvalidInput, BodyNotParsed):
        return "refused"


_EDGES = st.sampled_from(
    [
        b"\xef\xbb\xbf",
        b"\xff",
        b'"\\ud800"',
        b"NaN",
        b"-Infinity",
        b"1e400",
        b"-0.0",
        b"9" * 4301,
        b"[" * 300,
        b"]" * 300,
        b",",
        b"\x00",
        b"\x01",
        b" ",
    ]
)


@given(
    value=any_json_values,
    ascii_only=st.booleans(),
    cuts=st.lists(st.tuples(st.integers(0, 400), _EDGES), max_size=3),
)
def test_decode_body_reads_json_exactly_as_the_standard_library(
    value: Any, ascii_only: bool, cuts: list[tuple[int, bytes]]
) -> None:
    """The fast parser answers only where it agrees with `json.loads`: same values, same types,
    same key order; anything `json.loads` refuses is refused (with FastAPI's errors, above)."""
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    for at, edge in cuts:
        raw = raw[:at] + edge + raw[at:]
    if raw:
        assert _decoded(raw) == _stdlib(raw)


def test_decode_body_gives_up_on_bytes_that_are_not_text() -> None:
    with pytest.raises(BodyNotParsed):
        decode_body(b"\x80\x81", None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("TRUE", True), ("0", False), ("false", False), (None, False)],
)
def test_logs_flag(value: str | None, expected: bool) -> None:
    assert parse_logs_flag(value) is expected


@pytest.mark.parametrize("value", ["", "yes", "2", "on"])
def test_logs_flag_rejects_other_values(value: str) -> None:
    with pytest.raises(BadRequest):
        parse_logs_flag(value)


def test_priority() -> None:
    assert parse_priority(None) is Priority.NORMAL
    assert parse_priority(" Low ") is Priority.LOW
    with pytest.raises(BadRequest):
        parse_priority("high")


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("30", 30.0), ("0.1", 0.1)])
def test_request_timeout(value: str | None, expected: float | None) -> None:
    assert parse_request_timeout(value, minimum=0.1) == expected


@pytest.mark.parametrize("value", ["0.09", "0", "-5", "inf", "nan", "", "1e999", "ten"])
def test_request_timeout_rejects(value: str) -> None:
    with pytest.raises(BadRequest):
        parse_request_timeout(value, minimum=0.1)


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("0", 0), (" 12 ", 12)])
def test_max_queue_length(value: str | None, expected: int | None) -> None:
    assert parse_max_queue_length(value) == expected


@pytest.mark.parametrize("value", ["-1", "1.5", "", "٣", "9999999999"])
def test_max_queue_length_rejects(value: str) -> None:
    with pytest.raises(BadRequest):
        parse_max_queue_length(value)


@pytest.mark.parametrize("value", ["1", "10000"])
def test_part_numbers_run_from_1_to_10000(value: str) -> None:
    assert parse_part_number(value) == int(value)


@pytest.mark.parametrize("value", ["0", "10001", "-1", "1.0", "٣"])
def test_other_part_numbers_are_refused_with_the_range(value: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_part_number(value)
    assert caught.value.detail == f"Invalid part number {value!r}; expected 1 to 10000."

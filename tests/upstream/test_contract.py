"""Live replies held to the contract: what breaks it is named, what keeps it says nothing."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from falfake.upstream.contract import Exchange, header_value, input_problems, kind_of, violations

STATUS: dict[str, Any] = {
    "status": "IN_QUEUE",
    "request_id": "r",
    "response_url": "u",
    "status_url": "u",
    "cancel_url": "u",
    "logs": None,
    "metrics": {},
    "queue_position": 0,
}


class Output(BaseModel):
    seed: int


def no_model(endpoint_id: str) -> None:
    return None


def checked(
    method: str, service: str, rest: str, status: int, body: Any, **headers: str
) -> list[str]:
    exchange = Exchange(method, service, rest, status, body, headers, endpoint_id="fal-ai/x")
    return violations(exchange, lambda endpoint_id: Output)


@pytest.mark.parametrize(
    ("method", "service", "rest", "kind"),
    [
        pytest.param("POST", "queue", "/fal-ai/x", "submit", id="submit"),
        pytest.param("GET", "queue", "/fal-ai/x/requests/r/status", "status", id="status"),
        pytest.param("PUT", "queue", "/fal-ai/x/requests/r/cancel", "cancel", id="cancel"),
        pytest.param("GET", "queue", "/fal-ai/x/requests/r", "result", id="result"),
        pytest.param("POST", "run", "/fal-ai/x", "run", id="run"),
        pytest.param("POST", "run", "/fal-ai/x/stream", None, id="stream"),
        pytest.param("GET", "queue", "/fal-ai/x/requests/r/status/stream", None, id="sse"),
        pytest.param("POST", "rest", "/storage/auth/token", None, id="storage"),
    ],
)
def test_calls_are_told_apart(method: str, service: str, rest: str, kind: str | None) -> None:
    assert kind_of(method, service, rest) == kind


def test_replies_as_fal_sends_them_break_nothing() -> None:
    assert checked("POST", "queue", "/fal-ai/x", 200, STATUS) == []
    assert checked("GET", "queue", "/fal-ai/x/requests/r/status", 202, STATUS) == []
    assert (
        checked("PUT", "queue", "/fal-ai/x/requests/r/cancel", 202, {"status": "ALREADY_COMPLETED"})
        == []
    )
    assert checked("GET", "queue", "/fal-ai/x/requests/r", 200, {"seed": 3}) == []
    assert checked("POST", "run", "/fal-ai/x", 200, {"seed": 3}, **{"x-fal-request-id": "r"}) == []
    assert (
        checked(
            "POST",
            "queue",
            "/fal-ai/x",
            422,
            {"detail": [{"loc": ["body"], "msg": "m", "type": "t"}]},
        )
        == []
    )
    still = {
        "detail": "Request is still in progress",
        "request_id": "r",
        "response_url": "u",
        "status_url": "u",
        "cancel_url": "u",
    }
    assert checked("GET", "queue", "/fal-ai/x/requests/r", 400, still) == []


@pytest.mark.parametrize(
    ("exchange", "found"),
    [
        pytest.param(("POST", "queue", "/fal-ai/x", 201, STATUS),
                     ["status 201, expected (200,)"], id="submit-status"),
        pytest.param(("POST", "queue", "/fal-ai/x", 200, {**STATUS, "status": "COMPLETED"}),
                     ["submit status 'COMPLETED', expected 'IN_QUEUE'"], id="submit-not-queued"),
        pytest.param(("GET", "queue", "/fal-ai/x/requests/r", 200, {"seed": "3"}),
                     ["fal-ai/x output: seed: Input should be a valid integer"], id="output"),
        pytest.param(("POST", "run", "/fal-ai/x", 200, {"seed": 3}),
                     ["no x-fal-request-id header"], id="run-header"),
        pytest.param(("PUT", "queue", "/fal-ai/x/requests/r/cancel", 202, {"status": "GONE"}),
                     ["cancel body: status: Input should be 'CANCELLATION_REQUESTED', "
                      "'ALREADY_COMPLETED' or 'NOT_FOUND'"], id="cancel"),
        pytest.param(("GET", "queue", "/fal-ai/x/requests/r/status", 500, "<html>"),
                     ["500 body: (root): Input should be a valid dictionary or instance of "
                      "RequestErrorBody"], id="error-page"),
    ],
)  # fmt: skip
def test_what_breaks_the_contract_is_named(exchange: tuple[Any, ...], found: list[str]) -> None:
    assert checked(*exchange) == found


def test_an_output_without_a_document_is_not_checked() -> None:
    exchange = Exchange("GET", "queue", "/fal-ai/x/requests/r", 200, {"seed": "3"}, {})
    assert violations(exchange, no_model) == []


def test_the_header_shows_the_first_three_on_one_ascii_line() -> None:
    found = ["a\nb", "é", "c", "d", "e"]
    assert header_value(found) == "a b; ?; c; and 2 more"


@pytest.mark.parametrize(
    ("status", "body", "problems", "found"),
    [
        pytest.param(200, {"seed": 3}, ["prompt: Field required"],
                     ["fal accepted an input the contract rejects: prompt: Field required"],
                     id="accepted-bad"),
        pytest.param(422, {"detail": [{"loc": ["body"], "msg": "No", "type": "t"}]}, [],
                     ["fal rejected an input the contract accepts: No"], id="rejected-good"),
        pytest.param(422, {"detail": [{"loc": ["body"], "msg": "No", "type": "t"}]}, None,
                     [], id="input-unknown"),
        pytest.param(200, {"seed": 3}, [], [], id="agreed"),
    ],
)  # fmt: skip
def test_what_fal_did_with_an_input_is_held_to_the_contracts_verdict(
    status: int, body: Any, problems: list[str] | None, found: list[str]
) -> None:
    exchange = Exchange(
        "GET", "queue", "/fal-ai/x/requests/r", status, body, {}, "fal-ai/x", problems
    )
    assert violations(exchange, lambda endpoint_id: Output) == found


def test_the_inputs_verdict_is_the_models_or_unknown() -> None:
    class Input(BaseModel):
        prompt: str

    assert input_problems(Input, {"prompt": "a"}) == []
    assert input_problems(Input, {}) == ["prompt: Field required"]
    assert input_problems(None, {}) is None

"""fal's error answers become the client's exception classes, with every field filled in."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from falfake.client import (
    ApiError,
    AuthenticationError,
    ContentPolicyViolation,
    FalClient,
    RequestCancelled,
    ServerError,
    ValidationError,
)
from tests.client.conftest import REQUESTS

POLICY = [
    {
        "loc": ["body", "prompt"],
        "msg": "The content could not be processed because it contained material flagged by a"
        " content checker.",
        "type": "content_policy_violation",
        "url": "https://docs.fal.ai/errors#content_policy_violation",
    }
]


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "error_type"),
    [
        pytest.param(
            422,
            {"detail": [{"loc": ["body", "duration"], "msg": "m", "type": "less_than_equal"}]},
            {},
            ValidationError,
            None,
            id="validation",
        ),
        pytest.param(
            422, {"detail": POLICY}, {}, ContentPolicyViolation, None, id="content-policy"
        ),
        pytest.param(
            403, {"detail": "User is locked."}, {}, AuthenticationError, None, id="locked"
        ),
        pytest.param(
            499,
            {"detail": "Request cancelled by the client.", "error_type": "client_cancelled"},
            {},
            RequestCancelled,
            "client_cancelled",
            id="cancelled",
        ),
        pytest.param(
            400,
            {"detail": "Request is still in progress", "request_id": "r1"},
            {},
            ApiError,
            None,
            id="not-ready",
        ),
        pytest.param(
            502,
            {"detail": "bad"},
            {"x-fal-error-type": "runner_incomplete_response"},
            ServerError,
            "runner_incomplete_response",
            id="type-from-header",
        ),
    ],
)
def test_error_answers_become_typed_exceptions(
    fal: FalClient,
    mock: respx.MockRouter,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
    error: type[ApiError],
    error_type: str | None,
) -> None:
    mock.get(f"{REQUESTS}/r1").respond(
        status, json=body, headers={"x-fal-request-id": "r1", **headers}
    )
    with pytest.raises(error) as caught:
        fal.result("r1")
    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert caught.value.detail == body["detail"]
    assert caught.value.error_type == error_type
    assert caught.value.request_id == "r1"
    assert caught.value.body == body


def test_content_policy_violations_are_validation_errors_too() -> None:
    assert issubclass(ContentPolicyViolation, ValidationError)


def test_field_errors_of_a_flat_detail_look_like_the_js_clients() -> None:
    error = ValidationError(422, "bad input")
    assert error.field_errors == [{"loc": ["body"], "msg": "bad input", "type": "value_error"}]


def test_a_non_json_error_keeps_its_text(fal: FalClient, mock: respx.MockRouter) -> None:
    mock.get(f"{REQUESTS}/r1").respond(404, text="<html>gone</html>")
    with pytest.raises(ApiError) as caught:
        fal.result("r1")
    assert caught.value.detail == "<html>gone</html>"
    assert str(caught.value) == "HTTP 404: <html>gone</html>"


def test_the_message_names_the_first_field(fal: FalClient, mock: respx.MockRouter) -> None:
    detail = [
        {"loc": ["body", "image_urls", 0], "msg": "bad url", "type": "t"},
        {"loc": ["body"], "msg": "other", "type": "t"},
    ]
    mock.get(f"{REQUESTS}/r1").respond(422, json={"detail": detail})
    with pytest.raises(ValidationError, match=r"^HTTP 422: image_urls\.0: bad url \(and 1 more\)$"):
        fal.result("r1")


def test_a_success_that_is_not_json_is_unexpected(fal: FalClient, mock: respx.MockRouter) -> None:
    from falfake.client import UnexpectedResponse

    mock.get(f"{REQUESTS}/r1").mock(return_value=httpx.Response(200, text="<html>"))
    with pytest.raises(UnexpectedResponse, match="not JSON"):
        fal.result("r1")

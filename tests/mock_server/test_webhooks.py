"""Webhook bodies, targets and the retry schedule."""

from __future__ import annotations

import pytest

from falfake.errors import BadRequest, ClientCancelled, InvalidInput
from falfake.settings import WebhookSettings
from falfake.webhooks.payloads import (
    checked_target,
    failure_body,
    success_body,
)


def test_success_body_is_serialised_exactly_as_fal_does() -> None:
    output = {
        "video": {
            "url": "u",
            "content_type": "video/mp4",
            "file_name": "output.mp4",
            "file_size": None,
        }
    }
    assert success_body("r1", output) == (
        b'{"error": null, "gateway_request_id": "r1", "payload": {"video": {"content_type":'
        b' "video/mp4", "file_name": "output.mp4", "file_size": null, "url": "u"}},'
        b' "request_id": "r1", "status": "OK"}'
    )


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        pytest.param(
            InvalidInput([{"loc": ["body", "prompt"], "msg": "m\\u00e9", "type": "t"}]),
            b'{"error": "Invalid status code: 422", "gateway_request_id": "r1", "payload":'
            b' {"detail": [{"loc": ["body", "prompt"], "msg": "m\\\\u00e9", "type": "t"}]},'
            b' "request_id": "r1", "status": "ERROR"}',
            id="422",
        ),
        pytest.param(
            ClientCancelled("r1"),
            b'{"error": "Invalid status code: 499", "gateway_request_id": "r1", "payload":'
            b' {"detail": "Request cancelled by the client.", "error_type": "client_cancelled"},'
            b' "request_id": "r1", "status": "ERROR"}',
            id="499",
        ),
    ],
)
def test_failure_body(failure: InvalidInput | ClientCancelled, expected: bytes) -> None:
    assert failure_body("r1", failure) == expected


def test_non_ascii_is_escaped() -> None:
    body = failure_body("r1", InvalidInput([{"msg": "café"}]))
    assert body.isascii()
    assert b"caf\\u00e9" in body


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "https://localhost/hook?x=1",
        "http://[::1]:8080/hook",
        "http://127.5.6.7/hook",
    ],
)
def test_loopback_targets_are_allowed(url: str) -> None:
    assert checked_target(url, WebhookSettings()) == url


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "ftp://127.0.0.1/hook",
        "http:///nohost",
        "http://127.0.0.1:port/hook",
        "http://example.com/hook",
        "http://10.0.0.5/hook",
        "http://localhost.evil.com/hook",
        "http://[::1/hook",
        "http://[zz]/hook",
    ],
)
def test_other_targets_are_refused(url: str) -> None:
    with pytest.raises(BadRequest):
        checked_target(url, WebhookSettings())


def test_other_hosts_need_an_explicit_allow() -> None:
    allowed = WebhookSettings(allowed_hosts=frozenset({"hooks.internal"}))
    assert checked_target("https://hooks.internal/x", allowed) == "https://hooks.internal/x"
    assert checked_target("https://a.b/x", WebhookSettings(allow_any_host=True)) == "https://a.b/x"


def test_ten_retries_over_about_two_hours_scaled_by_the_time_scale() -> None:
    delays = [WebhookSettings().delay(n) for n in range(1, 11)]
    assert delays[0] == 7.0
    assert sum(delays) == pytest.approx(7161.0)
    assert WebhookSettings(time_scale=0.001).delay(10) == pytest.approx(3.584)

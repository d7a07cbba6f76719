"""What is retried (and how long the client waits), and what is not: PROTOCOL.md §15.3."""

from __future__ import annotations

import httpx
import pytest
import respx

from falfake.client import (
    ApiError,
    AuthenticationError,
    FalClient,
    RateLimited,
    RetryPolicy,
    ServerError,
    StartTimeout,
    TransportError,
)
from tests.client.conftest import INPUT, REQUESTS, SUBMIT, queued

NGINX_503 = httpx.Response(503, text="<html><center>nginx</center></html>")


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(httpx.Response(429, json={"detail": "Too many requests"}), id="429"),
        pytest.param(httpx.Response(408, text="timeout"), id="408"),
        pytest.param(httpx.Response(409, text="conflict"), id="409"),
        pytest.param(NGINX_503, id="ingress-503"),
        pytest.param(httpx.Response(502, text="nginx bad gateway"), id="ingress-502"),
        pytest.param(httpx.ConnectError("refused"), id="connection-refused"),
        pytest.param(httpx.ReadTimeout("slow"), id="read-timeout"),
    ],
)
def test_retried_then_succeeds(
    fal: FalClient, mock: respx.MockRouter, first: httpx.Response | Exception
) -> None:
    route = mock.post(SUBMIT).mock(side_effect=[first, httpx.Response(200, json=queued())])
    assert fal.submit(INPUT).request_id == "r1"
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("response", "error"),
    [
        pytest.param(
            httpx.Response(500, json={"detail": "boom", "error_type": "runner_server_error"}),
            ServerError,
            id="500",
        ),
        pytest.param(
            httpx.Response(
                503,
                json={"detail": "busy", "error_type": "runner_scheduling_failure"},
                headers={"x-fal-request-id": "r1"},
            ),
            ServerError,
            id="fal-503-with-request-id",
        ),
        pytest.param(
            httpx.Response(
                504,
                text="nginx",
                headers={"X-Fal-Request-Timeout-Type": "user"},
            ),
            StartTimeout,
            id="user-start-timeout",
        ),
        pytest.param(
            httpx.Response(401, json={"detail": "No user found"}), AuthenticationError, id="401"
        ),
        pytest.param(httpx.Response(400, json={"detail": "bad"}), ApiError, id="400"),
        pytest.param(httpx.Response(404, json={"detail": "Not Found"}), ApiError, id="404"),
    ],
)
def test_not_retried(
    fal: FalClient, mock: respx.MockRouter, response: httpx.Response, error: type[ApiError]
) -> None:
    route = mock.post(SUBMIT).mock(side_effect=[response, httpx.Response(200, json=queued())])
    with pytest.raises(error):
        fal.submit(INPUT)
    assert route.call_count == 1


def test_timeouts_are_not_retried_when_a_start_timeout_was_sent(
    fal: FalClient, mock: respx.MockRouter
) -> None:
    route = mock.post(SUBMIT).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransportError):
        fal.submit(INPUT, request_timeout=5)
    assert route.call_count == 1


def test_retry_after_is_honoured(
    fal: FalClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    limited = httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "7"})
    mock.get(f"{REQUESTS}/r1/status").mock(
        side_effect=[limited, httpx.Response(202, json=queued())]
    )
    fal.status("r1")
    assert sleeps == [7.0]


def test_giving_up_raises_the_last_answer(mock: respx.MockRouter, sleeps: list[float]) -> None:
    fal = FalClient("k", retry=RetryPolicy(max_attempts=3), sleep=sleeps.append)
    route = mock.post(SUBMIT).respond(
        429, json={"detail": "Too many requests", "error_type": "rate_limited"}
    )
    with pytest.raises(RateLimited) as caught:
        fal.submit(INPUT)
    assert route.call_count == 3
    assert len(sleeps) == 2
    assert caught.value.error_type == "rate_limited"


def test_connection_failures_end_in_a_transport_error(
    mock: respx.MockRouter, sleeps: list[float]
) -> None:
    fal = FalClient("k", retry=RetryPolicy(max_attempts=4), sleep=sleeps.append)
    mock.post(SUBMIT).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransportError, match="refused"):
        fal.submit(INPUT)
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [(1, 0.5, 0.1), (2, 0.0, 0.1), (3, 0.99, 0.596), (20, 0.5, 30.0)],
)
def test_backoff_doubles_with_jitter_and_a_cap(
    attempt: int, jitter: float, expected: float
) -> None:
    delay = RetryPolicy().delay(attempt, random_value=lambda: jitter)
    assert delay == pytest.approx(expected)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("1000", 60.0),
        ("Sat, 25 Jul 2026 17:20:10 GMT", 10.0),
        ("Sat, 25 Jul 2026 17:19:00 GMT", 0.0),
        ("soon", 0.1),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(header: str, expected: float) -> None:
    delay = RetryPolicy().delay(1, header, random_value=lambda: 0.5, now=lambda: 1_785_000_000.0)
    assert delay == pytest.approx(expected)

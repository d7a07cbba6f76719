"""The token endpoint and realtime sessions over a real WebSocket, against a real fake."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import msgpack
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from falfake import ManualClock
from falfake.runtime.tls import CertificateAuthority
from tests.conftest import KEY, REAL_TIME, eventually, png, running_fake

REALTIME = "/run/fal-ai/fast-lcm-diffusion/image-to-image/realtime"


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def base_url(authority: CertificateAuthority, clock: ManualClock) -> Iterator[str]:
    quick = dataclasses.replace(REAL_TIME, realtime_idle_seconds=0.5)
    with running_fake(quick, authority, clock=clock) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


def opened(
    client: httpx.Client, path: str, headers: dict[str, str] | None = None
) -> ClientConnection:
    url = str(client.base_url).replace("http://", "ws://").rstrip("/") + path
    # proxy=None: a proxy another test left in the environment must not take the loopback call.
    return connect(url, additional_headers=headers, open_timeout=10, close_timeout=5, proxy=None)


def refusal(
    client: httpx.Client, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    with pytest.raises(InvalidStatus) as refused:
        opened(client, path, headers)
    response = refused.value.response
    return response.status_code, json.loads(response.body or b"null")


def token(client: httpx.Client, apps: list[str], seconds: int = 120) -> str:
    reply = client.post(
        "/rest/tokens/", json={"allowed_apps": apps, "token_expiration": seconds}, headers=KEY
    )
    assert reply.status_code == 201
    value: str = reply.json()
    return value


def test_the_token_endpoint_answers_a_bare_json_string(client: httpx.Client) -> None:
    reply = client.post("/rest/tokens/", json={"allowed_apps": ["any-llm"]}, headers=KEY)
    assert reply.status_code == 201
    assert reply.headers["content-type"] == "application/json"
    assert isinstance(reply.json(), str)


def test_the_token_endpoint_wants_the_key(client: httpx.Client) -> None:
    assert client.post("/rest/tokens/", json={"allowed_apps": ["x"]}).status_code == 401


def test_a_bad_token_request_is_422(client: httpx.Client) -> None:
    reply = client.post("/rest/tokens/", json={"allowed_apps": "x"}, headers=KEY)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "allowed_apps"]


def test_each_input_gets_its_result_then_its_timing(client: httpx.Client) -> None:
    url = f"{REALTIME}?fal_jwt_token={token(client, ['fast-lcm-diffusion'])}"
    with opened(client, url) as socket:
        socket.send(
            msgpack.packb(
                {"prompt": "a cat", "image_bytes": png(size=(32, 24)), "request_id": "r1"}
            )
        )
        output = msgpack.unpackb(socket.recv())
        timing = json.loads(socket.recv())
    assert output["request_id"] == "r1"
    assert [(i["width"], i["height"], i["content"][:2]) for i in output["images"]] == [
        (32, 24, b"\xff\xd8")
    ]
    assert timing == {"type": "x-fal-message", "action": "timings", "timing": timing["timing"]}


def test_the_key_opens_a_session_too(client: httpx.Client) -> None:
    with opened(client, REALTIME, KEY) as socket:
        socket.send(msgpack.packb({"prompt": "a cat"}))
        assert "images" in msgpack.unpackb(socket.recv())


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        pytest.param("", "Missing authorization header", id="no-key-or-token"),
        pytest.param("?fal_jwt_token=nope", "Invalid token", id="bad-token"),
    ],
)
def test_an_upgrade_without_a_valid_token_is_refused_with_401(
    client: httpx.Client, query: str, detail: str
) -> None:
    assert refusal(client, f"{REALTIME}{query}") == (401, {"detail": detail})


def test_an_expired_token_is_refused(client: httpx.Client, clock: ManualClock) -> None:
    value = token(client, ["fast-lcm-diffusion"], seconds=5)
    clock.advance(6)
    assert refusal(client, f"{REALTIME}?fal_jwt_token={value}") == (
        401,
        {"detail": "Token expired"},
    )


@pytest.mark.parametrize("value", ["0", "61", "x", "-1"])
def test_max_buffering_out_of_range_is_refused_with_422(client: httpx.Client, value: str) -> None:
    assert refusal(client, f"{REALTIME}?max_buffering={value}", KEY)[0] == 422


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        pytest.param("hello", "not text", id="text-frame"),
        pytest.param(b"\xc1", "not msgpack", id="malformed"),
        pytest.param(msgpack.packb([1]), "must be a map", id="not-a-map"),
        pytest.param(msgpack.packb({"strength": 9}), "strength", id="bad-field"),
    ],
)
def test_a_bad_frame_is_an_x_fal_error_and_the_session_goes_on(
    client: httpx.Client, frame: str | bytes, reason: str
) -> None:
    with opened(client, REALTIME, KEY) as socket:
        socket.send(frame)
        error = json.loads(socket.recv())
        socket.send(msgpack.packb({"prompt": "a cat"}))
        after = msgpack.unpackb(socket.recv())
    assert (error["type"], error["error"]) == ("x-fal-error", "INVALID_INPUT")
    assert reason in error["reason"]
    assert "images" in after


def test_an_idle_session_ends_with_fals_timeout_and_close_1000(client: httpx.Client) -> None:
    with opened(client, REALTIME, KEY) as socket:
        error = json.loads(socket.recv())
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv()
    assert error == {
        "type": "x-fal-error",
        "error": "TIMEOUT",
        "reason": "no inputs, reconnect when needed!",
    }
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1000


def test_an_endpoint_without_realtime_has_no_socket(client: httpx.Client) -> None:
    assert refusal(client, "/run/fal-ai/flux/dev/realtime", KEY)[0] == 403


def test_max_buffering_keeps_only_the_newest_inputs_while_busy(client: httpx.Client) -> None:
    with opened(client, f"{REALTIME}?max_buffering=1", KEY) as socket:
        for n in range(20):
            socket.send(msgpack.packb({"prompt": "a cat", "request_id": n}))
        answered = []
        while 19 not in answered:
            frame = socket.recv(timeout=10)
            if isinstance(frame, bytes):
                answered.append(msgpack.unpackb(frame)["request_id"])
    assert answered == sorted(answered)
    assert len(answered) < 20  # inputs that came in while one rendered were dropped, oldest first


def test_an_oversized_frame_closes_with_1009_and_the_fake_serves_on(
    client: httpx.Client,
) -> None:
    with opened(client, REALTIME, KEY) as socket:
        socket.send(b"\x00" * (17 * 1024 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    with opened(client, REALTIME, KEY) as socket:
        socket.send(msgpack.packb({"prompt": "a cat"}))
        assert "images" in msgpack.unpackb(socket.recv(timeout=10))


def test_a_client_that_never_reads_does_not_stop_the_fake(client: httpx.Client) -> None:
    # websockets' own reader stops taking frames once 16 wait unread: the fake's sends block.
    with opened(client, REALTIME, KEY) as greedy:
        for _ in range(200):
            greedy.send(msgpack.packb({"prompt": "a cat", "image_size": "square_hd"}))
        with opened(client, REALTIME, KEY) as socket:
            socket.send(msgpack.packb({"prompt": "a dog"}))
            assert "images" in msgpack.unpackb(socket.recv(timeout=10))


def test_with_close_refusal_a_bad_token_is_accepted_then_closed_with_1008(
    authority: CertificateAuthority,
) -> None:
    closing = dataclasses.replace(REAL_TIME, realtime_refusal="close")
    with (
        running_fake(closing, authority) as url,
        httpx.Client(base_url=url) as client,
        opened(client, f"{REALTIME}?fal_jwt_token=nope") as socket,
        pytest.raises(ConnectionClosed) as closed,
    ):
        socket.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "Invalid token")


@pytest.mark.parametrize(
    "content",
    [pytest.param(b"{", id="malformed"), pytest.param(b"\xff\xfe", id="not-utf8")],
)
def test_a_token_request_that_is_not_json_is_fals_error_not_a_5xx(
    client: httpx.Client, content: bytes
) -> None:
    reply = client.post(
        "/rest/tokens/", content=content, headers={**KEY, "Content-Type": "application/json"}
    )
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["type"] == "json_invalid"


def test_sessions_and_refused_upgrades_are_journaled(client: httpx.Client) -> None:
    with opened(client, f"{REALTIME}?max_buffering=7", KEY) as socket:
        socket.send(msgpack.packb({"prompt": "a cat"}))
        socket.recv()
    refusal(client, f"{REALTIME}?fal_jwt_token=journaled")

    def journaled() -> list[dict[str, Any]]:
        found = client.get("/_falfake/requests", params={"path": "/realtime"}).json()
        marked = ("max_buffering=7", "fal_jwt_token=journaled")
        return [e for e in found["requests"] if e["query"] in marked]

    # A session is journaled as it ends, which the server sees a moment after the client.
    eventually(lambda: len(journaled()) == 2)
    entries = sorted(journaled(), key=lambda e: e["status"])
    assert [(e["method"], e["status"]) for e in entries] == [("GET", 101), ("GET", 401)]
    assert "authorization" not in entries[0]["headers"]

"""Hostile and malformed requests: fal's 4xx in JSON, never a 5xx, and the fake keeps serving."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from falfake import Auth, ManualClock, Settings, create_app
from tests.conftest import APP, BASE_URL, KEY, SUBMIT_URL, VALID_INPUT

pytestmark = pytest.mark.anyio

JSON = {"Content-Type": "application/json"}


async def result_detail(
    http: httpx.AsyncClient, clock: ManualClock, response: httpx.Response
) -> Any:
    """Body of the result of a submit that fal accepts and fails when the runner validates it."""
    assert response.status_code == 200, response.text
    clock.advance(3.0)
    result = await http.get(f"/queue/{APP}/requests/{response.json()['request_id']}")
    assert result.status_code == 422
    return result.json()["detail"]


@pytest.mark.parametrize(
    ("content", "headers", "expected"),
    [
        pytest.param(
            b'{"prompt": ',
            JSON,
            [
                {
                    "type": "json_invalid",
                    "loc": ["body", 11],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": "Expecting value"},
                }
            ],
            id="truncated-json",
        ),
        pytest.param(
            b"",
            JSON,
            [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}],
            id="empty-body",
        ),
        pytest.param(
            b"[1, 2]",
            JSON,
            [
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": [1, 2],
                }
            ],
            id="json-array",
        ),
        pytest.param(
            b'{"prompt": "x", "image_urls": ["a"]}',
            {"Content-Type": "text/plain"},
            [
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                    "input": '{"prompt": "x", "image_urls": ["a"]}',
                }
            ],
            id="wrong-content-type",
        ),
        pytest.param(
            b'{"prompt": "x <IMAGE_REF_1>", "image_urls": ["a"]}',
            JSON,
            [
                {
                    "type": "value_error",
                    "loc": ["body", "prompt"],
                    "msg": (
                        "Value error, <IMAGE_REF_1> refers to image 1, but image_urls has 1"
                        " image(s) (references start at 0)"
                    ),
                    "input": "x <IMAGE_REF_1>",
                    "ctx": {"error": {}},
                }
            ],
            id="image-ref-out-of-range",
        ),
        pytest.param(
            b'{"prompt": 5, "image_urls": "a", "duration": 5.5, "aspect_ratio": "1:1"}',
            JSON,
            [
                {
                    "type": "string_type",
                    "loc": ["body", "prompt"],
                    "msg": "Input should be a valid string",
                    "input": 5,
                },
                {
                    "type": "list_type",
                    "loc": ["body", "image_urls"],
                    "msg": "Input should be a valid list",
                    "input": "a",
                },
                {
                    "type": "enum",
                    "loc": ["body", "aspect_ratio"],
                    "msg": "Input should be '16:9' or '9:16'",
                    "input": "1:1",
                    "ctx": {"expected": "'16:9' or '9:16'"},
                },
                {
                    "type": "int_from_float",
                    "loc": ["body", "duration"],
                    "msg": "Input should be a valid integer, got a number with a fractional part",
                    "input": 5.5,
                },
            ],
            id="every-field-wrong",
        ),
    ],
)
async def test_malformed_bodies_fail_at_the_result_like_fastapi(
    http: httpx.AsyncClient,
    clock: ManualClock,
    content: bytes,
    headers: dict[str, str],
    expected: list[Any],
) -> None:
    response = await http.post(SUBMIT_URL, content=content, headers=headers)
    assert await result_detail(http, clock, response) == expected


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\xff\xfe\x00", id="not-text"),
        pytest.param(b"[" * 100_000, id="too-deep"),
        pytest.param(b'{"duration": ' + b"1" * 5000 + b"}", id="int-past-4300-digits"),
    ],
)
async def test_undecodable_bodies_fail_at_the_result_with_fastapis_400(
    http: httpx.AsyncClient, clock: ManualClock, content: bytes
) -> None:
    response = await http.post(SUBMIT_URL, content=content, headers=JSON)
    assert response.status_code == 200
    clock.advance(3.0)
    result = await http.get(f"/queue/{APP}/requests/{response.json()['request_id']}")
    assert result.status_code == 400
    assert result.json() == {"detail": "There was an error parsing the body"}


async def test_sync_run_answers_bad_input_with_422_at_once(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    before = clock.now()
    response = await http.post(
        "/run/google/gemini-omni-flash/reference-to-video", content=b"{", headers=JSON
    )
    assert response.status_code == 422
    assert response.headers["x-fal-billable-units"] == "0"
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert clock.now() == before


async def test_validation_at_submit_answers_422_at_once(clock: ManualClock) -> None:
    app = create_app(Settings(validate_at="submit"), clock=clock)
    async with client_for(app) as http:
        response = await http.post(SUBMIT_URL, json={"prompt": "x", "image_urls": []})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "too_short"


async def test_minimal_validation_detail_drops_input_and_ctx(clock: ManualClock) -> None:
    app = create_app(Settings(validate_at="submit", validation_detail="minimal"), clock=clock)
    async with client_for(app) as http:
        response = await http.post(
            SUBMIT_URL, json={"prompt": "x", "image_urls": ["a"], "duration": 2}
        )
    assert response.json() == {
        "detail": [
            {
                "type": "greater_than_equal",
                "loc": ["body", "duration"],
                "msg": "Input should be greater than or equal to 3",
            }
        ]
    }


def client_for(app: Starlette, headers: dict[str, str] = KEY) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=headers
    )


@pytest.mark.parametrize(
    ("headers", "params", "detail"),
    [
        pytest.param(
            {"X-Fal-Queue-Priority": "urgent"},
            {},
            "Invalid X-Fal-Queue-Priority 'urgent'; expected 'normal' or 'low'.",
            id="priority",
        ),
        pytest.param(
            {"X-Fal-Request-Timeout": "soon"},
            {},
            "Invalid X-Fal-Request-Timeout 'soon'; expected a number of seconds of at least 0.1.",
            id="timeout-text",
        ),
        pytest.param(
            {"X-Fal-Request-Timeout": "0.05"},
            {},
            "Invalid X-Fal-Request-Timeout '0.05'; expected a number of seconds of at least 0.1.",
            id="timeout-too-small",
        ),
        pytest.param(
            {"X-Fal-Request-Timeout": "nan"},
            {},
            "Invalid X-Fal-Request-Timeout 'nan'; expected a number of seconds of at least 0.1.",
            id="timeout-nan",
        ),
        pytest.param(
            {},
            {"fal_max_queue_length": "-1"},
            "Invalid fal_max_queue_length '-1'; expected a non-negative integer.",
            id="queue-length-negative",
        ),
        pytest.param(
            {},
            {"fal_max_queue_length": "²"},
            "Invalid fal_max_queue_length '²'; expected a non-negative integer.",
            id="queue-length-unicode-digit",
        ),
        pytest.param(
            {},
            {"fal_max_queue_length": "9" * 5000},
            f"Invalid fal_max_queue_length '{'9' * 5000}'; expected a non-negative integer.",
            id="queue-length-huge",
        ),
    ],
)
async def test_bad_submit_options_are_400_bad_request(
    http: httpx.AsyncClient, headers: dict[str, str], params: dict[str, str], detail: str
) -> None:
    response = await http.post(SUBMIT_URL, json=VALID_INPUT, headers=headers, params=params)
    assert response.status_code == 400
    assert response.headers["x-fal-error-type"] == "bad_request"
    assert response.json() == {"detail": detail, "error_type": "bad_request"}


async def test_bad_logs_flag_is_400(http: httpx.AsyncClient) -> None:
    request_id = (await http.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    response = await http.get(f"/queue/{APP}/requests/{request_id}/status", params={"logs": "yes"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid value for 'logs': 'yes'; expected 1, 0, true or false.",
        "error_type": "bad_request",
    }


async def test_body_over_the_limit_is_413(clock: ManualClock) -> None:
    app = create_app(Settings(max_body_bytes=1000), clock=clock)
    async with client_for(app) as http:
        response = await http.post(SUBMIT_URL, content=b"x" * 1001, headers=JSON)
        assert response.status_code == 413
        assert response.json() == {"detail": "Request body is larger than 1000 bytes."}
        assert (await http.post(SUBMIT_URL, json=VALID_INPUT)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        pytest.param("GET", "/nowhere", 404, {"detail": "Not Found"}, id="unknown-path"),
        pytest.param(
            "POST",
            f"/queue/{APP}/requests/x/nothing",
            404,
            {"detail": "Not Found"},
            id="unknown-path-of-a-served-app",
        ),
        pytest.param("GET", SUBMIT_URL, 405, {"detail": "Method Not Allowed"}, id="get-on-submit"),
        pytest.param(
            "DELETE",
            f"/queue/{APP}/requests/x",
            405,
            {"detail": "Method Not Allowed"},
            id="delete-result",
        ),
        pytest.param(
            "POST",
            f"/queue/{APP}/requests/x/cancel",
            405,
            {"detail": "Method Not Allowed"},
            id="post-cancel",
        ),
        pytest.param(
            "GET", "/files/b/none/output.mp4", 404, {"detail": "File not found"}, id="unknown-file"
        ),
    ],
)
async def test_routing_errors_are_json(
    http: httpx.AsyncClient, method: str, path: str, status: int, body: dict[str, str]
) -> None:
    response = await http.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == body


@pytest.mark.parametrize(
    ("auth", "header", "status", "detail"),
    [
        pytest.param(Auth(), None, 401, "Missing authorization header", id="missing"),
        pytest.param(
            Auth(),
            "Bearer abc",
            401,
            "Invalid Key Authorization header format. Expected '<key_id>:<key_secret>'.",
            id="wrong-scheme",
        ),
        pytest.param(
            Auth(),
            "Key ",
            401,
            "Invalid Key Authorization header format. Expected '<key_id>:<key_secret>'.",
            id="empty-key",
        ),
        pytest.param(
            Auth(keys=frozenset({"id:secret"})),
            "Key nocolon",
            401,
            "Invalid Key Authorization header format. Expected '<key_id>:<key_secret>'.",
            id="strict-malformed",
        ),
        pytest.param(
            Auth(keys=frozenset({"id:secret"})),
            "Key id:other",
            401,
            "No user found for Key ID and Secret",
            id="strict-unknown",
        ),
        pytest.param(
            Auth(keys=frozenset({"id:secret"}), locked_keys=frozenset({"id:locked"})),
            "Key id:locked",
            403,
            "User is locked. Reason: Exhausted balance. Top up your balance at"
            " fal.ai/dashboard/billing",
            id="locked",
        ),
    ],
)
async def test_auth_failures_on_queue_and_run(
    clock: ManualClock, auth: Auth, header: str | None, status: int, detail: str
) -> None:
    headers = {} if header is None else {"Authorization": header}
    async with client_for(create_app(Settings(auth=auth), clock=clock), headers) as http:
        for path in [SUBMIT_URL, "/run/google/gemini-omni-flash/reference-to-video"]:
            response = await http.post(path, json=VALID_INPUT)
            assert response.status_code == status
            assert response.json() == {"detail": detail}
        status_response = await http.get(f"/queue/{APP}/requests/x/status")
        assert status_response.status_code == status


async def test_strict_mode_accepts_a_listed_key(clock: ManualClock) -> None:
    app = create_app(Settings(auth=Auth(keys=frozenset({"id:secret"}))), clock=clock)
    async with client_for(app, {"Authorization": "Key id:secret"}) as http:
        assert (await http.post(SUBMIT_URL, json=VALID_INPUT)).status_code == 200


async def test_missing_key_can_be_allowed(clock: ManualClock) -> None:
    app = create_app(Settings(auth=Auth(allow_missing=True)), clock=clock)
    async with client_for(app, {}) as http:
        assert (await http.post(SUBMIT_URL, json=VALID_INPUT)).status_code == 200


async def test_files_need_no_key(http: httpx.AsyncClient, clock: ManualClock) -> None:
    request_id = (await http.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    clock.advance(3.0)
    url = (await http.get(f"/queue/{APP}/requests/{request_id}")).json()["video"]["url"]
    assert (await http.get(url, headers={"Authorization": ""})).status_code == 200


@pytest.mark.parametrize("host", ["[", "a b", "exa mple.com:80", "host:99999999"])
async def test_invalid_host_header_is_400(http: httpx.AsyncClient, host: str) -> None:
    response = await http.post(SUBMIT_URL, json=VALID_INPUT, headers={"Host": host})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid Host header", "error_type": "bad_request"}


async def test_json_content_type_on_a_bodiless_get_is_fine(http: httpx.AsyncClient) -> None:
    request_id = (await http.post(SUBMIT_URL, json=VALID_INPUT)).json()["request_id"]
    response = await http.get(f"/queue/{APP}/requests/{request_id}/status", headers=JSON)
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            b'{"prompt": "x", "image_urls": ["a"], "duration": NaN}',
            [
                {
                    "type": "finite_number",
                    "loc": ["body", "duration"],
                    "msg": "Input should be a finite number",
                    "input": None,
                }
            ],
            id="nan",
        ),
        pytest.param(
            b'{"prompt": "x", "duration": -Infinity}',
            [
                {
                    "type": "missing",
                    "loc": ["body", "image_urls"],
                    "msg": "Field required",
                    "input": {"prompt": "x", "duration": None},
                },
                {
                    "type": "finite_number",
                    "loc": ["body", "duration"],
                    "msg": "Input should be a finite number",
                    "input": None,
                },
            ],
            id="infinity-echoed-in-missing",
        ),
        pytest.param(
            b'{"prompt": "x", "image_urls": ["a"], "duration": ' + b"9" * 4000 + b"}",
            [
                {
                    "type": "less_than_equal",
                    "loc": ["body", "duration"],
                    "msg": "Input should be less than or equal to 10",
                    "input": int("9" * 4000),
                    "ctx": {"le": 10},
                }
            ],
            id="huge-int",
        ),
        pytest.param(
            b'{"prompt": "\\u0000\\ud800 \xf0\x9f\x90\x88", "image_urls": ["a"], "duration": true}',
            [
                {
                    "type": "greater_than_equal",
                    "loc": ["body", "duration"],
                    "msg": "Input should be greater than or equal to 3",
                    "input": True,
                    "ctx": {"ge": 3},
                }
            ],
            id="odd-unicode-and-bool",
        ),
    ],
)
async def test_json_that_python_accepts_but_json_cannot_echo_still_gets_422(
    http: httpx.AsyncClient, clock: ManualClock, content: bytes, expected: list[Any]
) -> None:
    response = await http.post(SUBMIT_URL, content=content, headers=JSON)
    assert await result_detail(http, clock, response) == expected


async def test_streamed_body_over_the_limit_is_413_without_content_length(
    clock: ManualClock,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 100

    app = create_app(Settings(max_body_bytes=1000), clock=clock)
    async with client_for(app) as http:
        response = await http.post(SUBMIT_URL, content=chunks(), headers=JSON)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"prompt": "\\ud800"}', id="surrogate-echoed-in-missing"),
        pytest.param(
            b'{"prompt": "<IMAGE_REF_\\udfff>", "image_urls": ["a"]}', id="surrogate-in-tag"
        ),
    ],
)
async def test_lone_surrogates_echoed_in_a_422_are_escaped(
    clock: ManualClock, content: bytes
) -> None:
    app = create_app(Settings(validate_at="submit"), clock=clock)
    async with client_for(app) as http:
        response = await http.post(SUBMIT_URL, content=content, headers=JSON)
    assert response.status_code == 422
    assert response.content.isascii()


@pytest.mark.parametrize(
    "request_id", ["%E7%8C%AB", "%ED%A0%80", "%00", "..%2F..%2Fetc", "x" * 5000]
)
async def test_odd_request_ids_are_404(http: httpx.AsyncClient, request_id: str) -> None:
    for method, suffix in [("GET", "/status"), ("GET", ""), ("GET", "/status/stream")]:
        response = await http.request(method, f"/queue/{APP}/requests/{request_id}{suffix}")
        assert response.status_code == 404
    assert (await http.put(f"/queue/{APP}/requests/{request_id}/cancel")).status_code == 404


async def test_an_image_ref_with_thousands_of_digits_is_a_malformed_tag(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    prompt = "<IMAGE_REF_" + "9" * 5000 + ">"
    response = await http.post(SUBMIT_URL, json={"prompt": prompt, "image_urls": ["a"]})
    (entry,) = await result_detail(http, clock, response)
    assert entry["type"] == "value_error"
    assert entry["msg"].startswith("Value error, malformed image reference")


async def test_accepted_unknown_tags_of_any_length_still_render(clock: ManualClock) -> None:
    from falfake.contracts import InputLimits

    settings = Settings(limits=InputLimits(image_refs="accept"), video_width=64, video_height=36)
    app = create_app(settings, clock=clock)
    async with client_for(app) as http:
        prompt = "x" * 200_000 + "<IMAGE_REF_" + "9" * 5000 + "> <IMAGE_REF_7>"
        body = {"prompt": prompt, "image_urls": ["https://example.com/a.png"], "duration": 3}
        request_id = (await http.post(SUBMIT_URL, json=body)).json()["request_id"]
        clock.advance(3.0)
        assert (await http.get(f"/queue/{APP}/requests/{request_id}")).status_code == 200


async def test_a_client_that_disconnects_mid_body_gets_no_traceback(app: Starlette) -> None:
    messages: Iterator[dict[str, Any]] = iter(
        [
            {"type": "http.request", "body": b'{"prompt"', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": SUBMIT_URL,
        "raw_path": SUBMIT_URL.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", b"Key k")],
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "http_version": "1.1",
        "root_path": "",
    }
    await app(scope, receive, send)  # type: ignore[arg-type]  # a hand-written ASGI exchange
    assert sent[0]["status"] == 400


UNKNOWN_APP = (
    'Application "other-model" not found (falfake serves the endpoints `falfake endpoints` lists;'
    " to fake another, pass its fal OpenAPI document with --endpoint FILE)"
)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/queue/google/other-model"),
        ("GET", "/queue/google/other-model/requests/x/status"),
        ("PUT", "/queue/google/other-model/requests/x/cancel"),
        ("POST", "/run/google/other-model/v2"),
    ],
)
async def test_an_unknown_endpoint_is_fals_unknown_application_with_a_hint(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await http.request(method, path, json={"prompt": "x"})
    assert response.status_code == 404
    assert response.json() == {"detail": UNKNOWN_APP}


async def test_a_stream_answers_a_malformed_body_with_422_before_any_event(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    before = clock.now()
    response = await http.post("/run/fal-ai/any-llm/stream", content=b"{", headers=JSON)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert clock.now() == before


async def test_a_stream_body_over_the_limit_is_413(clock: ManualClock) -> None:
    app = create_app(Settings(max_body_bytes=1000), clock=clock)
    async with client_for(app) as http:
        response = await http.post(
            "/run/fal-ai/any-llm/stream", json={"prompt": "x" * 2000}, headers=JSON
        )
    assert response.status_code == 413


def test_streams_nobody_reads_do_not_stop_the_fake(server_url: str) -> None:
    port = int(server_url.rsplit(":", 1)[1])
    body = json.dumps({"prompt": "a fox", "image_size": "square_hd"}).encode()
    head = (
        "POST /run/fal-ai/flux/schnell/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Key k\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
    try:
        for sock in silent:
            sock.sendall(head + body)  # and never read the events
        with httpx.Client(base_url=server_url, headers=KEY, timeout=30) as client:
            reply = client.post("/run/fal-ai/any-llm/stream", json={"prompt": "x"})
        assert reply.status_code == 200
        assert reply.text.endswith('"partial":false}\n\n')
    finally:
        for sock in silent:
            sock.close()

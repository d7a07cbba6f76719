"""`FalClient` against recorded fal answers: every method, its requests and its parsing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from falfake.client import (
    ApiError,
    Completed,
    FalClient,
    InProgress,
    LogEntry,
    Queued,
    Status,
    SubscribeTimeout,
    UnexpectedResponse,
    ValidationError,
)
from falfake.client import operations as operations_module
from tests.client.conftest import INPUT, OUTPUT, REQUESTS, RUN, SUBMIT, cdn_token, queued

LOG = {"message": "step", "level": "INFO", "source": "USER", "timestamp": "2026-08-01T10:30:01"}


def in_progress(logs: list[dict[str, str]]) -> dict[str, Any]:
    return {**queued(), "status": "IN_PROGRESS", "logs": logs}


def completed(**extra: Any) -> dict[str, Any]:
    body = {**queued(), "status": "COMPLETED", "metrics": {"inference_time": 1.5}, **extra}
    del body["queue_position"]
    return body


def test_submit_sends_the_input_with_fals_headers_and_options(
    fal: FalClient, mock: respx.MockRouter
) -> None:
    route = mock.post(SUBMIT).respond(200, json=queued())
    submitted = fal.submit(
        INPUT, webhook_url="https://example.com/hook?x=1", priority="low", request_timeout=30
    )
    assert submitted.request_id == "r1"
    assert submitted.status_url == f"{REQUESTS}/r1/status"
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Key key-id:secret"
    assert sent.headers["x-fal-queue-priority"] == "low"
    assert sent.headers["x-fal-request-timeout"] == "30"
    assert sent.url.params["fal_webhook"] == "https://example.com/hook?x=1"
    assert json.loads(sent.content) == INPUT


def test_submit_of_a_typed_input_sends_every_field(fal: FalClient, mock: respx.MockRouter) -> None:
    from falfake.client import ReferenceToVideoInput

    route = mock.post(SUBMIT).respond(200, json=queued())
    fal.submit(ReferenceToVideoInput.model_validate({**INPUT, "duration": "5"}))
    assert json.loads(route.calls.last.request.content) == {
        **INPUT,
        "aspect_ratio": "16:9",
        "duration": 5,
    }


def test_bad_input_fails_before_anything_is_sent(fal: FalClient, mock: respx.MockRouter) -> None:
    route = mock.post(SUBMIT).respond(200, json=queued())
    with pytest.raises(ValidationError) as caught:
        fal.submit({"prompt": "<IMAGE_REF_1>", "image_urls": ["u"], "duration": 11})
    assert route.call_count == 0
    assert caught.value.status_code == 422
    assert [(e["type"], e["loc"]) for e in caught.value.field_errors] == [
        ("less_than_equal", ["body", "duration"])
    ]


def test_submit_reply_without_fals_keys_is_unexpected(
    fal: FalClient, mock: respx.MockRouter
) -> None:
    mock.post(SUBMIT).respond(200, json={"request_id": "r1"})
    with pytest.raises(UnexpectedResponse, match="response_url"):
        fal.submit(INPUT)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(queued(), Queued("r1", 0), id="queued"),
        pytest.param(
            in_progress([LOG]),
            InProgress("r1", [LogEntry("step", "INFO", "USER", "2026-08-01T10:30:01")]),
            id="in-progress",
        ),
        pytest.param(
            completed(error="boom", error_type="runner_server_error"),
            Completed("r1", [], {"inference_time": 1.5}, "boom", "runner_server_error"),
            id="completed-with-error",
        ),
    ],
)
def test_status_is_typed(
    fal: FalClient, mock: respx.MockRouter, body: dict[str, Any], expected: Status
) -> None:
    route = mock.get(f"{REQUESTS}/r1/status").respond(202, json=body)
    assert fal.status("r1", logs=True) == expected
    assert route.calls.last.request.url.params["logs"] == "1"


def test_unknown_status_is_unexpected(fal: FalClient, mock: respx.MockRouter) -> None:
    mock.get(f"{REQUESTS}/r1/status").respond(200, json={**queued(), "status": "FAILED"})
    with pytest.raises(UnexpectedResponse, match="FAILED"):
        fal.status("r1")


def test_stream_status_yields_each_event_until_completed(
    fal: FalClient, mock: respx.MockRouter
) -> None:
    frames = [
        b'data: {"status":"IN_QUEUE","request_id":"r1","queue_position":1}\n',
        b'\n: keep-alive\n\ndata: {"status":"IN_PROG',
        b'RESS","request_id":"r1","logs":[]}\r\n\r\n',
        b'data: {"status":"COMPLETED","request_id":"r1","logs":[]}\n\n',
        b'data: {"status":"IN_QUEUE","request_id":"never read"}\n\n',
    ]
    route = mock.get(f"{REQUESTS}/r1/status/stream").respond(
        200,
        headers={"content-type": "text/event-stream"},
        stream=httpx.ByteStream(b"".join(frames)),
    )
    statuses = list(fal.stream_status("r1", logs=True))
    assert statuses == [Queued("r1", 1), InProgress("r1"), Completed("r1")]
    assert route.calls.last.request.headers["accept"] == "text/event-stream"


def test_stream_status_error_is_raised(fal: FalClient, mock: respx.MockRouter) -> None:
    mock.get(f"{REQUESTS}/r1/status/stream").respond(404, json={"detail": "Request not found"})
    with pytest.raises(ApiError, match="Request not found") as caught:
        list(fal.stream_status("r1"))
    assert caught.value.status_code == 404


def test_result_is_the_typed_output(fal: FalClient, mock: respx.MockRouter) -> None:
    mock.get(f"{REQUESTS}/r1").respond(200, json=OUTPUT)
    assert fal.result("r1").model_dump() == OUTPUT


def test_result_that_is_not_the_schema_is_unexpected(
    fal: FalClient, mock: respx.MockRouter
) -> None:
    mock.get(f"{REQUESTS}/r1").respond(200, json={"image": {}})
    with pytest.raises(UnexpectedResponse):
        fal.result("r1")


def test_cancel_puts_to_the_cancel_url(fal: FalClient, mock: respx.MockRouter) -> None:
    route = mock.put(f"{REQUESTS}/r1/cancel").respond(
        202, json={"status": "CANCELLATION_REQUESTED"}
    )
    fal.cancel("r1")
    assert route.call_count == 1


def test_run_returns_the_output(fal: FalClient, mock: respx.MockRouter) -> None:
    route = mock.post(RUN).respond(200, json=OUTPUT)
    assert fal.run(INPUT, request_timeout=5).video.file_size == 4404019
    assert route.calls.last.request.headers["x-fal-request-timeout"] == "5"


def test_subscribe_polls_with_callbacks_and_returns_the_output(
    fal: FalClient, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    second = {**LOG, "message": "second"}
    mock.post(SUBMIT).respond(200, json=queued())
    mock.get(f"{REQUESTS}/r1/status").mock(
        side_effect=[
            httpx.Response(202, json=queued()),
            httpx.Response(202, json=in_progress([LOG])),
            httpx.Response(202, json=in_progress([LOG, second])),
            httpx.Response(200, json=completed(logs=[LOG, second])),
        ]
    )
    mock.get(f"{REQUESTS}/r1").respond(200, json=OUTPUT)
    updates: list[Status] = []
    lines: list[str] = []
    output = fal.subscribe(
        INPUT,
        on_queue_update=updates.append,
        on_log=lambda line: lines.append(line.message),
        poll_interval=0.25,
    )
    assert output.model_dump() == OUTPUT
    assert [type(u).__name__ for u in updates] == [
        "Queued",
        "InProgress",
        "InProgress",
        "Completed",
    ]
    assert lines == ["step", "second"]
    assert sleeps == [0.25, 0.25, 0.25]


def test_subscribe_surfaces_a_failed_request_as_the_results_error(
    fal: FalClient, mock: respx.MockRouter
) -> None:
    mock.post(SUBMIT).respond(200, json=queued())
    mock.get(f"{REQUESTS}/r1/status").respond(200, json=completed(error="x", error_type="y"))
    detail = [{"loc": ["body", "prompt"], "msg": "flagged", "type": "content_policy_violation"}]
    mock.get(f"{REQUESTS}/r1").respond(422, json={"detail": detail})
    from falfake.client import ContentPolicyViolation

    with pytest.raises(ContentPolicyViolation) as caught:
        fal.subscribe(INPUT)
    assert caught.value.field_errors == detail


def test_subscribe_timeout_cancels_and_raises(
    fal: FalClient, mock: respx.MockRouter, now: list[float]
) -> None:
    mock.post(SUBMIT).respond(200, json=queued())

    def still_queued(request: httpx.Request) -> httpx.Response:
        now.append(now[-1] + 4)
        return httpx.Response(202, json=queued())

    mock.get(f"{REQUESTS}/r1/status").mock(side_effect=still_queued)
    cancel = mock.put(f"{REQUESTS}/r1/cancel").respond(
        202, json={"status": "CANCELLATION_REQUESTED"}
    )
    with pytest.raises(SubscribeTimeout) as caught:
        fal.subscribe(INPUT, timeout=10)
    assert caught.value.request_id == "r1"
    assert cancel.call_count == 1


def test_subscribe_by_streaming_reads_the_sse_stream(
    fal: FalClient, mock: respx.MockRouter
) -> None:
    events = [
        {"status": "IN_QUEUE", "request_id": "r1", "queue_position": 0},
        {"status": "IN_PROGRESS", "request_id": "r1", "logs": [LOG]},
        {"status": "COMPLETED", "request_id": "r1", "logs": [{**LOG, "message": "done"}]},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode()
    mock.post(SUBMIT).respond(200, json=queued())
    mock.get(f"{REQUESTS}/r1/status/stream").respond(200, stream=httpx.ByteStream(body))
    mock.get(f"{REQUESTS}/r1").respond(200, json=OUTPUT)
    lines: list[str] = []
    output = fal.subscribe(INPUT, mode="streaming", on_log=lambda line: lines.append(line.message))
    assert output.video.url == OUTPUT["video"]["url"]
    assert lines == ["step", "done"]


def test_upload_uses_the_cdn_token_and_reuses_it(fal: FalClient, mock: respx.MockRouter) -> None:
    token = mock.post("https://rest.fal.ai/storage/auth/token").respond(
        200,
        json={
            "token": "t1",
            "token_type": "Bearer",
            "base_url": "https://v3.fal.media",
            "expires_at": "2027-01-01T00:00:00+00:00",
        },
    )
    upload = mock.post("https://v3.fal.media/files/upload").respond(
        200, json={"access_url": "https://v3b.fal.media/files/b/x/cat.png"}
    )
    assert fal.upload(b"\x89PNG\r\n\x1a\n...", file_name="cat.png") == (
        "https://v3b.fal.media/files/b/x/cat.png"
    )
    fal.upload(b"again")
    assert token.call_count == 1
    assert token.calls.last.request.url.params["storage_type"] == "fal-cdn-v3"
    first = upload.calls[0].request
    assert first.headers["authorization"] == "Bearer t1"
    assert first.headers["content-type"] == "image/png"
    assert first.headers["x-fal-file-name"] == "cat.png"


def test_an_expiring_token_is_renewed(
    fal: FalClient, mock: respx.MockRouter, now: list[float]
) -> None:
    token = mock.post("https://rest.fal.ai/storage/auth/token").respond(
        200,
        json={
            "token": "t",
            "base_url": "https://v3.fal.media",
            "expires_at": "2026-07-25T17:30:00+00:00",
        },
    )
    mock.post("https://v3.fal.media/files/upload").respond(200, json={"access_url": "u"})
    fal.upload(b"a")
    now.append(now[-1] + 600 - 59)  # within a minute of the expiry
    fal.upload(b"b")
    assert token.call_count == 2


def test_large_uploads_go_in_parts(
    fal: FalClient, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(operations_module, "MULTIPART_THRESHOLD", 10)
    monkeypatch.setattr(operations_module, "PART_SIZE", 8)
    cdn_token(mock)
    mock.post("https://v3.fal.media/files/upload/multipart").respond(
        200, json={"access_url": "https://v3b.fal.media/files/b/x/big.bin", "uploadId": "u1"}
    )
    part = mock.put(url__regex=r"https://v3b\.fal\.media/files/b/x/big\.bin/multipart/u1/\d+").mock(
        side_effect=lambda request: httpx.Response(
            200, headers={"ETag": f'"e{request.url.path[-1]}"'}
        )
    )
    complete = mock.post("https://v3b.fal.media/files/b/x/big.bin/multipart/u1/complete").respond(
        200, json={}
    )
    assert fal.upload(bytes(20), file_name="big.bin") == "https://v3b.fal.media/files/b/x/big.bin"
    assert [len(call.request.content) for call in part.calls] == [8, 8, 4]
    assert json.loads(complete.calls.last.request.content) == {
        "parts": [
            {"partNumber": 1, "etag": '"e1"'},
            {"partNumber": 2, "etag": '"e2"'},
            {"partNumber": 3, "etag": '"e3"'},
        ]
    }


def test_local_images_in_the_input_are_uploaded_first(
    fal: FalClient, mock: respx.MockRouter, tmp_path: Any
) -> None:
    cdn_token(mock)
    mock.post("https://v3.fal.media/files/upload").mock(
        side_effect=lambda request: httpx.Response(
            200, json={"access_url": f"https://cdn/{request.headers['x-fal-file-name']}"}
        )
    )
    submit = mock.post(SUBMIT).respond(200, json=queued())
    path = tmp_path / "dog.jpg"
    path.write_bytes(b"\xff\xd8\xff jpeg")
    fal.submit(
        {"prompt": "p", "image_urls": [b"\x89PNG\r\n\x1a\n", path, str(path), "https://x/y.png"]}
    )
    assert json.loads(submit.calls.last.request.content)["image_urls"] == [
        "https://cdn/upload.png",
        "https://cdn/dog.jpg",
        "https://cdn/dog.jpg",
        "https://x/y.png",
    ]


def test_any_endpoint_sends_its_input_unvalidated_to_its_own_paths(
    fal: FalClient, mock: respx.MockRouter
) -> None:
    flux = fal.endpoint("fal-ai/flux/dev")
    submit = mock.post("https://queue.fal.run/fal-ai/flux/dev").respond(200, json=queued())
    result = mock.get("https://queue.fal.run/fal-ai/flux/requests/r1").respond(
        200, json={"images": [], "seed": 1}
    )
    # The client does not know this endpoint's limits: fal's 422 is the judge, not a local one.
    submitted = flux.submit({"prompt": "x", "num_images": 99})
    assert json.loads(submit.calls.last.request.content) == {"prompt": "x", "num_images": 99}
    assert flux.result(submitted.request_id) == {"images": [], "seed": 1}
    assert result.called


def test_any_endpoints_output_must_be_a_json_object(fal: FalClient, mock: respx.MockRouter) -> None:
    mock.post("https://fal.run/fal-ai/flux/dev").respond(200, json=["not", "an", "object"])
    with pytest.raises(UnexpectedResponse, match="not a JSON object"):
        fal.endpoint("fal-ai/flux/dev").run({"prompt": "x"})


def test_only_file_fields_of_any_endpoint_are_uploaded(
    fal: FalClient, mock: respx.MockRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("notes.txt").write_text("a file whose name is also the prompt")
    cdn_token(mock)
    upload = mock.post("https://v3.fal.media/files/upload").respond(
        200, json={"access_url": "https://v3.fal.media/files/b/up.txt"}
    )
    run = mock.post("https://fal.run/fal-ai/any/model").respond(200, json={})

    fal.endpoint("fal-ai/any/model").run(
        {
            "prompt": "notes.txt",
            "audio_url": Path("notes.txt"),
            "image_urls": [b"\x89PNG\r\n\x1a\n"],
        }
    )

    assert json.loads(run.calls.last.request.content) == {
        "prompt": "notes.txt",
        "audio_url": "https://v3.fal.media/files/b/up.txt",
        "image_urls": ["https://v3.fal.media/files/b/up.txt"],
    }
    assert upload.call_count == 2

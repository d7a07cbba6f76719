"""The unmodified Python `fal-client` against a real fake, its hosts pointed at it in process.

PROTOCOL.md §17.2 documents this as the in-process alternative to the proxy (issue #4): the module's
URL constants are replaced before the first request, and nothing else about the client changes.
"""

from __future__ import annotations

import fal_client
import fal_client.client
import pytest

from tests.conftest import ENDPOINT, VALID_INPUT


@pytest.fixture(autouse=True)
def pointed_at_the_fake(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAL_KEY", "test-key")
    monkeypatch.setattr(fal_client.client, "RUN_URL_FORMAT", f"{server_url}/run/")
    monkeypatch.setattr(fal_client.client, "QUEUE_URL_FORMAT", f"{server_url}/queue/")


def test_subscribe_reports_every_status_and_returns_the_output() -> None:
    updates: list[fal_client.Status] = []
    result = fal_client.subscribe(
        ENDPOINT, VALID_INPUT, with_logs=True, on_queue_update=updates.append
    )
    assert result["video"]["content_type"] == "video/mp4"
    kinds = {type(update) for update in updates}
    assert kinds == {fal_client.Queued, fal_client.InProgress, fal_client.Completed}
    logged = [
        log["message"]
        for u in updates
        if isinstance(u, fal_client.InProgress)
        for log in u.logs or []
    ]
    assert "Validating input" in logged


def test_handle_status_result_and_events() -> None:
    handle = fal_client.submit(ENDPOINT, VALID_INPUT)
    assert isinstance(handle.status(), fal_client.Queued)
    events = list(handle.iter_events(with_logs=True))
    assert isinstance(events[-1], fal_client.Completed)
    assert events[-1].metrics["inference_time"] > 0
    assert handle.get()["video"]["file_name"] == "output.mp4"
    by_id = fal_client.result(ENDPOINT, handle.request_id)
    assert by_id == handle.get()


def test_cancel_stops_the_request_and_the_result_raises_499() -> None:
    handle = fal_client.submit(ENDPOINT, VALID_INPUT)
    handle.cancel()
    status = handle.status()
    assert isinstance(status, fal_client.Completed)
    assert status.error_type == "client_cancelled"
    with pytest.raises(fal_client.client.FalClientHTTPError) as caught:
        handle.get()
    assert caught.value.status_code == 499


def test_validation_error_surfaces_as_the_clients_http_error_with_the_detail_list() -> None:
    handle = fal_client.submit(ENDPOINT, {"prompt": "no images"})
    with pytest.raises(fal_client.client.FalClientHTTPError) as caught:
        handle.get()
    assert caught.value.status_code == 422
    # fal-client types `message` as str, but stores the JSON `detail` as is: a list for 422s.
    assert caught.value.message == [  # type: ignore[comparison-overlap]
        {
            "type": "missing",
            "loc": ["body", "image_urls"],
            "msg": "Field required",
            "input": {"prompt": "no images"},
        }
    ]


def test_sync_run_returns_the_output() -> None:
    assert fal_client.run(ENDPOINT, VALID_INPUT)["video"]["content_type"] == "video/mp4"

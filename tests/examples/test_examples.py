# Testing your app with falfake: the README's four examples, run as they are written there.
from pathlib import Path

import fal_client
import httpx
import pytest

from falfake.pytest_plugin import Falfake

ENDPOINT = "google/gemini-omni-flash/reference-to-video"
INPUT = {"prompt": "A cat <IMAGE_REF_0> plays", "image_urls": ["https://example.com/cat.png"]}


def test_happy_path(falfake: Falfake) -> None:
    result = fal_client.subscribe(ENDPOINT, INPUT)
    assert result["video"]["content_type"] == "video/mp4"
    assert len(falfake.requests(method="POST", path="/reference-to-video")) == 1


def test_retry_on_429(falfake: Falfake) -> None:
    falfake.scenario(operation="submit", status=429, error_type="rate_limited", times=2)
    result = fal_client.subscribe(ENDPOINT, INPUT)  # fal-client retries 429s itself
    assert result["video"]["file_name"] == "output.mp4"
    assert [r.status for r in falfake.requests(method="POST")] == [429, 429, 200]


def test_content_policy_error(falfake: Falfake) -> None:
    falfake.scenario(operation="submit", content_policy=("prompt",))
    with pytest.raises(fal_client.client.FalClientHTTPError) as caught:
        fal_client.subscribe(ENDPOINT, INPUT)
    assert caught.value.status_code == 422
    assert "content_policy_violation" in str(caught.value.message)


def test_golden_output(falfake: Falfake, tmp_path: Path) -> None:
    golden = tmp_path / "golden.mp4"  # the clip your post-processing is tested against
    golden.write_bytes(b"golden video bytes")
    falfake.scenario(operation="submit", output_fields={"video": falfake.file(golden)})
    result = fal_client.subscribe(ENDPOINT, INPUT)
    assert result["video"]["file_name"] == "golden.mp4"
    assert httpx.get(result["video"]["url"]).content == b"golden video bytes"

"""Property tests over every built-in endpoint (the seed's document is made from its models, so
it is held to them here too): whatever a field holds, the answer is
fal-shaped and never a 5xx, and an accepted request's output satisfies the output schema."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from falfake import ManualClock, Settings, Timing, create_app
from falfake.contracts.schema_models import input_model
from falfake.contracts.wire import ValidationErrorBody
from falfake.endpoints.registry import served
from tests.conftest import BASE_URL, KEY

PROPERTY = settings(
    max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
FAST = Settings(timing=Timing(0.0, 0.0, 4), video_width=64, video_height=36)
DOCUMENTS = served().documents
REQUIRED: dict[str, dict[str, Any]] = {
    "google/gemini-omni-flash/reference-to-video": {
        "prompt": "a <IMAGE_REF_0>",
        "image_urls": ["https://example.com/a.png"],
    },
    "fal-ai/flux/dev": {"prompt": "a cube", "image_size": "square"},
    "fal-ai/flux/schnell": {"prompt": "a cube", "image_size": "square"},
    "fal-ai/any-llm": {"prompt": "What is a cube?"},
    "fal-ai/kling-video/v2.1/standard/image-to-video": {
        "prompt": "go",
        "image_url": "https://example.com/a.png",
    },
    "fal-ai/elevenlabs/tts/multilingual-v2": {"text": "hi"},
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def exchange(endpoint_id: str, body: Any) -> tuple[int, Any]:
    async def run() -> tuple[int, Any]:
        clock = ManualClock()
        app = create_app(FAST, clock=clock)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
            submitted = await http.post(
                f"/queue/{endpoint_id}",
                content=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            assert submitted.status_code == 200, submitted.text
            clock.advance(1.0)
            result = await http.get(submitted.json()["response_url"])
            return result.status_code, result.json()

    return asyncio.run(run())


def test_every_built_in_endpoint_is_covered() -> None:
    assert set(REQUIRED) == set(DOCUMENTS)


@pytest.mark.parametrize("endpoint_id", sorted(REQUIRED))
@PROPERTY
@given(data=st.data())
def test_any_field_value_gets_a_fal_shaped_answer_and_a_valid_output(
    endpoint_id: str, data: st.DataObject
) -> None:
    document = DOCUMENTS[endpoint_id]
    names = sorted(document.input_schema["properties"])
    changed = data.draw(st.dictionaries(st.sampled_from(names), json_values, max_size=3))
    status, body = exchange(endpoint_id, {**REQUIRED[endpoint_id], **changed})
    assert status in (200, 422)
    if status == 422:
        ValidationErrorBody.model_validate(body)
    else:
        input_model(document.output_schema, "Output").model_validate(body)

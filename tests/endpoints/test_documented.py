"""Every built-in endpoint, and a user's document, through the queue: fal's 422s from the schema,
defaults applied, and outputs whose media are real files of what was asked."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from falfake import ManualClock, Settings, create_app
from falfake.contracts import contract_path
from falfake.endpoints.generated import CHARACTERS_PER_SECOND
from tests.conftest import BASE_URL, KEY
from tests.endpoints.conftest import ENDPOINT_ID

pytestmark = pytest.mark.anyio


async def finished(
    http: httpx.AsyncClient, clock: ManualClock, endpoint_id: str, body: object
) -> httpx.Response:
    submitted = await http.post(f"/queue/{endpoint_id}", json=body)
    assert submitted.status_code == 200, submitted.text
    clock.advance(60)
    return await http.get(submitted.json()["response_url"])


async def image_at(http: httpx.AsyncClient, url: str) -> Image.Image:
    response = await http.get(url)
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content))


async def test_flux_dev_makes_the_images_asked_for(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    body = {"prompt": "a red cube", "num_images": 2, "image_size": "portrait_4_3", "seed": 7}
    result = await finished(http, clock, "fal-ai/flux/dev", {**body, "output_format": "png"})

    assert result.status_code == 200
    output = result.json()
    assert list(output) == ["images", "timings", "seed", "has_nsfw_concepts", "prompt"]
    assert (output["seed"], output["prompt"], output["has_nsfw_concepts"]) == (
        7,
        "a red cube",
        [False, False],
    )
    assert output["timings"] == {"inference": 1.4}
    assert result.headers["x-fal-billable-units"] == "2"
    for image in output["images"]:
        assert list(image) == ["url", "width", "height", "content_type"]
        assert (image["width"], image["height"], image["content_type"]) == (768, 1024, "image/png")
        picture = await image_at(http, image["url"])
        assert (picture.format, picture.size) == ("PNG", (768, 1024))
    assert output["images"][0]["url"] != output["images"][1]["url"]


async def test_flux_defaults_apply_and_a_seed_is_drawn_when_none_is_given(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    output = (await finished(http, clock, "fal-ai/flux/schnell", {"prompt": "x"})).json()
    (image,) = output["images"]
    assert (image["width"], image["height"], image["content_type"]) == (1024, 768, "image/jpeg")
    assert (await image_at(http, image["url"])).format == "JPEG"
    assert isinstance(output["seed"], int)
    assert output["timings"] == {"inference": 0.2}  # schnell's default of 4 steps


async def test_a_custom_image_size_is_honoured(http: httpx.AsyncClient, clock: ManualClock) -> None:
    body = {"prompt": "x", "image_size": {"width": 300, "height": "200"}}
    (image,) = (await finished(http, clock, "fal-ai/flux/dev", body)).json()["images"]
    assert (await image_at(http, image["url"])).size == (300, 200)


@pytest.mark.parametrize(
    ("endpoint_id", "body", "entry"),
    [
        (
            "fal-ai/flux/dev",
            {},
            {"type": "missing", "loc": ["body", "prompt"], "msg": "Field required"},
        ),
        (
            "fal-ai/flux/dev",
            {"prompt": "x", "num_inference_steps": 51},
            {
                "type": "less_than_equal",
                "loc": ["body", "num_inference_steps"],
                "msg": "Input should be less than or equal to 50",
            },
        ),
        (
            "fal-ai/flux/schnell",
            {"prompt": "x", "num_inference_steps": 13},
            {
                "type": "less_than_equal",
                "loc": ["body", "num_inference_steps"],
                "msg": "Input should be less than or equal to 12",
            },
        ),
        (
            "fal-ai/flux/dev",
            {"prompt": "x", "num_images": "many"},
            {
                "type": "int_parsing",
                "loc": ["body", "num_images"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
            },
        ),
        (
            "fal-ai/flux/dev",
            {"prompt": "x", "output_format": "gif"},
            {
                "type": "literal_error",
                "loc": ["body", "output_format"],
                "msg": "Input should be 'jpeg' or 'png'",
            },
        ),
        (
            "fal-ai/flux/dev",
            {"prompt": "x", "guidance_scale": 0.5},
            {
                "type": "greater_than_equal",
                "loc": ["body", "guidance_scale"],
                "msg": "Input should be greater than or equal to 1",
            },
        ),
        (
            "fal-ai/kling-video/v2.1/standard/image-to-video",
            {"prompt": "x" * 2501, "image_url": "https://example.com/a.png"},
            {
                "type": "string_too_long",
                "loc": ["body", "prompt"],
                "msg": "String should have at most 2500 characters",
            },
        ),
        (
            "fal-ai/elevenlabs/tts/multilingual-v2",
            {"text": ""},
            {
                "type": "string_too_short",
                "loc": ["body", "text"],
                "msg": "String should have at least 1 character",
            },
        ),
    ],
)
async def test_bad_input_gets_pydantics_entry_on_the_result(
    http: httpx.AsyncClient,
    clock: ManualClock,
    endpoint_id: str,
    body: dict[str, Any],
    entry: dict[str, Any],
) -> None:
    result = await finished(http, clock, endpoint_id, body)
    assert result.status_code == 422
    (got,) = result.json()["detail"]
    assert {key: got[key] for key in entry} == entry


async def test_image_to_video_renders_the_asked_duration(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    body = {"prompt": "go", "image_url": "https://example.com/a.png", "duration": "10"}
    result = await finished(http, clock, "fal-ai/kling-video/v2.1/standard/image-to-video", body)
    video = result.json()["video"]
    assert list(video) == ["url", "content_type", "file_name", "file_size"]
    data = (await http.get(video["url"])).content
    assert len(data) == video["file_size"]
    with av.open(io.BytesIO(data), "r") as container:
        assert container.duration is not None
        assert round(container.duration / av.time_base) == 10
    assert result.headers["x-fal-billable-units"] == "10"


async def test_a_bad_reference_image_fails_at_its_single_field(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    body = {"prompt": "go", "image_url": "data:image/png;base64,AAAA"}
    result = await finished(http, clock, "fal-ai/kling-video/v2.1/standard/image-to-video", body)
    assert result.status_code == 422
    assert result.json()["detail"][0]["loc"] == ["body", "image_url"]


async def test_speech_lasts_as_long_as_the_text_takes(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    text = "Hello there, this is falfake speaking slowly."
    result = await finished(http, clock, "fal-ai/elevenlabs/tts/multilingual-v2", {"text": text})
    audio = result.json()["audio"]
    assert (audio["content_type"], audio["file_name"]) == ("audio/mpeg", "output.mp3")
    data = (await http.get(audio["url"])).content
    with av.open(io.BytesIO(data), "r") as container:
        assert container.duration is not None
        seconds = container.duration / av.time_base
    assert seconds == pytest.approx(len(text) / CHARACTERS_PER_SECOND, abs=0.1)


async def test_the_safety_trigger_blanks_flux_images_and_says_so(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    submitted = await http.post(
        "/queue/fal-ai/flux/dev",
        json={"prompt": "a cat", "output_format": "png"},
        headers={"X-Falfake-Safety": "output"},
    )
    clock.advance(60)
    output = (await http.get(submitted.json()["response_url"])).json()
    assert output["has_nsfw_concepts"] == [True]
    picture = await image_at(http, output["images"][0]["url"])
    assert picture.convert("RGB").getextrema() == ((0, 0), (0, 0), (0, 0))


async def test_flux_in_sync_mode_returns_its_images_as_data_uris(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    body = {"prompt": "a cube", "image_size": "square", "sync_mode": True, "num_images": 2}
    output = (await finished(http, clock, "fal-ai/flux/dev", body)).json()
    for image in output["images"]:
        head, _, data = image["url"].partition(",")
        assert head == "data:image/jpeg;base64"
        picture = Image.open(io.BytesIO(base64.b64decode(data)))
        assert (picture.format, picture.size) == ("JPEG", (512, 512))


async def test_flux_with_its_safety_checker_off_is_not_blanked(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    body = {"prompt": "falfake:unsafe-output", "enable_safety_checker": False}
    output = (await finished(http, clock, "fal-ai/flux/dev", body)).json()
    assert output["has_nsfw_concepts"] == [False]
    picture = await image_at(http, output["images"][0]["url"])
    assert picture.convert("RGB").getextrema() != ((0, 0), (0, 0), (0, 0))


async def test_flagged_images_can_fail_the_request_instead(
    settings: Settings, clock: ManualClock
) -> None:
    app = create_app(dataclasses.replace(settings, flagged_images="reject"), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
        body = {"prompt": "a cat falfake:unsafe-output"}
        result = await finished(http, clock, "fal-ai/flux/schnell", body)
    assert result.status_code == 422
    (entry,) = result.json()["detail"]
    assert (entry["type"], entry["loc"]) == ("content_policy_violation", ["body"])


async def test_an_unsafe_tts_text_is_a_content_policy_422_at_its_field(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    body = {"text": "say falfake:unsafe-prompt"}
    result = await finished(http, clock, "fal-ai/elevenlabs/tts/multilingual-v2", body)
    assert result.status_code == 422
    (entry,) = result.json()["detail"]
    assert (entry["type"], entry["loc"]) == ("content_policy_violation", ["body", "text"])


async def test_a_users_document_is_faked_with_validation_and_real_media(
    sketch_file: Path, settings: Settings, clock: ManualClock
) -> None:
    app = create_app(dataclasses.replace(settings, endpoint_files=(sketch_file,)), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
        bad = await finished(
            http, clock, ENDPOINT_ID, {"prompt": "x", "strokes": 0, "style": "oil"}
        )
        assert [(e["type"], e["loc"]) for e in bad.json()["detail"]] == [
            ("greater_than", ["body", "strokes"]),
            ("enum", ["body", "style"]),
        ]
        result = await finished(http, clock, ENDPOINT_ID, {"prompt": "a fox", "palette": [1, "x"]})
        output = result.json()
        assert (output["strokes"], output["note"]) == (3, "drawn")
        assert "extra" not in output
        assert list(output["image"]) == ["url", "width", "height", "content_type", "file_size"]
        picture = await image_at(http, output["image"]["url"])
        assert (picture.format, picture.size) == ("WEBP", (1024, 1024))


async def test_the_openapi_document_describes_every_endpoint_served(
    http: httpx.AsyncClient, sketch_file: Path, settings: Settings
) -> None:
    built_in = (await http.get("/openapi.json")).json()
    assert built_in == json.loads(contract_path("openapi.json").read_text())
    assert "/queue/fal-ai/flux/schnell" in built_in["paths"]

    app = create_app(dataclasses.replace(settings, endpoint_files=(sketch_file,)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as own:
        document = (await own.get("/openapi.json")).json()
    submit = document["paths"][f"/queue/{ENDPOINT_ID}"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AcmeSketchV1Input"
    }
    assert f"/run/{ENDPOINT_ID}" in document["paths"]
    style = document["components"]["schemas"]["AcmeSketchV1Input"]["properties"]["style"]
    assert style == {"title": "Style", "type": "string", "enum": ["ink", "chalk"], "default": "ink"}


async def test_a_document_in_openapi_3_0s_dialect_validates_as_fal_would(
    sketch: dict[str, Any], tmp_path: Path, settings: Settings, clock: ManualClock
) -> None:
    properties = sketch["components"]["schemas"]["SketchInput"]["properties"]
    properties["strokes"] = {"type": "integer", "minimum": 0, "exclusiveMinimum": True}
    properties["seed"] = {"type": "integer", "nullable": True}
    path = tmp_path / "sketch-3.0.json"
    path.write_text(json.dumps(sketch))
    app = create_app(dataclasses.replace(settings, endpoint_files=(path,)), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
        bad = await finished(http, clock, ENDPOINT_ID, {"prompt": "x", "strokes": 0})
        good = await finished(http, clock, ENDPOINT_ID, {"prompt": "x", "strokes": 1, "seed": None})

    assert [(e["type"], e["ctx"]) for e in bad.json()["detail"]] == [("greater_than", {"gt": 0})]
    assert good.status_code == 200, good.text


async def test_an_image_larger_than_the_fake_renders_is_scaled_down_and_says_so(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    body = {"prompt": "x", "image_size": {"width": 14142, "height": 7071}}
    (image,) = (await finished(http, clock, "fal-ai/flux/dev", body)).json()["images"]
    assert (image["width"], image["height"]) == (5792, 2896)
    assert (await image_at(http, image["url"])).size == (5792, 2896)


async def test_a_lone_surrogate_in_the_prompt_is_drawn_not_a_5xx(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    submitted = await http.post(
        "/queue/fal-ai/flux/schnell",
        content=b'{"prompt": "a \\ud800 cat"}',
        headers={"Content-Type": "application/json"},
    )
    clock.advance(60)
    result = await http.get(submitted.json()["response_url"])
    assert result.status_code == 200
    assert (await image_at(http, result.json()["images"][0]["url"])).format == "JPEG"

"""The seed endpoint: how it orders reference images, and its output key for key."""

from __future__ import annotations

import json

import pytest

from falfake.contracts import File, ReferenceToVideoOutput
from falfake.endpoints.reference_to_video import in_prompt_order, video_output
from falfake.media.files import FileStore
from falfake.media.outputs import publish_output
from falfake.media.specs import ImageSource, VideoSpec
from falfake.media.work import Work
from falfake.settings import Retention

IMAGES = tuple(ImageSource(f"d{i}", f"image {i}", i) for i in range(3))


@pytest.mark.parametrize(
    ("prompt", "order"),
    [
        pytest.param("no tags", [0, 1, 2], id="list-order"),
        pytest.param("<IMAGE_REF_2> and <IMAGE_REF_0>", [2, 0, 1], id="named-first"),
        pytest.param("<IMAGE_REF_1> <IMAGE_REF_1> <IMAGE_REF_0>", [1, 0, 2], id="first-mention"),
        pytest.param("<IMAGE_REF_9> is ignored", [0, 1, 2], id="out-of-range"),
    ],
)
def test_images_follow_the_prompts_tags(prompt: str, order: list[int]) -> None:
    assert [image.index for image in in_prompt_order(prompt, IMAGES)] == order


@pytest.mark.anyio
async def test_the_output_is_what_the_output_model_dumps_key_for_key() -> None:
    files = FileStore(Retention(), lambda: 0.0)
    await files.put("b/0a9ea0cc/u66I5Q5EHikrGF39EEk8t_output.mp4", b"x" * 1234, "video/mp4")
    output = await publish_output(
        video_output(VideoSpec(64, 36, 3)),
        "b/0a9ea0cc/u66I5Q5EHikrGF39EEk8t",
        files,
        "http://127.0.0.1:8000",
        Work(),
    )

    url = "http://127.0.0.1:8000/files/b/0a9ea0cc/u66I5Q5EHikrGF39EEk8t_output.mp4"
    video = File(url=url, content_type="video/mp4", file_name="output.mp4", file_size=1234)
    expected = ReferenceToVideoOutput(video=video).model_dump(mode="json")
    assert json.dumps(output.body) == json.dumps(expected)
    assert output.billable_units == "3"

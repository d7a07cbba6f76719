"""A generation's files are rendered once, served at their URLs and written into its body."""

from __future__ import annotations

import pytest

from falfake.media.files import FileStore
from falfake.media.outputs import publish_output
from falfake.media.specs import Generation, ImageSpec, MediaSlot
from falfake.media.work import Work
from falfake.settings import Retention

pytestmark = pytest.mark.anyio
ROOT = "http://127.0.0.1:8000"


def pictures(count: int) -> Generation:
    return Generation(
        body={"images": [None] * count, "seed": 7},
        slots=tuple(
            MediaSlot(
                at=("images", n),
                spec=ImageSpec(32, 24, "png", "a cat", "r1", index=n),
                file_name=f"image_{n}.png",
                fields={"width": 32, "height": 24, "content_type": "image/png"},
                with_size=False,
            )
            for n in range(count)
        ),
        billable_units=str(count),
    )


@pytest.fixture
def files() -> FileStore:
    return FileStore(Retention(), lambda: 0.0)


async def test_each_file_is_served_and_named_in_the_body(files: FileStore) -> None:
    output = await publish_output(pictures(2), "b/req", files, ROOT, Work())

    assert output.body == {
        "images": [
            {
                "url": f"{ROOT}/files/b/req_image_{n}.png",
                "width": 32,
                "height": 24,
                "content_type": "image/png",
            }
            for n in range(2)
        ],
        "seed": 7,
    }
    assert output.billable_units == "2"
    for n in range(2):
        entry = await files.entry(f"b/req_image_{n}.png")
        assert entry is not None
        assert entry.content_type == "image/png"


async def test_the_stored_body_is_left_as_it_was(files: FileStore) -> None:
    generation = pictures(1)
    await publish_output(generation, "b/req", files, ROOT, Work())
    assert generation.body == {"images": [None], "seed": 7}


async def test_a_published_file_is_not_rendered_again(files: FileStore) -> None:
    await files.put("b/req_image_0.png", b"already", "image/png")
    output = await publish_output(pictures(1), "b/req", files, ROOT, Work())
    assert output.body["images"][0]["url"].endswith("b/req_image_0.png")
    entry = await files.entry("b/req_image_0.png")
    assert entry is not None
    assert entry.size == len(b"already")

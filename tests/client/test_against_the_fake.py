"""The client driving the fake as an application would: in process, and over a real port."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import av
import httpx
import pytest
from starlette.applications import Starlette

from falfake import ManualClock
from falfake.client import (
    AsyncFalClient,
    Completed,
    ContentPolicyViolation,
    FalClient,
    Hosts,
    InProgress,
    Queued,
    RequestCancelled,
    Status,
    SubscribeTimeout,
    ValidationError,
)
from tests.conftest import BASE_URL, png

pytestmark = pytest.mark.anyio

INPUT = {
    "prompt": "A cat <IMAGE_REF_0>",
    "image_urls": ["https://example.com/cat.png"],
    "duration": 3,
}
PNG = png()


@pytest.fixture
async def in_process(app: Starlette, clock: ManualClock) -> AsyncIterator[AsyncFalClient]:
    """The async client on the app itself; waiting moves the fake's clock instead of sleeping."""

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    hosts = Hosts.falfake(BASE_URL)
    async with AsyncFalClient(
        "test-key", hosts=hosts, http=http, sleep=sleep, clock=clock.now
    ) as c:
        yield c


@pytest.fixture
def over_the_network(server_url: str) -> Iterator[FalClient]:
    with FalClient("test-key", hosts=Hosts.falfake(server_url)) as client:
        yield client


async def test_subscribe_with_logs_in_process(in_process: AsyncFalClient) -> None:
    updates: list[Status] = []
    lines: list[str] = []
    output = await in_process.subscribe(
        INPUT,
        on_queue_update=updates.append,
        on_log=lambda line: lines.append(line.message),
        poll_interval=0.5,
    )
    assert output.video.content_type == "video/mp4"
    # One second queued and two running, polled every half second from the submit on.
    assert [type(u) for u in updates] == [Queued] * 2 + [InProgress] * 4 + [Completed]
    assert lines == [
        "Validating input",
        "Loading 1 reference image",
        "Generating 3 s of video at 16:9",
        "Encoding video",
        "Video generated",
    ]


async def test_subscribe_timeout_cancels_the_request_in_process(
    in_process: AsyncFalClient, app: Starlette
) -> None:
    with pytest.raises(SubscribeTimeout) as caught:
        await in_process.subscribe(INPUT, timeout=1.5, poll_interval=0.5)
    status = await in_process.status(caught.value.request_id)
    assert isinstance(status, Completed)
    assert status.error_type == "client_cancelled"


async def test_validation_error_from_the_server_in_process(
    clock: ManualClock, app: Starlette
) -> None:
    from falfake.contracts import InputLimits

    # A client with looser limits than the fake: the fake's 422 must arrive as the same exception.
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    async with AsyncFalClient(
        "k",
        hosts=Hosts.falfake(BASE_URL),
        http=http,
        sleep=sleep,
        limits=InputLimits(image_refs="accept"),
    ) as client:
        with pytest.raises(ValidationError) as caught:
            await client.subscribe({**INPUT, "prompt": "<IMAGE_REF_5>"})
    assert caught.value.field_errors[0]["loc"] == ["body", "prompt"]
    assert caught.value.request_id is not None


def test_upload_then_use_the_uploaded_url(over_the_network: FalClient, server_url: str) -> None:
    url = over_the_network.upload(PNG, file_name="ref.png")
    assert url.startswith(f"{server_url}/files/b/")
    assert httpx.get(url).content == PNG
    output = over_the_network.subscribe({**INPUT, "image_urls": [url]}, poll_interval=0.05)
    video = httpx.get(output.video.url).content
    with av.open(io.BytesIO(video), mode="r") as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_streaming_subscribe_over_the_network(over_the_network: FalClient) -> None:
    updates: list[Status] = []
    output = over_the_network.subscribe(INPUT, mode="streaming", on_queue_update=updates.append)
    assert output.video.file_size is not None
    assert isinstance(updates[-1], Completed)


def test_cancel_over_the_network(over_the_network: FalClient) -> None:
    submitted = over_the_network.submit(INPUT)
    over_the_network.cancel(submitted.request_id)
    with pytest.raises(RequestCancelled) as caught:
        over_the_network.result(submitted.request_id)
    assert caught.value.error_type == "client_cancelled"


def test_sync_run_over_the_network(over_the_network: FalClient) -> None:
    assert over_the_network.run(INPUT).video.file_name == "output.mp4"


async def test_content_policy_rejection_is_its_own_exception_in_process(
    in_process: AsyncFalClient,
) -> None:
    with pytest.raises(ContentPolicyViolation) as caught:
        await in_process.subscribe({**INPUT, "prompt": "A cat falfake:unsafe-prompt"})
    assert caught.value.status_code == 422
    assert caught.value.field_errors[0]["loc"] == ["body", "prompt"]


def test_flagged_output_is_a_content_policy_violation_over_the_network(
    over_the_network: FalClient,
) -> None:
    with pytest.raises(ContentPolicyViolation) as caught:
        over_the_network.run({**INPUT, "prompt": "falfake:unsafe-output"})
    assert caught.value.field_errors[0]["loc"] == ["body"]


async def test_any_endpoint_is_subscribed_to_by_id_and_returns_its_json(
    in_process: AsyncFalClient,
) -> None:
    flux = in_process.endpoint("fal-ai/flux/schnell")
    lines: list[str] = []
    output = await flux.subscribe(
        {"prompt": "a red cube", "image_size": "square", "seed": 3},
        on_log=lambda line: lines.append(line.message),
    )
    assert (output["seed"], output["has_nsfw_concepts"]) == (3, [False])
    (image,) = output["images"]
    assert (image["width"], image["height"], image["content_type"]) == (512, 512, "image/jpeg")
    assert lines


async def test_any_endpoints_bad_input_is_the_fakes_422_as_an_exception(
    in_process: AsyncFalClient,
) -> None:
    flux = in_process.endpoint("fal-ai/flux/dev")
    with pytest.raises(ValidationError) as caught:
        await flux.subscribe({"prompt": "a cube", "num_images": 9})
    ((entry_type, loc),) = [(e["type"], e["loc"]) for e in caught.value.field_errors]
    assert (entry_type, loc) == ("less_than_equal", ["body", "num_images"])


def test_any_endpoints_local_file_is_uploaded_before_the_run(
    over_the_network: FalClient, server_url: str, tmp_path: Path
) -> None:
    picture = tmp_path / "start.png"
    picture.write_bytes(PNG)
    kling = over_the_network.endpoint("fal-ai/kling-video/v2.1/standard/image-to-video")

    output = kling.run({"prompt": "go", "image_url": picture, "duration": "5"})

    video = httpx.get(output["video"]["url"]).content
    with av.open(io.BytesIO(video), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.duration is not None
        assert stream.time_base is not None
        assert float(stream.duration * stream.time_base) == pytest.approx(5.0, abs=0.2)
    (sent,) = [
        entry
        for entry in httpx.get(f"{server_url}/_falfake/requests").json()["requests"]
        if entry["path"] == "/run/fal-ai/kling-video/v2.1/standard/image-to-video"
    ]
    assert json.loads(sent["body"])["image_url"].startswith(f"{server_url}/files/b/")

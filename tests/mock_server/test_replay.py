"""Replay mode in process: sync runs and streams recorded through upstream mode, replayed from
the folder alone; misses, with and without `--on-miss simulate`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import httpx
import pytest

from falfake import Auth, ManualClock, create_app
from falfake.runtime.tls import CertificateAuthority
from falfake.settings import Replay, Secret, Upstream
from falfake.upstream.recordings import write
from tests.conftest import REAL_TIME, eventually, running_fake
from tests.mock_server.test_forward import APP_KEY, LOCAL, UPSTREAM_KEY, client_of

pytestmark = pytest.mark.anyio

RUN = "/run/fal-ai/flux/schnell"
FOX = {"prompt": "a fox", "image_size": "square", "seed": 7}


@pytest.fixture(scope="module")
def folder(
    authority: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, bytes]:
    """A sync run of FLUX recorded from a second falfake, and its image's bytes."""
    recorded = tmp_path_factory.mktemp("recorded")
    upstream = dataclasses.replace(REAL_TIME, auth=Auth(keys=frozenset({UPSTREAM_KEY})))
    with running_fake(upstream, authority) as upstream_url:
        forwarding = Upstream(upstream_url, Secret(UPSTREAM_KEY), record_dir=recorded)
        front = dataclasses.replace(REAL_TIME, upstream=forwarding)
        with running_fake(front, authority) as url:
            output = httpx.post(f"{url}{RUN}", json=FOX, headers=APP_KEY, timeout=30).json()
            image = httpx.get(output["images"][0]["url"]).content
            eventually(lambda: bool(list(recorded.glob("*/*.json"))))
    return recorded, image


def replaying(
    folder: Path, clock: ManualClock | None = None, **options: object
) -> httpx.AsyncClient:
    replay = Replay(folder, **options)  # type: ignore[arg-type]
    settings = dataclasses.replace(REAL_TIME, replay=replay)
    return client_of(create_app(settings, clock=clock or ManualClock()))


async def test_a_recorded_sync_run_replays_with_the_same_image(
    folder: tuple[Path, bytes],
) -> None:
    path, image = folder
    async with replaying(path) as client:
        output = (await client.post(RUN, json=FOX)).json()
        replayed = await client.get(output["images"][0]["url"])
    assert output["images"][0]["url"].startswith(f"{LOCAL}/files/")
    assert replayed.content == image
    assert (output["seed"], output["images"][0]["width"]) == (7, 512)


async def test_a_stream_of_the_same_input_ends_with_the_recorded_output(
    folder: tuple[Path, bytes],
) -> None:
    path, image = folder
    async with replaying(path) as client:
        streamed = await client.post(f"{RUN}/stream", json=FOX)
        events = [json.loads(line[6:]) for line in streamed.text.split("\n\n") if line]
        replayed = await client.get(events[-1]["images"][0]["url"])
    assert replayed.content == image


async def test_an_ignored_field_matches_whatever_its_value(folder: tuple[Path, bytes]) -> None:
    path, image = folder
    async with replaying(path, match_ignore=("seed",)) as client:
        output = (await client.post(RUN, json={**FOX, "seed": 8})).json()
        replayed = await client.get(output["images"][0]["url"])
    assert output["seed"] == 7  # the recorded output, whatever the seed asked
    assert replayed.content == image


async def test_a_miss_is_simulated_when_asked(folder: tuple[Path, bytes]) -> None:
    path, _ = folder
    async with replaying(path, on_miss="simulate") as client:
        simulated = await client.post(RUN, json={**FOX, "prompt": "a dog"})
    assert simulated.status_code == 200
    assert simulated.json()["prompt"] == "a dog"


async def test_a_miss_names_the_closest_recording_and_the_field(folder: tuple[Path, bytes]) -> None:
    path, _ = folder
    async with replaying(path) as client:
        missed = await client.post(RUN, json={**FOX, "seed": 8})
    assert missed.status_code == 404
    assert missed.json()["detail"].endswith("(it differs in: seed)")


async def test_a_body_that_is_not_json_gets_fals_422_not_a_miss(
    folder: tuple[Path, bytes],
) -> None:
    path, _ = folder
    async with replaying(path) as client:
        broken = await client.post(RUN, content=b"{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 422


async def test_a_lifecycle_that_ended_with_an_error_replays_to_the_same_error(
    tmp_path: Path,
) -> None:
    body = {"detail": "Upstream model overloaded", "error_type": "runner_scheduling_failure"}
    states = [
        {"after_seconds": 1.0, "status": "IN_PROGRESS", "queue_position": None, "logs": []},
        {"after_seconds": 3.0, "status": "COMPLETED", "queue_position": None,
         "logs": [{"message": "Out of capacity"}]},
    ]  # fmt: skip
    write(tmp_path, "fal-ai/flux/schnell", {"prompt": "a fox"},
          {"states": states, "result": {"status": 503, "body": body}},
          secret="k", version="1", now=0.0)  # fmt: skip
    async with replaying(tmp_path) as client:
        submitted = (
            await client.post("/queue/fal-ai/flux/schnell", json={"prompt": "a fox"})
        ).json()
        early = await client.get(submitted["response_url"])
        status = (await client.get(submitted["status_url"], params={"logs": 1})).json()
        for _ in range(10):  # the manual clock moves as the fake is polled
            if status["status"] == "COMPLETED":
                break
            client._transport.app.state.fake.clock.advance(1.0)  # type: ignore[attr-defined]
            status = (await client.get(submitted["status_url"], params={"logs": 1})).json()
        failed = await client.get(submitted["response_url"])
        ran = await client.post(RUN, json={"prompt": "a fox"})
    assert early.status_code == 400  # still in progress: the recorded run takes its time
    assert (status["status"], status["error"]) == ("COMPLETED", "Upstream model overloaded")
    assert [line["message"] for line in status["logs"]] == ["Out of capacity"]
    assert (failed.status_code, failed.json()) == (503, body)
    assert failed.headers["x-fal-error-type"] == "runner_scheduling_failure"
    assert (ran.status_code, ran.json()) == (503, body)


@pytest.mark.parametrize("speed", [1.0, 2.0])
async def test_queue_positions_come_back_as_recorded_at_the_recorded_pace(
    tmp_path: Path, speed: float
) -> None:
    queued = [
        {"after_seconds": t, "status": "IN_QUEUE", "queue_position": p, "logs": []}
        for t, p in ((0.1, 3), (1.0, 2), (2.0, 1), (3.0, 0))
    ]
    states = [
        *queued,
        {"after_seconds": 4.0, "status": "IN_PROGRESS", "queue_position": None, "logs": []},
        {"after_seconds": 6.0, "status": "COMPLETED", "queue_position": None, "logs": []},
    ]
    output = {"images": [], "timings": {}, "seed": 1, "has_nsfw_concepts": [], "prompt": "a"}
    write(tmp_path, "fal-ai/flux/schnell", {"prompt": "a"},
          {"states": states, "result": {"status": 200, "body": output}},
          secret="k", version="1", now=0.0)  # fmt: skip
    clock = ManualClock()
    start = clock.now()
    seen = []
    async with replaying(tmp_path, clock, speed=speed) as client:
        submitted = (await client.post("/queue/fal-ai/flux/schnell", json={"prompt": "a"})).json()
        seen.append(submitted["queue_position"])
        for moment in (1.5, 2.5, 3.5, 5.0):  # recorded seconds after the submit
            clock.set(start + moment / speed)
            status = (await client.get(submitted["status_url"])).json()
            seen.append((status["status"], status.get("queue_position")))
    assert seen == [
        3,
        ("IN_QUEUE", 2),
        ("IN_QUEUE", 1),
        ("IN_QUEUE", 0),
        ("IN_PROGRESS", None),
    ]


async def test_a_recording_whose_media_went_away_is_a_clear_404(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a.png").write_bytes(b"\x89PNG")
    output = {"images": [{"$file": "media/a.png", "$exact": True, "content_type": "image/png"}]}
    states = [{"after_seconds": 0.5, "status": "COMPLETED", "queue_position": None, "logs": []}]
    write(tmp_path, "fal-ai/flux/schnell", {"prompt": "a"},
          {"states": states, "result": {"status": 200, "body": output}},
          secret="k", version="1", now=0.0)  # fmt: skip
    async with replaying(tmp_path) as client:
        replayed = await client.post(RUN, json={"prompt": "a"})
        (tmp_path / "media" / "a.png").unlink()
        missed = await client.post(RUN, json={"prompt": "a"})
    assert replayed.status_code == 200
    assert missed.status_code == 404
    assert "lost a media file" in missed.json()["detail"]

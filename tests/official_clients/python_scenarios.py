"""The unmodified Python fal-client against falfake, configured only through the environment.

Run by tests/official_clients in a fresh process with the variables `python -m falfake env`
prints (or the FAL_RUN_HOST ones); prints one JSON object of each scenario's observations.
Usage: python python_scenarios.py <bad key> <scenario> [<scenario> ...]
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import fal_client
import httpx

ENDPOINT = "google/gemini-omni-flash/reference-to-video"
INPUT = {"prompt": "A cat <IMAGE_REF_0>", "image_urls": ["https://example.com/cat.png"]}
PNG = bytes(
    [
        137,
        80,
        78,
        71,
        13,
        10,
        26,
        10,
        0,
        0,
        0,
        13,
        73,
        72,
        68,
        82,
        0,
        0,
        0,
        16,
        0,
        0,
        0,
        16,
        8,
        2,
        0,
        0,
        0,
        144,
        145,
        104,
        54,
        0,
        0,
        0,
        25,
        73,
        68,
        65,
        84,
        120,
        156,
        99,
        188,
        35,
        39,
        199,
        64,
        10,
        96,
        34,
        73,
        245,
        168,
        134,
        81,
        13,
        67,
        74,
        3,
        0,
        140,
        75,
        1,
        56,
        193,
        233,
        238,
        225,
        0,
        0,
        0,
        0,
        73,
        69,
        78,
        68,
        174,
        66,
        96,
        130,
    ]
)  # a real 16x16 red PNG
BIG = b"\x07" + bytes(101 * 1024 * 1024) + b"\x09"


def failure(error: Exception) -> dict[str, Any]:
    return {
        "name": type(error).__name__,
        "status_code": getattr(error, "status_code", None),
        "message": getattr(error, "message", str(error)),
    }


def fetched(url: str) -> bytes:
    with httpx.Client(trust_env=True) as client:
        return client.get(url).content


def subscribe() -> dict[str, Any]:
    updates: list[dict[str, Any]] = []

    def record(update: fal_client.Status) -> None:
        logs = getattr(update, "logs", None)
        updates.append({"type": type(update).__name__, "logs": logs})

    result = fal_client.subscribe(ENDPOINT, INPUT, with_logs=True, on_queue_update=record)
    return {"result": result, "updates": updates}


def handle() -> dict[str, Any]:
    submitted = fal_client.submit(ENDPOINT, INPUT)
    first = submitted.status(with_logs=True)
    events = [type(event).__name__ for event in submitted.iter_events(with_logs=True)]
    return {
        "status_url": submitted.status_url,
        "first": type(first).__name__,
        "events": events,
        "result": submitted.get(),
        "by_id": fal_client.result(ENDPOINT, submitted.request_id),
        "status_by_id": type(fal_client.status(ENDPOINT, submitted.request_id)).__name__,
    }


def cancel() -> dict[str, Any]:
    submitted = fal_client.submit(ENDPOINT, INPUT)
    submitted.cancel()
    final = list(submitted.iter_events())[-1]
    try:
        submitted.get()
        outcome: Any = "no error"
    except fal_client.client.FalClientHTTPError as error:
        outcome = failure(error)
    error_type = getattr(final, "error_type", None)
    return {"final": type(final).__name__, "error_type": error_type, "result": outcome}


def upload_cdn() -> dict[str, Any]:
    url = fal_client.upload(PNG, "image/png", "ref.png")
    return {"url": url, "same_bytes": fetched(url) == PNG}


def upload_initiate() -> dict[str, Any]:
    url = fal_client.upload(PNG, "image/png", "ref.png", repository="fal")
    return {"url": url, "same_bytes": fetched(url) == PNG}


def upload_multipart() -> dict[str, Any]:
    url = fal_client.upload(BIG, "application/octet-stream", "big.bin")
    return {"url": url, "same_bytes": fetched(url) == BIG}


def uploaded_image_in_a_submit() -> dict[str, Any]:
    url = fal_client.upload(PNG, "image/png", "ref.png")
    return {"url": url, "result": fal_client.subscribe(ENDPOINT, {**INPUT, "image_urls": [url]})}


def uploaded_image_with_a_webhook() -> dict[str, Any]:
    """Upload, submit with a webhook (its URL from $WEBHOOK_URL), wait for the result."""
    url = fal_client.upload(PNG, "image/png", "ref.png")
    arguments = {**INPUT, "image_urls": [url]}
    handle = fal_client.submit(ENDPOINT, arguments, webhook_url=os.environ["WEBHOOK_URL"])
    return {"url": url, "request_id": handle.request_id, "result": handle.get()}


def validation_error() -> dict[str, Any]:
    try:
        fal_client.submit(ENDPOINT, {"prompt": "no images"}).get()
        return {"raised": None}
    except fal_client.client.FalClientHTTPError as error:
        return failure(error)


def auth_error() -> dict[str, Any]:
    try:
        fal_client.SyncClient(key=sys.argv[1]).run(ENDPOINT, INPUT)
        return {"raised": None}
    except fal_client.client.FalClientHTTPError as error:
        return failure(error)


def run() -> dict[str, Any]:
    result: dict[str, Any] = fal_client.run(ENDPOINT, INPUT)
    return result


def flux() -> dict[str, Any]:
    """FLUX dev through the client: logs, then images decodable at the asked size and format."""
    import io

    from PIL import Image

    updates: list[str] = []
    body = {"prompt": "a red cube", "image_size": "square", "output_format": "png", "num_images": 2}
    result = fal_client.subscribe(
        "fal-ai/flux/dev",
        body,
        with_logs=True,
        on_queue_update=lambda update: updates.append(type(update).__name__),
    )
    pictures = [Image.open(io.BytesIO(fetched(image["url"]))) for image in result["images"]]
    return {
        "result": result,
        "updates": updates,
        "pictures": [[picture.format, *picture.size] for picture in pictures],
    }


def flux_bounds() -> list[dict[str, Any]]:
    """Each bound of schnell's input, broken once: the client's error carries fal's entry."""
    outcomes = []
    for broken in ({"num_inference_steps": 13}, {"num_images": 5}, {"output_format": "gif"}):
        try:
            fal_client.subscribe("fal-ai/flux/schnell", {"prompt": "x", **broken})
            outcomes.append({"raised": None})
        except fal_client.client.FalClientHTTPError as error:
            outcomes.append({**failure(error), "detail": error.response.json()["detail"]})
    return outcomes


def pipeline() -> dict[str, Any]:
    """A text-to-image model's output as the video model's reference image, as apps chain them."""
    image = fal_client.subscribe("fal-ai/flux/schnell", {"prompt": "a fox"})["images"][0]
    prompt = "The fox <IMAGE_REF_0> runs"
    video = fal_client.subscribe(ENDPOINT, {"prompt": prompt, "image_urls": [image["url"]]})
    return {"image": image, "video": video}


LLM = "fal-ai/any-llm"


def fetched_or_inline(url: str) -> bytes:
    if url.startswith("data:"):
        return base64.b64decode(url.partition(",")[2])
    return fetched(url)


def stream() -> dict[str, Any]:
    """`fal_client.stream` on fal's LLM endpoint: every event, and when the first came."""
    started = time.perf_counter()
    events, first = [], None
    for event in fal_client.stream(LLM, {"prompt": "Tell me a story"}):
        first = first if first is not None else time.perf_counter() - started
        events.append(event)
    return {"events": events, "first_seconds": first, "seconds": time.perf_counter() - started}


def stream_async() -> dict[str, Any]:
    async def events() -> list[Any]:
        return [event async for event in fal_client.stream_async(LLM, {"prompt": "Tell me"})]

    return {"events": asyncio.run(events())}


def stream_flux() -> dict[str, Any]:
    """FLUX schnell's stream: progress events with previews, then the output; every picture."""
    from PIL import Image

    events = list(
        fal_client.stream("fal-ai/flux/schnell", {"prompt": "a fox", "image_size": "square"})
    )
    pictures = [
        Image.open(io.BytesIO(fetched_or_inline(image["url"]))).size
        for event in events
        for image in event.get("images", [])
    ]
    return {"events": [sorted(event) for event in events], "pictures": pictures}


def stream_rejected() -> dict[str, Any]:
    try:
        list(fal_client.stream(LLM, {"prompt": 42}))
    except Exception as error:
        return failure(error)
    return {"threw": None}


def realtime() -> dict[str, Any]:
    """`fal_client.realtime` (token, then the WebSocket through the proxy): two results."""
    from PIL import Image

    app = "fal-ai/fast-lcm-diffusion/image-to-image"
    with fal_client.realtime(app) as connection:
        results = []
        for n in range(2):
            connection.send({"prompt": "a cat", "image_bytes": PNG, "request_id": f"r{n}"})
            results.append(connection.recv() or {})
    return {
        "request_ids": [r["request_id"] for r in results],
        "images": [
            [Image.open(io.BytesIO(i["content"])).format, i["width"], i["height"]]
            for r in results
            for i in r["images"]
        ],
    }


def realtime_bad_input() -> dict[str, Any]:
    with fal_client.realtime("fal-ai/fast-lcm-diffusion") as connection:
        connection.send({"prompt": "a cat", "strength": 7})
        try:
            connection.recv()
        except Exception as error:
            first = failure(error)
        connection.send({"prompt": "a cat"})
        after = connection.recv() or {}
    return {"error": first, "then": sorted(after)}


def before_restart() -> dict[str, Any]:
    """Upload an image and submit with it; the fake restarts before `after_restart`."""
    url = fal_client.upload(PNG, "image/png", "ref.png")
    submitted = fal_client.submit(ENDPOINT, {**INPUT, "image_urls": [url]})
    return {"url": url, "request_id": submitted.request_id}


def after_restart() -> dict[str, Any]:
    """Follow the request `before_restart` submitted (ids from the environment) to its end."""
    url, request_id = os.environ["UPLOADED_URL"], os.environ["REQUEST_ID"]
    handle = fal_client.SyncClient().get_handle(ENDPOINT, request_id)
    first = type(handle.status()).__name__
    return {"first": first, "result": handle.get(), "same_bytes": fetched(url) == PNG}


SCENARIOS: dict[str, Callable[[], Any]] = {
    function.__name__: function
    for function in [
        subscribe,
        handle,
        cancel,
        upload_cdn,
        upload_initiate,
        upload_multipart,
        uploaded_image_in_a_submit,
        uploaded_image_with_a_webhook,
        validation_error,
        auth_error,
        run,
        flux,
        flux_bounds,
        pipeline,
        stream,
        stream_async,
        stream_flux,
        stream_rejected,
        realtime,
        realtime_bad_input,
        before_restart,
        after_restart,
    ]
}


def main() -> None:
    results: dict[str, Any] = {}
    for name in sys.argv[2:]:
        try:
            results[name] = SCENARIOS[name]()
        except Exception as error:  # report, so one broken scenario does not hide the others
            results[name] = {"threw": repr(error)}
    print(json.dumps(results))


if __name__ == "__main__":
    main()

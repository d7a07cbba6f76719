# A pipeline with the minimal client: a FLUX image, then a video made from it.
from falfake.client import FalClient
from falfake.pytest_plugin import Falfake


def test_flux_image_then_video(falfake: Falfake) -> None:
    # fal's hosts are answered by the fake; its clock moves as the client polls, so no waits.
    with FalClient("test-key", sleep=lambda _: None) as fal:
        flux = fal.endpoint("fal-ai/flux/dev")
        image = flux.subscribe({"prompt": "a red cube", "image_size": "square"})["images"][0]
        prompt = "The cube <IMAGE_REF_0> spins"
        video = fal.subscribe({"prompt": prompt, "image_urls": [image["url"]]})
    assert (image["width"], image["height"]) == (512, 512)
    assert video.video.content_type == "video/mp4"
    assert [r.path for r in falfake.requests(method="POST")] == [
        "/fal-ai/flux/dev",
        "/google/gemini-omni-flash/reference-to-video",
    ]

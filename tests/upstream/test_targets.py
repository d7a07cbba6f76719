"""Where upstream calls go, and how their URLs come back to the fake."""

from __future__ import annotations

import pytest

from falfake.settings import Secret, Upstream
from falfake.upstream.targets import rewritten, target_url, url_rewriter

FAL = Upstream("fal", Secret("k"))
SECOND = Upstream("http://127.0.0.1:9000/", Secret("k"))
LOCAL = {s: f"http://127.0.0.1:8000/{s}" for s in ("queue", "run", "rest", "cdn", "files")}


@pytest.mark.parametrize(
    ("path", "query", "fal", "second"),
    [
        pytest.param("/queue/fal-ai/x", "", "https://queue.fal.run/fal-ai/x",
                     "http://127.0.0.1:9000/queue/fal-ai/x", id="queue"),
        pytest.param("/run/fal-ai/x/stream", "a=1", "https://fal.run/fal-ai/x/stream?a=1",
                     "http://127.0.0.1:9000/run/fal-ai/x/stream?a=1", id="run"),
        pytest.param("/rest/storage/auth/token", "", "https://rest.fal.ai/storage/auth/token",
                     "http://127.0.0.1:9000/rest/storage/auth/token", id="rest"),
        pytest.param("/cdn/files/upload", "", "https://v3.fal.media/files/upload",
                     "http://127.0.0.1:9000/cdn/files/upload", id="cdn"),
        pytest.param("/files/b/x.mp4", "", "https://v3.fal.media/files/b/x.mp4",
                     "http://127.0.0.1:9000/files/b/x.mp4", id="files"),
    ],
)  # fmt: skip
def test_each_service_goes_to_its_upstream_root(
    path: str, query: str, fal: str, second: str
) -> None:
    assert target_url(FAL, path, query) == fal
    assert target_url(SECOND, path, query) == second


@pytest.mark.parametrize(
    "path", ["/_falfake/health", "/fal/proxy", "/", "/rest/.well-known/jwks.json", "/queuex/a"]
)
def test_the_control_api_and_the_fakes_own_jwks_stay_here(path: str) -> None:
    assert target_url(FAL, path, "") is None


@pytest.mark.parametrize(
    ("url", "local"),
    [
        pytest.param("https://queue.fal.run/fal-ai/flux/requests/r",
                     "http://127.0.0.1:8000/queue/fal-ai/flux/requests/r", id="queue"),
        pytest.param("https://v3.fal.media/files/b/x.mp4",
                     "http://127.0.0.1:8000/files/b/x.mp4", id="files-before-cdn"),
        pytest.param("https://queue.fal.run", "http://127.0.0.1:8000/queue", id="root-alone"),
        pytest.param("https://queue.fal.running.example/x",
                     "https://queue.fal.running.example/x", id="another-host"),
        pytest.param("see https://queue.fal.run/x",
                     "see https://queue.fal.run/x", id="inside-text"),
    ],
)  # fmt: skip
def test_urls_on_the_upstream_come_back_to_the_fake_and_nothing_else_changes(
    url: str, local: str
) -> None:
    assert url_rewriter(FAL, LOCAL)(url) == local


def test_every_string_of_a_reply_is_rewritten_where_it_names_the_upstream() -> None:
    rewrite = url_rewriter(SECOND, LOCAL)
    reply = {"a": ["http://127.0.0.1:9000/files/x", 3, None], "b": {"c": "text"}}
    assert rewritten(reply, rewrite) == {
        "a": ["http://127.0.0.1:8000/files/x", 3, None],
        "b": {"c": "text"},
    }


def test_upward_the_fakes_urls_in_a_request_become_the_upstreams() -> None:
    upward = url_rewriter(SECOND, LOCAL, upward=True)
    assert (
        upward("http://127.0.0.1:8000/files/b/cat.png") == "http://127.0.0.1:9000/files/b/cat.png"
    )
    assert upward("https://example.com/cat.png") == "https://example.com/cat.png"

"""The dashboard in a real browser: what a developer next to their app sees and does."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from falfake import ManualClock, Settings, create_app
from falfake.endpoints.text import reply_text
from falfake.queue.streaming import text_events
from falfake.ui import views
from tests.conftest import BASE_URL, KEY, eventually
from tests.loopback import receiving
from tests.ui.conftest import advance

ENDPOINT = "google/gemini-omni-flash/reference-to-video"
INPUT = {"prompt": "A cat <IMAGE_REF_0> plays", "image_urls": ["https://example.com/cat.png"]}


def test_a_request_from_fal_client_appears_without_a_reload(
    page: Any, dashboard: str, fal: Any
) -> None:
    page.goto(f"{dashboard}/_falfake/ui/")
    expect(page.locator("#rows")).to_contain_text("No requests yet.")
    page.evaluate("window.notReloaded = true")

    handle = fal.submit(ENDPOINT, arguments=INPUT)

    row = page.locator("#rows tr", has_text=handle.request_id)
    expect(row).to_contain_text("IN_QUEUE")
    advance(dashboard, 2.0)
    expect(row).to_contain_text("IN_PROGRESS")
    assert page.evaluate("window.notReloaded") is True


def test_a_requests_page_shows_logs_growing_then_plays_the_video(
    page: Any, dashboard: str, fal: Any
) -> None:
    asked: list[str] = []
    page.on("request", lambda sent: asked.append(sent.url))
    handle = fal.submit(ENDPOINT, arguments=INPUT)
    page.goto(f"{dashboard}/_falfake/ui/requests/{handle.request_id}")
    expect(page.locator("#status")).to_have_text("IN_QUEUE")
    expect(page.locator("#logs li")).to_have_count(0)

    advance(dashboard, 1.5)  # started half a second ago: the first lines are out
    expect(page.locator("#status")).to_have_text("IN_PROGRESS")
    expect(page.locator("#logs li")).to_have_count(2)
    advance(dashboard, 2.0)
    expect(page.locator("#logs li")).to_have_count(3)
    advance(dashboard, 2.0)

    expect(page.locator("#status")).to_have_text("COMPLETED")
    video = page.locator("video")
    expect(video).to_have_count(1)
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    assert video.get_attribute("src").startswith(f"{dashboard}/files/")
    # The input's reference image is on example.com: the page never asks another origin.
    assert asked
    assert all(url.startswith(f"{dashboard}/") for url in asked), asked


def test_a_webhook_attempt_shows_whether_its_signature_verifies(
    page: Any, dashboard: str, fal: Any
) -> None:
    with receiving() as (receiver, hook_url):
        handle = fal.submit(ENDPOINT, arguments=INPUT, webhook_url=f"{hook_url}/done")
        advance(dashboard, 10.0)
        log = f"{dashboard}/_falfake/webhooks?request_id={handle.request_id}"
        eventually(lambda: httpx.get(log).json()["attempts"])
    page.goto(f"{dashboard}/_falfake/ui/requests/{handle.request_id}")
    assert [d.path for d in receiver.deliveries] == ["/done"]
    expect(page.locator("td.signature")).to_have_text(["verifies"])
    expect(page.get_by_role("cell", name=f"{hook_url}/done")).to_be_visible()


def test_a_prompt_holding_html_is_shown_as_text(page: Any, dashboard: str, fal: Any) -> None:
    prompt = '<script>window.pwned = 1</script><b id="bold">x</b> <IMAGE_REF_0>'
    handle = fal.submit(ENDPOINT, arguments={**INPUT, "prompt": prompt})
    page.goto(f"{dashboard}/_falfake/ui/requests/{handle.request_id}")

    expect(page.locator("#input")).to_contain_text(prompt.replace('"', '\\"'))
    assert page.locator("#bold").count() == 0
    assert page.evaluate("window.pwned") is None


def test_a_429_scenario_added_from_the_form_answers_the_next_submit(
    page: Any, dashboard: str
) -> None:
    page.goto(f"{dashboard}/_falfake/ui/scenarios")
    page.get_by_label("Operation").select_option("submit")
    page.get_by_label("What happens").select_option("rate_limited")
    page.get_by_label("Value", exact=True).fill("3")
    page.get_by_label("Times (empty: every time)").fill("1")
    page.get_by_role("button", name="Add scenario").click()
    expect(page.locator("tbody")).to_contain_text('"status": 429')

    answer = httpx.post(
        f"{dashboard}/queue/{ENDPOINT}", json=INPUT, headers={"Authorization": "Key a:b"}
    )
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "3")


def test_light_and_dark_follow_the_systems_setting(page: Any, dashboard: str) -> None:
    background = "getComputedStyle(document.body).backgroundColor"
    page.emulate_media(color_scheme="light")
    page.goto(f"{dashboard}/_falfake/ui/")
    assert page.evaluate(background) == "rgb(255, 255, 255)"
    page.emulate_media(color_scheme="dark")
    assert page.evaluate(background) == "rgb(18, 18, 18)"


def test_the_keyboard_alone_reaches_a_requests_page(page: Any, dashboard: str, fal: Any) -> None:
    handle = fal.submit(ENDPOINT, arguments=INPUT)
    page.goto(f"{dashboard}/_falfake/ui/")
    expect(page.locator("#rows")).to_contain_text(handle.request_id)
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == handle.request_id:
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{dashboard}/_falfake/ui/requests/{handle.request_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(handle.request_id)


SUBMIT = f"/queue/{ENDPOINT}"


@pytest.mark.anyio
async def test_the_requests_page_is_paged_and_filtered(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    for _ in range(views.PAGE_SIZE + 3):
        assert (await http.post(SUBMIT, json=INPUT)).status_code == 200
    await http.post("/queue/fal-ai/flux/schnell", json={"prompt": "a cube"})

    first = (await http.get("/_falfake/ui/")).text
    assert first.count("<tr data-status=") == views.PAGE_SIZE
    older = re.search(r'href="(/_falfake/ui/\?before=\d+)"', first)
    assert older is not None
    second = (await http.get(older[1])).text
    assert second.count("<tr data-status=") == 4
    assert "data-events" not in second  # an older page does not change under the reader

    flux = (await http.get("/_falfake/ui/", params={"endpoint": "fal-ai/flux/schnell"})).text
    assert flux.count("<tr data-status=") == 1
    clock.advance(1.5)
    running = (await http.get("/_falfake/ui/", params={"status": "IN_PROGRESS"})).text
    assert running.count("<tr data-status=") == 1  # one runner


@pytest.mark.anyio
@pytest.mark.parametrize("origin", ["https://evil.example", "http://[::1", "null"])
async def test_a_form_from_another_site_is_refused(http: httpx.AsyncClient, origin: str) -> None:
    await http.post(SUBMIT, json=INPUT)
    refused = await http.post(
        "/_falfake/ui/reset", data={"confirm": "yes"}, headers={"Origin": origin}
    )
    assert refused.status_code == 403
    assert "own pages" in refused.json()["detail"]
    assert "<tr data-status=" in (await http.get("/_falfake/ui/")).text


@pytest.mark.anyio
async def test_a_reset_needs_its_box_ticked(http: httpx.AsyncClient) -> None:
    await http.post(SUBMIT, json=INPUT)
    unticked = await http.post("/_falfake/ui/reset", data={})
    assert unticked.status_code == 422
    assert "Tick the box" in unticked.text
    assert "<tr data-status=" in (await http.get("/_falfake/ui/")).text
    ticked = await http.post("/_falfake/ui/reset", data={"confirm": "yes"})
    assert (ticked.status_code, ticked.headers["location"]) == (303, "/_falfake/ui/")
    assert "No requests yet." in (await http.get("/_falfake/ui/")).text


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"kind": "server_error", "value": "many"}, "invalid literal"),
        ({"kind": "teleport"}, "unknown kind of scenario"),
        ({"kind": "content_policy", "value": "soul"}, "content_policy"),
        ({"kind": "latency", "times": "x"}, "invalid literal"),
        ({"kind": "output_fields", "value": "{seed: 7}"}, "Expecting property name"),
        ({"kind": "logs", "value": '"one line"'}, "logs"),
        ({"kind": "output", "value": '{"v": {"$file": "/nope"}}'}, "cannot read /nope"),
    ],
)
async def test_a_bad_scenario_form_says_why_and_adds_nothing(
    http: httpx.AsyncClient, form: dict[str, str], problem: str
) -> None:
    answer = await http.post("/_falfake/ui/scenarios", data={"operation": "submit", **form})
    assert answer.status_code == 422
    assert problem in answer.text
    assert (await http.get("/_falfake/scenarios")).json() == {"scenarios": []}


@pytest.mark.anyio
async def test_the_form_sets_an_output_and_logs(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    for kind, value in [("output_fields", '{"seed": 7}'), ("logs", '["stubbed"]')]:
        form = {"operation": "submit", "kind": kind, "value": value, "times": "1"}
        assert (await http.post("/_falfake/ui/scenarios", data=form)).status_code == 303
    # The first scenario that matches applies, once each: the first submit, then the second.
    first, second = [(await http.post(SUBMIT, json=INPUT)).json()["request_id"] for _ in "12"]
    clock.advance(60)
    requests = f"/queue/{ENDPOINT.rsplit('/', 1)[0]}/requests"
    assert (await http.get(f"{requests}/{first}")).json()["seed"] == 7
    status = await http.get(f"{requests}/{second}/status", params={"logs": 1})
    assert [line["message"] for line in status.json()["logs"]] == ["stubbed"]


@pytest.mark.anyio
async def test_a_scenario_is_deleted_from_its_row(http: httpx.AsyncClient) -> None:
    await http.post("/_falfake/ui/scenarios", data={"kind": "stuck"})
    (scenario,) = (await http.get("/_falfake/scenarios")).json()["scenarios"]
    assert scenario["stuck"] is True
    await http.post(f"/_falfake/ui/scenarios/{scenario['id']}/delete")
    assert (await http.get("/_falfake/scenarios")).json() == {"scenarios": []}


@pytest.mark.anyio
async def test_cancel_and_run_until_act_on_the_request(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    first = (await http.post(SUBMIT, json=INPUT)).json()["request_id"]
    second = (await http.post(SUBMIT, json=INPUT)).json()["request_id"]
    cancelled = await http.post(f"/_falfake/ui/requests/{second}/cancel")
    assert cancelled.headers["location"] == f"/_falfake/ui/requests/{second}"
    status = await http.get(f"/queue/google/gemini-omni-flash/requests/{second}/status")
    assert status.json()["error_type"] == "client_cancelled"
    await http.post(f"/_falfake/ui/requests/{first}/run-until")
    page = (await http.get(f"/_falfake/ui/requests/{first}")).text
    assert "Result: HTTP 200" in page
    assert '<video controls preload="metadata" src="http://127.0.0.1:8000/files/' in page
    again = await http.post(f"/_falfake/ui/requests/{first}/cancel")
    assert again.status_code == 400  # fal's answer to cancelling a finished request


@pytest.mark.anyio
async def test_the_clock_page_moves_a_settable_clock(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    before = clock.now()
    moved = await http.post("/_falfake/ui/clock", data={"seconds": "2.5"})
    assert (moved.status_code, clock.now()) == (303, before + 2.5)
    for bad in ("soon", "-1", "nan"):
        refused = await http.post("/_falfake/ui/clock", data={"seconds": bad})
        assert refused.status_code == 409, bad
    assert clock.now() == before + 2.5


@pytest.mark.anyio
async def test_a_real_clock_is_not_moved_from_the_dashboard() -> None:
    app = create_app(Settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
        assert "(real time)" in (await http.get("/_falfake/ui/clock")).text
        assert (await http.post("/_falfake/ui/clock", data={"seconds": "1"})).status_code == 409
        request_id = (await http.post(SUBMIT, json=INPUT)).json()["request_id"]
        page = (await http.get(f"/_falfake/ui/requests/{request_id}")).text
        assert "Run until COMPLETED" not in page
        run = await http.post(f"/_falfake/ui/requests/{request_id}/run-until")
        assert run.status_code == 409


@pytest.mark.anyio
async def test_an_unknown_request_is_fals_404(http: httpx.AsyncClient) -> None:
    answer = await http.get("/_falfake/ui/requests/nope")
    assert (answer.status_code, answer.json()) == (404, {"detail": "Request not found"})


@pytest.mark.anyio
async def test_the_journal_and_files_pages_show_what_the_fake_holds(
    http: httpx.AsyncClient,
) -> None:
    token = (await http.post("/rest/storage/auth/token", json={})).json()["token"]
    uploaded = await http.post(
        "/cdn/files/upload",
        content=b"\x89PNG\r\n\x1a\n<b>",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "image/png",
            "X-Fal-File-Name": "<i>ref</i>.png",
        },
    )
    assert uploaded.status_code == 200, uploaded.text
    files = (await http.get("/_falfake/ui/files")).text
    url = uploaded.json()["access_url"]
    assert f'<a href="{url}">' in files
    assert "<td>image/png</td><td>11 B</td>" in files
    journal = (await http.get("/_falfake/ui/journal", params={"path": "/cdn/"})).text
    assert journal.count("<details>") == 1
    assert "/cdn/files/upload" in journal
    assert "<td><time>2026-07-25 17:20:00.000</time></td>" in journal  # the clock's start, UTC


@pytest.mark.anyio
async def test_pages_show_a_body_that_spells_a_lone_surrogate(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    body = b'{"prompt": "a <IMAGE_REF_0>", "image_urls": ["https://example.com/a.png"],'
    body += b' "aspect_ratio": "\\udfff"}'
    submitted = await http.post(SUBMIT, content=body, headers={"Content-Type": "application/json"})
    request_id = submitted.json()["request_id"]
    clock.advance(60)
    for path in ("/_falfake/ui/journal", f"/_falfake/ui/requests/{request_id}"):
        page = await http.get(path)
        assert page.status_code == 200, path
        assert "\\udfff" in page.text


@pytest.mark.anyio
async def test_a_failed_requests_page_shows_the_error_body_the_client_gets(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    request_id = (await http.post(SUBMIT, json={"prompt": "no images"})).json()["request_id"]
    clock.advance(60)
    client_got = await http.get(f"/queue/google/gemini-omni-flash/requests/{request_id}")
    page = (await http.get(f"/_falfake/ui/requests/{request_id}")).text
    assert client_got.status_code == 422
    assert "Result: HTTP 422" in page
    shown = re.search(r'<pre id="result">(.*?)</pre>', page, re.DOTALL)
    assert shown is not None
    assert json.loads(html.unescape(shown[1])) == client_got.json()
    assert "<td>missing</td>" in (await http.get("/_falfake/ui/")).text


@pytest.mark.anyio
async def test_the_live_stream_of_an_unknown_request_is_a_404(http: httpx.AsyncClient) -> None:
    answer = await http.get("/_falfake/ui/requests/nope/events")
    assert (answer.status_code, answer.json()) == (404, {"detail": "Request not found"})


@pytest.mark.anyio
@pytest.mark.parametrize(
    "form",
    [
        {"kind": "latency", "value": "inf"},
        {"kind": "latency", "value": "nan"},
        {"kind": "stuck", "times": "-1"},
        {"kind": "rate_limited", "value": "1e400"},
        {"kind": "server_error", "value": "99"},
    ],
)
async def test_hostile_scenario_values_are_refused_not_stored(
    http: httpx.AsyncClient, form: dict[str, str]
) -> None:
    answer = await http.post("/_falfake/ui/scenarios", data=form)
    assert answer.status_code == 422, answer.text
    assert (await http.get("/_falfake/scenarios")).json() == {"scenarios": []}


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path",
    [
        "/_falfake/ui/?before=²",
        "/_falfake/ui/?before=99999999999999999999999",
        "/_falfake/ui/?status=BOGUS&endpoint=%3Cscript%3E",
        "/_falfake/ui/journal?page=²",
        "/_falfake/ui/journal?page=-3&method=%00",
    ],
)
async def test_odd_query_values_are_ignored_not_a_5xx(http: httpx.AsyncClient, path: str) -> None:
    answer = await http.get(path)
    assert answer.status_code == 200
    assert "<script>" not in answer.text.split("</head>", 1)[1]


@pytest.mark.anyio
async def test_deleting_an_odd_scenario_id_changes_nothing(http: httpx.AsyncClient) -> None:
    await http.post("/_falfake/ui/scenarios", data={"kind": "stuck"})
    for odd in ("²", "99999999999999999999999", "x"):
        answer = await http.post(f"/_falfake/ui/scenarios/{odd}/delete")
        assert answer.status_code == 303
    assert len((await http.get("/_falfake/scenarios")).json()["scenarios"]) == 1


@pytest.mark.anyio
async def test_a_requests_page_lists_its_polls_as_well_as_its_submit(
    http: httpx.AsyncClient,
) -> None:
    request_id = (await http.post(SUBMIT, json=INPUT)).json()["request_id"]
    status = f"/queue/{ENDPOINT.rsplit('/', 1)[0]}/requests/{request_id}/status"
    await http.get(status, params={"logs": "1"})
    page = (await http.get(f"/_falfake/ui/requests/{request_id}")).text
    assert f"GET 127.0.0.1:8000{status}?logs=1 → 202" in page
    assert f"POST 127.0.0.1:8000{SUBMIT} → 200" in page


@pytest.mark.anyio
async def test_the_journal_shows_a_streams_events(http: httpx.AsyncClient) -> None:
    await http.post("/run/fal-ai/any-llm/stream", json={"prompt": "two words"})
    journal = (await http.get("/_falfake/ui/journal", params={"path": "/stream"})).text
    events = text_events({"output": reply_text("two words")}, "output")
    assert f"<p>{len(events)} events sent</p>" in journal
    assert reply_text("two words").partition(": ")[2] in journal  # the last event's text

"""The dashboard's pages and live streams under `/_falfake/ui/` (see `falfake.ui`).

Forms post back here and redirect (303) to the page they came from. A post whose `Origin` is
another site is refused: the control plane is reachable from any page the user's browser opens,
and a form on such a page must not reset the fake or add scenarios.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from falfake.clock import SettableClock
from falfake.contracts.webhook_signatures import signature_matches, signed_message
from falfake.errors import Conflict, FalError, Forbidden, NotFound
from falfake.harness.journal import CONTROL_PREFIX
from falfake.hosts import split_url
from falfake.http.request_parts import fake_of, read_body
from falfake.http.urls import media_root, service_root
from falfake.queue.models import Snapshot, Status
from falfake.queue.replies import status_body
from falfake.queue.routes import finished_result
from falfake.queue.sse import SSE_HEADERS
from falfake.ui import views
from falfake.webhooks.delivery import Attempt
from falfake.webhooks.signing import WebhookSigner

PREFIX = f"{CONTROL_PREFIX}/ui"
_HERE = Path(__file__).parent
_KEEPALIVE_SECONDS = 15.0
_SMALL = 64 * 1024
_STATUSES = [status.value for status in Status]


@functools.cache
def _templates() -> Any:
    # Jinja2 loads with the first page, not with the fake.
    from starlette.templating import Jinja2Templates

    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.globals.update(prefix=PREFIX, pretty=views.pretty, moment=views.moment)
    templates.env.finalize = views.sendable
    return templates


def _page(request: Request, name: str, **context: Any) -> Response:
    return _templates().TemplateResponse(request, name, context)  # type: ignore[no-any-return]


def _fragment(name: str, **context: Any) -> str:
    return str(_templates().get_template(name).render(**context))


def _filters(request: Request) -> dict[str, Any]:
    query = request.query_params
    status = query.get("status") or None
    return {
        "endpoint_id": query.get("endpoint") or None,
        "status": Status(status) if status in _STATUSES else None,
    }


async def _rows(request: Request, before: int | None = None) -> list[views.Row]:
    store = fake_of(request).store
    snapshots = await store.recent(views.PAGE_SIZE, before=before, **_filters(request))
    return [views.row(snapshot) for snapshot in snapshots]


async def requests_page(request: Request) -> Response:
    before = _count(request.query_params.get("before", ""))
    rows = await _rows(request, before)
    query = dict(request.query_params)
    query.pop("before", None)
    older = None
    if len(rows) == views.PAGE_SIZE:
        older = "?" + urlencode({**query, "before": rows[-1].seq})
    return _page(
        request,
        "requests.html",
        rows=rows,
        endpoints=sorted(request.app.state.endpoints.endpoints),
        statuses=_STATUSES,
        chosen={"endpoint": query.get("endpoint", ""), "status": query.get("status", "")},
        live=before is None,
        events=f"{PREFIX}/events?{urlencode(query)}",
        older=older,
    )


async def requests_events(request: Request) -> Response:
    """The first page's rows as an HTML fragment, sent again whenever it changes."""

    async def render() -> tuple[str, bool]:
        return _fragment("_rows.html", rows=await _rows(request)), False

    return _stream(render)


async def request_page(request: Request) -> Response:
    fake = fake_of(request)
    request_id = request.path_params["request_id"]
    snapshot = await _snapshot(request, request_id)
    journal = await fake.journal.about(request_id)
    submitted = next((e for e in journal if e.method == "POST"), None)
    return _page(
        request,
        "request.html",
        request_id=request_id,
        row=views.row(snapshot),
        input=None if submitted is None else views.parsed_body(submitted.body),
        live=await _live(request, snapshot),
        done=snapshot.request.status is Status.COMPLETED,
        attempts=[
            (a, _signature_check(fake.signer, a))
            for a in await fake.deliveries.attempts(request_id)
        ],
        journal=journal,
        virtual=isinstance(fake.clock, SettableClock),
        own_root=f"{media_root(request, fake.settings.public_url)}/files/",
    )


async def request_events(request: Request) -> Response:
    """The request's live part (status, logs, then its result), until COMPLETED."""
    request_id = request.path_params["request_id"]
    # An unknown id is a 404, not a stream that breaks at once.
    await _snapshot(request, request_id)

    async def render() -> tuple[str, bool]:
        try:
            snapshot = await _snapshot(request, request_id)
        except NotFound:  # forgotten meanwhile (a reset, the retention bounds): nothing to follow
            return "<p>This request is no longer held by the fake.</p>", True
        return await _live(request, snapshot), snapshot.request.status is Status.COMPLETED

    return _stream(render)


def _signature_check(signer: WebhookSigner, attempt: Attempt) -> str:
    """Whether the attempt's signature verifies against the JWKS the fake serves, as a receiver
    following fal's docs would check it."""
    if not attempt.signature:
        return "not kept"
    message = signed_message(
        attempt.request_id, attempt.user_id, attempt.timestamp, attempt.body_sha256
    )
    matches = signature_matches(signer.jwks(), message, attempt.signature)
    return "verifies" if matches else "does not verify"


async def _snapshot(request: Request, request_id: str) -> Snapshot:
    return await fake_of(request).store.get(request_id)


async def _live(request: Request, snapshot: Snapshot) -> str:
    fake = fake_of(request)
    root = service_root(request, "queue")
    status = status_body(snapshot, root, with_logs=True, error_fields=True)
    result: tuple[int, Any] | None = None
    if snapshot.request.status is Status.COMPLETED:
        result = await _result(request, snapshot)
    return _fragment(
        "_live.html",
        row=views.row(snapshot),
        timeline=views.timeline(snapshot),
        logs=status.get("logs") or [],
        result=result,
        media=[] if result is None else views.media_in(result[1]),
        settable=isinstance(fake.clock, SettableClock),
    )


async def _result(request: Request, snapshot: Snapshot) -> tuple[int, Any]:
    """The result as a client gets it: (status code, body)."""
    try:
        output = await finished_result(request, snapshot)
    except FalError as exc:
        return exc.status_code, exc.body()
    return 200, output.body


def _stream(render: Callable[[], Awaitable[tuple[str, bool]]]) -> Response:
    """`render()` gives (fragment, done); each new fragment is an `update` event."""

    async def events() -> AsyncIterator[str]:
        sent, idle = None, 0.0
        while True:
            html, done = await render()
            if html != sent:
                sent, idle = html, 0.0
                data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
                yield f"event: update\n{data}\n\n"
            elif idle >= _KEEPALIVE_SECONDS:
                idle = 0.0
                yield ": keepalive\n\n"
            if done:
                yield "event: done\ndata: \n\n"
                return
            await asyncio.sleep(0.25)
            idle += 0.25

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)


async def journal_page(request: Request) -> Response:
    query = request.query_params
    method, path = query.get("method") or None, query.get("path") or None
    page = _count(query.get("page", "")) or 0
    found = await fake_of(request).journal.newest(
        views.PAGE_SIZE + 1, skip=page * views.PAGE_SIZE, method=method, path=path
    )
    newest, more = found[: views.PAGE_SIZE], len(found) > views.PAGE_SIZE
    return _page(
        request,
        "journal.html",
        entries=newest,
        method=method or "",
        path=path or "",
        next_page=page + 1 if more else None,
        parsed=views.parsed_body,
        events=views.stream_events,
    )


async def scenarios_page(request: Request, problem: str = "", status_code: int = 200) -> Response:
    response = _page(
        request,
        "scenarios.html",
        scenarios=await fake_of(request).scenarios.listed(),
        problem=problem,
        endpoints=sorted(request.app.state.endpoints.endpoints),
    )
    response.status_code = status_code
    return response


async def add_scenario(request: Request) -> Response:
    form = await _form(request)
    try:
        scenario = _scenario_of(form)
        from falfake.http.bodies import SCENARIO, parse_json  # pydantic, on first use

        parsed = parse_json(SCENARIO, json.dumps(scenario).encode(), "application/json")
    except (FalError, ValueError) as exc:
        return await scenarios_page(request, _problem(exc), 422)
    await fake_of(request).scenarios.add(parsed)
    return _back(f"{PREFIX}/scenarios")


def _scenario_of(form: Mapping[str, str]) -> dict[str, Any]:
    """The control API's scenario body from the form's fields."""
    scenario: dict[str, Any] = {"operation": form.get("operation", "any")}
    if form.get("endpoint"):
        scenario["endpoint"] = form["endpoint"]
    if form.get("times"):
        scenario["times"] = int(form["times"])
    kind, value = form.get("kind", ""), form.get("value", "").strip()
    if kind == "latency":
        scenario["latency"] = float(value or 1)
    elif kind == "rate_limited":
        scenario |= {"status": 429, "error_type": "rate_limited", "retry_after": float(value or 1)}
    elif kind == "server_error":
        scenario["status"] = int(value or 500)
    elif kind == "content_policy":
        scenario["content_policy"] = [value or "prompt"]
    elif kind == "stuck":
        scenario["stuck"] = True
    elif kind in ("output", "output_fields", "logs"):
        # JSON as the control API takes it: an object (files as {"$file": PATH}), or a list.
        scenario[kind] = json.loads(value)
    else:
        raise ValueError(f"unknown kind of scenario: {kind!r}")
    return scenario


def _problem(exc: Exception) -> str:
    if isinstance(exc, FalError):
        detail = exc.detail
        if isinstance(detail, list):
            return "; ".join(
                f"{'.'.join(map(str, e.get('loc', [])))}: {e.get('msg')}" for e in detail
            )
        return str(detail)
    return str(exc)


async def remove_scenario(request: Request) -> Response:
    await _form(request)
    scenario_id = request.path_params["scenario_id"]
    found = _count(scenario_id)
    if found is not None:
        await fake_of(request).scenarios.remove(found)
    return _back(f"{PREFIX}/scenarios")


async def reset(request: Request) -> Response:
    form = await _form(request)
    if form.get("confirm") != "yes":
        return await scenarios_page(request, "Tick the box to confirm the reset.", 422)
    await fake_of(request).reset()
    return _back(f"{PREFIX}/")


async def cancel(request: Request) -> Response:
    await _form(request)
    request_id = request.path_params["request_id"]
    snapshot = await _snapshot(request, request_id)
    await fake_of(request).store.cancel(snapshot.request.app_id, request_id)
    return _back(f"{PREFIX}/requests/{request_id}")


async def run_until_completed(request: Request) -> Response:
    await _form(request)
    request_id = request.path_params["request_id"]
    await fake_of(request).run_until(request_id)
    return _back(f"{PREFIX}/requests/{request_id}")


async def clock_page(request: Request) -> Response:
    fake = fake_of(request)
    return _page(
        request,
        "clock.html",
        now=views.moment(fake.clock.now()),
        settable=isinstance(fake.clock, SettableClock),
    )


async def advance(request: Request) -> Response:
    form = await _form(request)
    try:
        seconds = float(form.get("seconds", ""))
    except ValueError:
        raise Conflict("Give the seconds to advance as a number.") from None
    if not 0 <= seconds < 10**9:
        raise Conflict("Give the seconds to advance as a number from 0 up.")
    await fake_of(request).advance(seconds)
    return _back(f"{PREFIX}/clock")


async def files_page(request: Request) -> Response:
    fake = fake_of(request)
    root = media_root(request, fake.settings.public_url)
    files = [
        (entry, f"{root}/files/{entry.path}", views.size(entry.size))
        for entry in await fake.files.newest(200)
    ]
    total = views.size(await fake.files.total_bytes())
    return _page(request, "files.html", files=files, total=total)


async def contract_page(request: Request) -> Response:
    """Upstream mode: the newest replies that broke the contract."""
    upstream = fake_of(request).settings.upstream
    violations = request.app.state.violations.newest()
    return _page(request, "contract.html", upstream=upstream, violations=violations)


async def _form(request: Request) -> dict[str, str]:
    """The posted form's fields; 403 for a post from another site's page."""
    origin = request.headers.get("origin")
    if origin is not None:
        split = split_url(origin)
        if split is None or split[0].netloc != request.headers.get("host"):
            raise Forbidden("The dashboard takes forms from its own pages only.")
    raw = await read_body(request, _SMALL)
    return dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))


def _count(text: str) -> int | None:
    """A cursor, page or id from a URL: ASCII digits only ("²" is a digit to `str.isdigit`)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def _back(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def ui_routes() -> list[BaseRoute]:
    p = PREFIX
    return [
        Route(f"{p}/", requests_page, methods=["GET"]),
        Route(f"{p}/events", requests_events, methods=["GET"]),
        Route(f"{p}/requests/{{request_id}}", request_page, methods=["GET"]),
        Route(f"{p}/requests/{{request_id}}/events", request_events, methods=["GET"]),
        Route(f"{p}/requests/{{request_id}}/cancel", cancel, methods=["POST"]),
        Route(f"{p}/requests/{{request_id}}/run-until", run_until_completed, methods=["POST"]),
        Route(f"{p}/journal", journal_page, methods=["GET"]),
        Route(f"{p}/scenarios", scenarios_page, methods=["GET"]),
        Route(f"{p}/scenarios", add_scenario, methods=["POST"]),
        Route(f"{p}/scenarios/{{scenario_id}}/delete", remove_scenario, methods=["POST"]),
        Route(f"{p}/reset", reset, methods=["POST"]),
        Route(f"{p}/clock", clock_page, methods=["GET"]),
        Route(f"{p}/clock", advance, methods=["POST"]),
        Route(f"{p}/files", files_page, methods=["GET"]),
        Route(f"{p}/contract", contract_page, methods=["GET"]),
        Mount(f"{p}/static", StaticFiles(directory=_HERE / "static"), name="ui-static"),
    ]

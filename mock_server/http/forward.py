"""Upstream mode's forwarding (`--upstream fal|URL`): each call to a fal service goes upstream
with falfake's own key, and its reply comes back with its URLs pointing at the fake.

It runs after the ingress (journal, host routing, scenarios, the app's key checked as usual), so
the app keeps its test key and fal's key stays in falfake's environment: it is sent upstream as
`Authorization` to the queue, run and REST services, and never written anywhere. Media and upload
calls carry the app's own `Authorization` (a CDN token the upstream issued). Event streams are
passed on event by event. The control API and the dashboard stay local.

Each JSON reply of the queue and sync-run APIs is checked against the contract
(`upstream.contract`): what breaks it is named in `X-Falfake-Contract-Violations`, appended to the
drift report, and with `strict_contract` answered as a 502 instead.

A submit with `fal_webhook` goes upstream without it; the fake follows the request and sends the
webhook itself (`upstream.follow`). With `record_dir`, each finished submit or sync run is
recorded (`upstream.recorder`).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from falfake.errors import (
    ContractBroken,
    FalError,
    PaidRequestsSpent,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from falfake.http.recording import request_id_in_path
from falfake.http.render import fal_error_response
from falfake.http.request_parts import read_body
from falfake.http.urls import media_root, service_root
from falfake.media.files import Files
from falfake.settings import Upstream, WebhookSettings
from falfake.upstream.contract import (
    Exchange,
    Violations,
    header_value,
    input_problems,
    kind_of,
    violations,
)
from falfake.upstream.documents import Documents
from falfake.upstream.follow import Followed, Follower, Observer, kept_headers, ran
from falfake.upstream.recorder import recorder
from falfake.upstream.rehost import uploader
from falfake.upstream.targets import (
    FORWARD,
    files_replaced,
    is_paid,
    parsed,
    rewritten,
    rewritten_json,
    split_service,
    target_url,
    url_rewriter,
)
from falfake.webhooks.payloads import checked_target

# Headers that belong to one hop (RFC 9110 §7.6.1), or that httpx sets for the next one.
_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding",
        "content-encoding",
    }
)  # fmt: skip
_KEYED = ("queue", "run", "rest")


logger = logging.getLogger("falfake")
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
VIOLATIONS_HEADER = "X-Falfake-Contract-Violations"
# Results name their app, not their endpoint: the endpoint of each request submitted, the newest.
_REMEMBERED = 10_000


def _version() -> str:
    try:
        return importlib.metadata.version("falfake")
    except importlib.metadata.PackageNotFoundError:  # run from a tree that was not installed
        return "unknown"


VERSION = _version()


@dataclass(frozen=True, slots=True)
class _Call:
    """One forwarded call as the reply's handling needs it."""

    request: Request
    service: str
    rest: str
    app_input: Any  # the app's JSON body, read once (the fake's own URLs in it)
    local_roots: dict[str, str]
    started: float

    @property
    def kind(self) -> str | None:
        return kind_of(self.request.method, self.service, self.rest)

    @property
    def endpoint_id(self) -> str:
        return self.rest.strip("/")


class Forwarder:
    def __init__(
        self,
        app: ASGIApp,
        *,
        upstream: Upstream,
        max_body_bytes: int,
        documents: Documents,
        clock: Callable[[], float],
        follower: Follower,
        webhooks: WebhookSettings,
        violations: Violations,
        files: Files | None = None,
    ) -> None:
        """`files`, replaying with `--on-miss record`: only the calls replay let through go
        upstream (and the polls and media of what they started); the rest stays here."""
        self.files = files
        self.app, self.upstream, self.max_body_bytes = app, upstream, max_body_bytes
        self.documents, self.clock = documents, clock
        self.follower, self.webhooks, self.violations = follower, webhooks, violations
        self.paid = 0
        # request id -> its endpoint, and what the contract finds wrong with its input
        self.endpoints: OrderedDict[str, tuple[str, list[str] | None]] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        target = (
            target_url(self.upstream, scope["path"], query) if scope["type"] == "http" else None
        )
        if target is None or not await self._goes_upstream(scope):
            await self.app(scope, receive, send)
            return
        try:
            response = await self._forwarded(Request(scope, receive), target)
        except FalError as exc:
            response = fal_error_response(exc)
        await response(scope, receive, send)

    async def _goes_upstream(self, scope: Scope) -> bool:
        """In upstream mode every call to fal's services does; replaying, only a call replay
        marked, and the polls, results and media of the requests such calls started."""
        if self.files is None or scope.get(FORWARD):
            return True
        service, rest = split_service(scope["path"]) or ("", "")
        if service == "queue":
            return request_id_in_path(scope["path"]) in self.endpoints
        if service == "files":
            return await self.files.entry(rest.lstrip("/")) is None
        return False

    async def _forwarded(self, request: Request, target: str) -> Response:
        service, rest = split_service(request.url.path) or ("", "")
        target, webhook = self._admitted(request, service, rest, target)
        body = await read_body(request, self.max_body_bytes)
        app_input = parsed(body)
        local_roots = _local_roots(request)
        client = httpx.AsyncClient(timeout=TIMEOUT)
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await self._upward(body, app_input, local_roots["files"], client)
        call = _Call(request, service, rest, app_input, local_roots, self.clock())
        headers = _request_headers(call, self.upstream)
        reply = await _sent(client, request.method, target, headers, body)
        rewrite = url_rewriter(self.upstream, local_roots)
        headers = {k: v for k, v in reply.headers.items() if k.lower() not in _HOP}
        if reply.headers.get("content-type", "").startswith("text/event-stream"):
            events = _events(reply, client, rewrite)
            return StreamingResponse(events, status_code=reply.status_code, headers=headers)
        try:
            content = await reply.aread()
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"the upstream's reply broke off: {exc!r}") from None
        finally:
            await client.aclose()
        if reply.headers.get("content-type", "").startswith("application/json"):
            try:  # read once: checked, observed and rewritten from the same value
                reply_body: Any = json.loads(content)
            except ValueError:  # passed on as the upstream sent it, and checked as text
                reply_body = None
            found = self._checked(
                call, reply, parsed(content) if reply_body is None else reply_body
            )
            if found:
                headers[VIOLATIONS_HEADER] = header_value(found)
            if reply_body is not None:
                if reply.status_code == 200:
                    reply_body = self._observed(call, reply, reply_body, webhook, rewrite)
                content = json.dumps(rewritten(reply_body, rewrite), separators=(",", ":")).encode()
        return Response(content, status_code=reply.status_code, headers=headers)

    async def _upward(
        self, body: bytes, app_input: Any, local_files: str, client: httpx.AsyncClient
    ) -> bytes:
        """The app's JSON body as the upstream can read it: the fake's own URLs in it (an
        uploaded image) are the upstream's, or, replaying, the same bytes uploaded there."""
        if self.files is None:
            roots = {"files": local_files}
            return rewritten_json(body, url_rewriter(self.upstream, roots, upward=True))
        upload = uploader(self.upstream, client)

        async def uploaded(url: str) -> str:
            data, content_type = await self._local_file(url)
            return await upload(data, content_type, url.rsplit("/", 1)[-1])

        try:
            return json.dumps(await files_replaced(app_input, f"{local_files}/", uploaded)).encode()
        except httpx.HTTPError as exc:
            await client.aclose()
            raise UpstreamUnavailable(
                f"the input's files could not be uploaded upstream: {exc!r}"
            ) from None

    async def _local_file(self, url: str) -> tuple[bytes, str]:
        assert self.files is not None
        stored = await self.files.read(url.split("/files/", 1)[1])
        return stored.data, stored.content_type

    def _admitted(
        self, request: Request, service: str, rest: str, target: str
    ) -> tuple[str, str | None]:
        """The target without the webhook the fake will send itself, and that webhook; a paid
        call counted, or refused past the cost guard (before anything goes upstream)."""
        webhook = None
        if kind_of(request.method, service, rest) == "submit":
            webhook = request.query_params.get("fal_webhook")
            if webhook is not None:  # the fake sends it: fal could not reach the app's machine
                webhook = checked_target(webhook, self.webhooks)
                target = _without_webhook(target)
        if is_paid(request.method, service, rest):
            if self.paid >= self.upstream.max_paid_requests:
                raise PaidRequestsSpent(
                    f"falfake has forwarded {self.paid} paid requests to {self.upstream.base},"
                    " its --max-paid-requests: this one was refused here and cost nothing"
                )
            self.paid += 1
        return target, webhook

    def _observed(
        self,
        call: _Call,
        reply: httpx.Response,
        reply_body: Any,
        webhook: str | None,
        rewrite: Callable[[str], str],
    ) -> Any:
        """A successful reply, once what must follow it is under way: a sync run recorded, a
        submit followed upstream for its webhook and its recording."""
        if call.kind == "run" and self.upstream.record_dir is not None:
            finished = Followed(
                reply.headers.get("x-fal-request-id", ""),
                states=ran(self.clock() - call.started),
                result_status=200,
                result=reply_body,
                result_headers=kept_headers(reply.headers),
            )
            self.follower.finished(finished, [self._recorder(call)])
        if call.kind != "submit":
            return reply_body
        observers = [] if webhook is None else [self.follower.webhook(webhook, rewrite)]
        if self.upstream.record_dir is not None:
            observers.append(self._recorder(call))
        return self._followed(reply_body, observers, with_gateway=webhook is not None)

    def _followed(self, submitted: Any, observers: list[Observer], *, with_gateway: bool) -> Any:
        """A submit's reply, its request followed upstream for `observers` (a webhook, a
        recording); with the `gateway_request_id` fal adds when it was given a webhook (§3)."""
        if not observers:
            return submitted
        try:
            request_id = str(submitted["request_id"])
            urls = str(submitted["status_url"]), str(submitted["response_url"])
        except (KeyError, TypeError):
            return submitted  # not a submit reply to follow: the contract check has said so
        self.follower.follow(request_id, *urls, observers)
        if not with_gateway:
            return submitted
        return {**submitted, "gateway_request_id": request_id}

    def _recorder(self, call: _Call) -> Observer:
        upward = url_rewriter(self.upstream, call.local_roots, upward=True)

        async def fetched(url: str) -> bytes:
            if self.files is not None:  # replaying: the file stayed here
                return (await self._local_file(url))[0]
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                return (await client.get(upward(url))).content

        return recorder(
            self.upstream,
            call.endpoint_id,
            call.app_input,
            call.local_roots["files"],
            fetched,
            version=VERSION,
            now=self.clock,
        )

    def _checked(self, call: _Call, reply: httpx.Response, body: Any) -> list[str]:
        """The reply's violations, reported (ContractBroken when strict); a submit's request
        remembered with its endpoint and its input's verdict, for its result's check."""
        remembered = self.endpoints.get(request_id_in_path(call.request.url.path) or "")
        endpoint_id, problems = remembered or (None, None)
        if call.kind in ("run", "submit"):
            endpoint_id = call.endpoint_id
            problems = input_problems(self.documents.input_model(endpoint_id), call.app_input)
        exchange = Exchange(
            call.request.method, call.service, call.rest, reply.status_code, body, reply.headers,
            endpoint_id=endpoint_id, input_problems=problems,
        )  # fmt: skip
        if call.kind == "submit" and isinstance(body, dict):
            self._remember(str(body.get("request_id")), call.endpoint_id, problems)
        found = violations(exchange, self.documents.output_model)
        if found:
            self._report(call.request, reply.status_code, found)
            if self.upstream.strict_contract:
                raise ContractBroken(
                    f"the upstream's reply to {call.request.method} {call.request.url.path}"
                    f" breaks the contract: {'; '.join(found)}"
                )
        return found

    def _remember(self, request_id: str, endpoint_id: str, problems: list[str] | None) -> None:
        self.endpoints[request_id] = (endpoint_id, problems)
        while len(self.endpoints) > _REMEMBERED:
            self.endpoints.popitem(last=False)

    def _report(self, request: Request, status: int, found: list[str]) -> None:
        line = {
            "at": self.clock(),
            "upstream": self.upstream.base,
            "method": request.method,
            "path": request.url.path,
            "status": status,
            "violations": found,
        }
        self.violations.add(line)
        path = self.upstream.drift_report
        if path is not None:
            with path.open("a", encoding="utf-8") as report:
                report.write(json.dumps(line) + "\n")


def _without_webhook(target: str) -> str:
    url = httpx.URL(target)
    return str(url.copy_remove_param("fal_webhook"))


async def _sent(
    client: httpx.AsyncClient, method: str, target: str, headers: dict[str, str], body: bytes
) -> httpx.Response:
    """The upstream's reply, its body still to read; the fal-shaped error if there is none."""
    try:
        request = client.build_request(method, target, headers=headers, content=body)
        return await client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        await client.aclose()
        raise UpstreamTimeout(f"the upstream did not answer in time: {exc!r}") from None
    except httpx.HTTPError as exc:
        await client.aclose()
        raise UpstreamUnavailable(f"the upstream could not be reached: {exc!r}") from None


def _request_headers(call: _Call, upstream: Upstream) -> dict[str, str]:
    headers = {k: v for k, v in call.request.headers.items() if k.lower() not in _HOP}
    if call.service in _KEYED:
        headers.pop("authorization", None)
        headers["authorization"] = f"Key {upstream.key}"
    return headers


def _local_roots(request: Request) -> dict[str, str]:
    media = media_root(request, None)
    roots = {service: service_root(request, service) for service in ("queue", "run", "rest", "cdn")}
    return roots | {"files": f"{media}/files", "uploads": f"{media}/uploads"}


async def _events(
    reply: httpx.Response, client: httpx.AsyncClient, rewrite: Callable[[str], str]
) -> AsyncIterator[bytes]:
    """The upstream's event stream, line by line, each `data:` JSON with its URLs rewritten; one
    the upstream breaks off ends here too (the app sees the stream cut, as fal's would be)."""
    try:
        async for line in reply.aiter_lines():
            if line.startswith("data:"):
                payload = line.removeprefix("data:").strip()
                line = "data: " + rewritten_json(payload.encode(), rewrite).decode()
            yield (line + "\n").encode()
    except httpx.HTTPError as exc:
        logger.info("an upstream event stream broke off: %r", exc)
    finally:
        await reply.aclose()
        await client.aclose()

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
webhook itself (`upstream.follow`). Not yet (issue 33): recording and replay.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
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
from falfake.http.render import fal_error_response
from falfake.http.request_parts import read_body
from falfake.http.urls import media_root, service_root
from falfake.settings import Upstream, WebhookSettings
from falfake.upstream.contract import Exchange, OutputModel, header_value, kind_of, violations
from falfake.upstream.follow import Followed, Follower, Observer
from falfake.upstream.recorder import recorder
from falfake.upstream.targets import rewritten, split_service, target_url, url_rewriter
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


def _version() -> str:
    try:
        return importlib.metadata.version("falfake")
    except importlib.metadata.PackageNotFoundError:  # run from a tree that was not installed
        return "unknown"


TIMEOUT = httpx.Timeout(60.0, connect=10.0)


VIOLATIONS_HEADER = "X-Falfake-Contract-Violations"
VERSION = _version()
# Results name their app, not their endpoint: the endpoint of each request submitted, the newest.
_REMEMBERED = 10_000


class Forwarder:
    def __init__(
        self,
        app: ASGIApp,
        *,
        upstream: Upstream,
        max_body_bytes: int,
        output_model: OutputModel,
        clock: Callable[[], float],
        follower: Follower,
        webhooks: WebhookSettings,
    ) -> None:
        self.app, self.upstream, self.max_body_bytes = app, upstream, max_body_bytes
        self.output_model, self.clock = output_model, clock
        self.follower, self.webhooks = follower, webhooks
        self.paid = 0
        self.endpoints: OrderedDict[str, str] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        target = (
            target_url(self.upstream, scope["path"], query) if scope["type"] == "http" else None
        )
        if target is None:
            await self.app(scope, receive, send)
            return
        try:
            response = await self._forwarded(Request(scope, receive), target)
        except FalError as exc:
            response = fal_error_response(exc)
        await response(scope, receive, send)

    async def _forwarded(self, request: Request, target: str) -> Response:
        service, rest = split_service(request.url.path) or ("", "")
        webhook = None
        if kind_of(request.method, service, rest) == "submit":
            webhook = request.query_params.get("fal_webhook")
            if webhook is not None:  # the fake sends it: fal could not reach the app's machine
                webhook = checked_target(webhook, self.webhooks)
                target = _without_webhook(target)
        if _is_paid(request.method, service, rest):
            if self.paid >= self.upstream.max_paid_requests:
                raise PaidRequestsSpent(
                    f"falfake has forwarded {self.paid} paid requests to {self.upstream.base},"
                    " its --max-paid-requests: this one was refused here and cost nothing"
                )
            self.paid += 1
        app_body = body = await read_body(request, self.max_body_bytes)
        local_roots = _local_roots(request)
        upward = url_rewriter(self.upstream, local_roots, upward=True)
        if request.headers.get("content-type", "").startswith("application/json"):
            body = _rewritten_json(body, upward)
        headers = _request_headers(request, service, self.upstream)
        client = httpx.AsyncClient(timeout=TIMEOUT)
        started = self.clock()
        try:
            sent = client.build_request(request.method, target, headers=headers, content=body)
            reply = await client.send(sent, stream=True)
        except httpx.TimeoutException as exc:
            await client.aclose()
            raise UpstreamTimeout(f"the upstream did not answer in time: {exc!r}") from None
        except httpx.HTTPError as exc:
            await client.aclose()
            raise UpstreamUnavailable(f"the upstream could not be reached: {exc!r}") from None
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
            found = self._checked(request, service, rest, reply, content)
            if found:
                headers[VIOLATIONS_HEADER] = header_value(found)
            kind = kind_of(request.method, service, rest)
            if kind == "run" and reply.status_code == 200 and self.upstream.record_dir:
                ran = Followed(
                    reply.headers.get("x-fal-request-id", ""),
                    states=_ran_states(self.clock() - started),
                    result_status=200,
                    result=json.loads(content),
                )
                recording = self._recorder(rest.strip("/"), app_body, local_roots["files"], upward)
                self.follower.finished(ran, [recording])
            if kind == "submit" and reply.status_code == 200:
                observers = [] if webhook is None else [self.follower.webhook(webhook, rewrite)]
                if self.upstream.record_dir is not None:
                    files = local_roots["files"]
                    observers.append(self._recorder(rest.strip("/"), app_body, files, upward))
                content = self._followed(content, observers, with_gateway=webhook is not None)
            content = _rewritten_json(content, rewrite)
        return Response(content, status_code=reply.status_code, headers=headers)

    def _followed(self, content: bytes, observers: list[Observer], *, with_gateway: bool) -> bytes:
        """A submit's reply, its request followed upstream for `observers` (a webhook, a
        recording); with the `gateway_request_id` fal adds when it was given a webhook (§3)."""
        if not observers:
            return content
        try:
            submitted = json.loads(content)
            request_id = str(submitted["request_id"])
            urls = str(submitted["status_url"]), str(submitted["response_url"])
        except (ValueError, KeyError, TypeError):
            return content  # not a submit reply to follow: the contract check has said so
        self.follower.follow(request_id, *urls, observers)
        if not with_gateway:
            return content
        return json.dumps({**submitted, "gateway_request_id": request_id}).encode()

    def _recorder(
        self, endpoint_id: str, sent: bytes, files: str, upward: Callable[[str], str]
    ) -> Observer:
        try:
            app_input = json.loads(sent)
        except ValueError:
            app_input = sent.decode("utf-8", "replace")
        return recorder(
            self.upstream, endpoint_id, app_input, files, upward, version=VERSION, now=self.clock
        )

    def _checked(
        self, request: Request, service: str, rest: str, reply: httpx.Response, content: bytes
    ) -> list[str]:
        """The reply's violations, reported (ContractBroken when strict); its request id kept
        when it is a submit's, for the result's check."""
        try:
            body = json.loads(content)
        except ValueError:
            body = content.decode("utf-8", "replace")
        request_id = rest.rstrip("/").split("/")[-1]
        exchange = Exchange(
            request.method, service, rest, reply.status_code, body, reply.headers,
            endpoint_id=self.endpoints.get(request_id),
        )  # fmt: skip
        if kind_of(request.method, service, rest) == "submit" and isinstance(body, dict):
            self._remember(str(body.get("request_id")), rest.strip("/"))
        found = violations(exchange, self.output_model)
        if found:
            self._report(request, reply.status_code, found)
            if self.upstream.strict_contract:
                raise ContractBroken(
                    f"the upstream's reply to {request.method} {request.url.path} breaks the"
                    f" contract: {'; '.join(found)}"
                )
        return found

    def _remember(self, request_id: str, endpoint_id: str) -> None:
        self.endpoints[request_id] = endpoint_id
        while len(self.endpoints) > _REMEMBERED:
            self.endpoints.popitem(last=False)

    def _report(self, request: Request, status: int, found: list[str]) -> None:
        path = self.upstream.drift_report
        if path is None:
            return
        line = {
            "at": self.clock(),
            "upstream": self.upstream.base,
            "method": request.method,
            "path": request.url.path,
            "status": status,
            "violations": found,
        }
        with path.open("a", encoding="utf-8") as report:
            report.write(json.dumps(line) + "\n")


def _ran_states(seconds: float) -> list[dict[str, Any]]:
    """A sync run's lifecycle as a recording keeps one: running at once, done when it answered."""
    done = round(seconds, 3)
    return [
        {"after_seconds": 0.0, "status": "IN_PROGRESS", "queue_position": None, "logs": []},
        {"after_seconds": done, "status": "COMPLETED", "queue_position": None, "logs": []},
    ]


def _without_webhook(target: str) -> str:
    url = httpx.URL(target)
    return str(url.copy_remove_param("fal_webhook"))


def _is_paid(method: str, service: str, rest: str) -> bool:
    """A submit, a sync run or a stream: what fal bills."""
    if method != "POST":
        return False
    return service == "run" or (service == "queue" and "/requests/" not in rest)


def _request_headers(request: Request, service: str, upstream: Upstream) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
    if service in _KEYED:
        headers.pop("authorization", None)
        headers["authorization"] = f"Key {upstream.key}"
    return headers


def _local_roots(request: Request) -> dict[str, str]:
    media = media_root(request, None)
    roots = {service: service_root(request, service) for service in ("queue", "run", "rest", "cdn")}
    return roots | {"files": f"{media}/files", "uploads": f"{media}/uploads"}


def _rewritten_json(content: bytes, rewrite: Callable[[str], str]) -> bytes:
    try:
        data = json.loads(content)
    except ValueError:
        return content  # passed on as the upstream sent it
    return json.dumps(rewritten(data, rewrite), separators=(",", ":")).encode()


async def _events(
    reply: httpx.Response, client: httpx.AsyncClient, rewrite: Callable[[str], str]
) -> AsyncIterator[bytes]:
    """The upstream's event stream, line by line, each `data:` JSON with its URLs rewritten."""
    try:
        async for line in reply.aiter_lines():
            if line.startswith("data:"):
                payload = line.removeprefix("data:").strip()
                line = "data: " + _rewritten_json(payload.encode(), rewrite).decode()
            yield (line + "\n").encode()
    finally:
        await reply.aclose()
        await client.aclose()

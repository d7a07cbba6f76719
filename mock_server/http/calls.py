"""Reading a submit or a sync run once into the `Call` the queue's operations take: its headers,
query, body, addresses and the matched scenario's effect. Bad values raise fal's errors here."""

from __future__ import annotations

from starlette.requests import Request

from falfake.harness.scenarios import current_effect
from falfake.http.request_parts import query_value, read_body
from falfake.http.urls import header, media_root
from falfake.queue.calls import Call
from falfake.queue.rate_limit import RateLimits
from falfake.queue.safety import FORCE_HEADER, forced_stages
from falfake.settings import Settings
from falfake.validation import (
    Priority,
    parse_max_queue_length,
    parse_priority,
    parse_request_timeout,
)
from falfake.webhooks.payloads import checked_target


async def read_call(
    request: Request, settings: Settings, rate_limiter: RateLimits, *, queued: bool
) -> Call:
    """The call, after its key took a rate token (fal's 429 comes before any other check); its
    headers are checked in the order the fake always has (priority, timeout, queue length,
    webhook), so a call with two bad values gets the same error as before."""
    if rate_limiter.limited:
        await rate_limiter.check(header(request.scope, b"authorization") or "")
    scope = request.scope
    priority = Priority.NORMAL
    if queued:
        priority = parse_priority(header(scope, b"x-fal-queue-priority"))
    timeout = parse_request_timeout(
        header(scope, b"x-fal-request-timeout"), settings.min_request_timeout_seconds
    )
    max_queue_length, webhook = None, None
    if queued:
        max_queue_length = parse_max_queue_length(query_value(request, "fal_max_queue_length"))
        webhook = query_value(request, "fal_webhook")
        if webhook is not None:
            webhook = checked_target(webhook, settings.webhooks)
    effect = current_effect()
    roots = [media_root(request, None)]
    if settings.public_url is not None:
        roots.append(settings.public_url)
    return Call(
        body=await read_body(request, settings.max_body_bytes),
        content_type=header(scope, b"content-type"),
        media_root=media_root(request, settings.public_url),
        own_roots=tuple(roots),
        forced_safety=forced_stages(header(scope, FORCE_HEADER)) | effect.safety,
        start_timeout=timeout,
        queue_seconds=effect.queue_seconds,
        run_seconds=effect.run_seconds,
        stuck=effect.stuck,
        stub=effect.stub,
        drop_after_events=effect.drop_after_events,
        failure=effect.failure,
        priority=priority,
        max_queue_length=max_queue_length,
        webhook=webhook,
    )

"""Webhook payloads, targets and retry schedule, as pure functions (PROTOCOL.md §12)."""

from __future__ import annotations

import json
from typing import Any, TypedDict

from falfake.errors import BadRequest, FalError
from falfake.hosts import is_loopback, split_url
from falfake.settings import WebhookSettings


class PayloadBody(TypedDict):
    """What `falfake.contracts.wire.WebhookPayload` describes; a contract test holds the two
    together."""

    error: str | None
    gateway_request_id: str
    payload: Any
    request_id: str
    status: str


def checked_target(url: str, settings: WebhookSettings) -> str:
    """The `fal_webhook` URL if the fake may deliver to it; a 400 otherwise."""
    split = split_url(url)
    if split is None or split[0].scheme not in ("http", "https") or not split[1]:
        raise BadRequest(f"Invalid fal_webhook {url!r}: expected an http(s) URL.")
    host = split[1]
    if not (settings.allow_any_host or is_loopback(host) or host in settings.allowed_hosts):
        raise BadRequest(
            f"falfake delivers webhooks only to loopback addresses; {host!r} needs"
            " --allow-webhook-host."
        )
    return url


def serialised(payload: PayloadBody) -> bytes:
    """As fal serialises it: `json.dumps(sort_keys=True)`, ASCII, no trailing newline."""
    return json.dumps(payload, sort_keys=True).encode()


def success_body(request_id: str, output: dict[str, Any]) -> bytes:
    return serialised(
        {
            "error": None,
            "gateway_request_id": request_id,
            "payload": output,
            "request_id": request_id,
            "status": "OK",
        }
    )


def failure_body(request_id: str, failure: FalError) -> bytes:
    return serialised(
        {
            "error": f"Invalid status code: {failure.status_code}",
            "gateway_request_id": request_id,
            "payload": failure.body(),
            "request_id": request_id,
            "status": "ERROR",
        }
    )

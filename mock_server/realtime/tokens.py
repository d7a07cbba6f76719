"""Temporary tokens (`POST rest.fal.ai/tokens/`, STREAMING.md §2.1): JWTs signed with the fake's
Ed25519 key, bound to app aliases and expiring on the fake's clock.

A replica checks another's token with the shared key alone: nothing is stored. fal's own token
format is not documented; clients only pass it back as `fal_jwt_token`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from falfake.errors import InvalidInput, Unauthorized
from falfake.webhooks.signing import WebhookSigner

# fal's clients ask for 120 s; the fake allows up to a day.
MAX_TOKEN_SECONDS = 24 * 3600
_HEADER = {"alg": "EdDSA", "typ": "JWT"}


def requested_token(body: object) -> tuple[tuple[str, ...], int]:
    """The apps and lifetime a token request asks for; InvalidInput, as fal would, otherwise."""
    if not isinstance(body, dict):
        raise InvalidInput(_entry([], "Input should be a valid dictionary", "dict_type", body))
    apps = body.get("allowed_apps")
    if (
        not isinstance(apps, list)
        or not apps
        or not all(isinstance(app, str) and app for app in apps)
    ):
        raise InvalidInput(
            _entry(
                ["allowed_apps"], "Input should be a non-empty list of app names", "list_type", apps
            )
        )
    seconds = body.get("token_expiration", 120)
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not 1 <= seconds <= MAX_TOKEN_SECONDS
    ):
        raise InvalidInput(
            _entry(
                ["token_expiration"],
                f"Input should be an integer from 1 to {MAX_TOKEN_SECONDS}",
                "int_type",
                seconds,
            )
        )
    return tuple(apps), seconds


def _entry(loc: list[str], msg: str, error_type: str, value: object) -> list[dict[str, Any]]:
    return [{"loc": ["body", *loc], "msg": msg, "type": error_type, "input": value}]


def issue(signer: WebhookSigner, apps: Sequence[str], now: float, seconds: int) -> str:
    """A token for `apps` that expires `seconds` from `now`."""
    claims = {"allowed_apps": list(apps), "iat": int(now), "exp": now + seconds}
    signing_input = f"{_encoded(_HEADER)}.{_encoded(claims)}"
    signature = bytes.fromhex(signer.sign(signing_input.encode()))
    return f"{signing_input}.{_b64(signature)}"


def check(signer: WebhookSigner, token: str, alias: str, now: float) -> None:
    """Return if `token` is one of ours, unexpired and allows `alias`; Unauthorized otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("Invalid token")
    try:
        signature = _unb64(parts[2])
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, binascii.Error):
        raise Unauthorized("Invalid token") from None
    if not signer.verify(f"{parts[0]}.{parts[1]}".encode(), signature) or not isinstance(
        claims, dict
    ):
        raise Unauthorized("Invalid token")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or expires <= now:
        raise Unauthorized("Token expired")
    apps = claims.get("allowed_apps")
    if not isinstance(apps, list) or alias not in apps:
        raise Unauthorized(f"Token not valid for app {alias}")


def alias_of(endpoint_path: str) -> str:
    """The app alias a token names for a path under `/run/` (`fal-ai/any-llm/stream` ->
    `any-llm`): the app name alone, as both clients send it (§2.1)."""
    parts = endpoint_path.strip("/").split("/")
    if parts[0] in ("workflows", "comfy") and len(parts) > 2:
        return parts[2]
    return parts[1] if len(parts) > 1 else parts[0]


def _encoded(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

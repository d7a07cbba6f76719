"""`Authorization: Key …` checks with fal's 401/403 bodies (PROTOCOL.md §11)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import ClassVar

from falfake.errors import Forbidden, Unauthorized
from falfake.settings import Auth

MISSING = "Missing authorization header"
MALFORMED = "Invalid Key Authorization header format. Expected '<key_id>:<key_secret>'."
UNKNOWN = "No user found for Key ID and Secret"
LOCKED = (
    "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing"
)


def check_authorization(header: str | None, auth: Auth) -> None:
    """Raise fal's error for a header that `auth` does not let through; return when it does."""
    if header is None or not header.strip():
        if auth.allow_missing:
            return
        # fal's body for a missing key is unrecorded (§19 q3); this text is the fake's.
        raise Unauthorized(MISSING)
    scheme, _, key = header.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "key" or not key:
        raise Unauthorized(MALFORMED)
    if not auth.keys and not auth.locked_keys:
        return
    if ":" not in key:
        raise Unauthorized(MALFORMED)
    if key in auth.locked_keys:
        raise Forbidden(LOCKED)
    if key not in auth.keys:
        raise Unauthorized(UNKNOWN)


class ControlUnauthorized(Unauthorized):
    """The dashboard or control API without a configured key: a browser shows its login box."""

    extra_headers: ClassVar[Mapping[str, str]] = {"WWW-Authenticate": 'Basic realm="falfake"'}


def check_control_authorization(header: str | None, auth: Auth) -> None:
    """For `control_keys_only`: one of `auth.keys`, as `Key id:secret` or as Basic auth."""
    scheme, _, value = (header or "").strip().partition(" ")
    key = value.strip()
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(key, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    elif scheme.lower() != "key":
        key = ""
    if key not in auth.keys:
        raise ControlUnauthorized("The dashboard and control API need one of the fake's keys.")

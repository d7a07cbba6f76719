"""What a `falfake` option's value may be: each converter turns the text a user typed (or a
`--config` value) into a checked value, or says in a few words what was expected."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_UNITS = {"": 1, "b": 1, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def _number(text: str, kind: Callable[[str], float], noun: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A duration that may be 0 (instant)."""
    value = _number(text, float, "a number of seconds")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


_AGE_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def age(text: str) -> float:
    """A duration in seconds from `90d`, `12h`, `30m`, `45s` or a plain number of seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if match is None or float(match[1]) <= 0:
        raise argparse.ArgumentTypeError(f"expected an age such as 90d, 12h or 30m, got {text!r}")
    return float(match[1]) * _AGE_UNITS[match[2]]


def positive_seconds(text: str) -> float:
    value = _number(text, float, "a number of seconds")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def positive_number(text: str) -> float:
    value = _number(text, float, "a number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def count(text: str) -> int:
    """A whole number of at least 1."""
    value = int(_number(text, int, "a whole number"))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def port(text: str) -> int:
    value = int(_number(text, int, "a port number"))
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535 (0 picks a free port), got {text}")
    return value


def size_in_bytes(text: str) -> int:
    """`1048576`, `512KiB`, `64 MiB` or `2GiB`."""
    match = re.fullmatch(r"\s*([0-9]+)\s*([KMG]iB|B)?\s*", text, re.IGNORECASE)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected bytes such as 1048576 or 64MiB, got {text!r}")
    value = int(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be 1 byte or more, got {text}")
    return value


def video_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"([1-9][0-9]{1,4})x([1-9][0-9]{1,4})", text)
    if match is None or int(match.group(1)) % 2 or int(match.group(2)) % 2:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT with even numbers, e.g. 1280x720, got {text!r}"
        )
    return int(match.group(1)), int(match.group(2))


def api_key(text: str) -> str:
    """A fal key as the dashboard shows it: `KEY_ID:KEY_SECRET`."""
    key_id, colon, secret = text.partition(":")
    if not (key_id and colon and secret) or re.search(r"\s", text):
        raise argparse.ArgumentTypeError(f"expected KEY_ID:KEY_SECRET (no spaces), got {text!r}")
    return text


def base_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(
            f"expected an http(s) URL such as http://127.0.0.1:8000, got {text!r}"
        )
    return text.rstrip("/")


def upstream(text: str) -> str:
    """`fal`, or the URL of a server with the fake's path layout."""
    return text if text == "fal" else base_url(text)


def non_empty(value: str) -> str:
    """Any text but the empty one."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def host_name(value: str) -> str:
    if not value.strip() or re.search(r"[\s/]", value):
        raise argparse.ArgumentTypeError(
            f"expected a host name such as hooks.internal, got {value!r}"
        )
    return value.lower()


def readable_file(text: str) -> Path:
    path = Path(text).expanduser().absolute()
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {text}: {exc.strerror}") from None
    return path


def folder(text: str) -> Path:
    """A directory the fake will create if needed; whether it can is checked at start. Absolute,
    so what `env` exports (SSL_CERT_FILE) works from any folder."""
    return Path(text).expanduser().absolute()


def database_url(text: str) -> str:
    """A PostgreSQL URL, as libpq and asyncpg read it."""
    if not text.startswith(("postgresql://", "postgres://")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a PostgreSQL URL (postgresql://user@host:port/database)"
        )
    return text


# What `--help` calls a value of each kind.
METAVARS: dict[Callable[[str], Any], str] = {
    seconds: "SECONDS",
    positive_seconds: "SECONDS",
    positive_number: "N",
    count: "N",
    port: "PORT",
    size_in_bytes: "BYTES",
    folder: "DIR",
}

# Options whose value is a path: a relative path in a `--config` file is relative to that file.
PATH_TYPES: frozenset[Callable[[str], Any]] = frozenset({readable_file, folder})


def bytes_text(value: int) -> str:
    for unit in ("GiB", "MiB", "KiB"):
        if value % _UNITS[unit.lower()] == 0:
            return f"{value // _UNITS[unit.lower()]} {unit}"
    return str(value)

"""Each live reply held to the contract (issue 33): its status code, envelope (contracts/wire.py),
the endpoint's output schema (its fal document), and the headers clients read.

What is checked, by call: a submit answers 200 with an `IN_QUEUE` QueueStatus; a status 200 or
202 with a QueueStatus; a cancel 202 (or 400 once finished) with a CancelReply; a result 200 with
the endpoint's output (400 with the still-in-progress body before it is done); a sync run 200
with the output and `x-fal-request-id`; any error a flat request error or a 422 detail list. A
result or run that fal answered although the contract rejects its input (or refused with a 422
although the contract accepts it) is drift too.
Storage and media replies are passed on unchecked. The models load with the first check.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

OutputModel = Callable[[str], "type[BaseModel] | None"]
# So a header stays short: the first few, each cut.
MOST_IN_HEADER = 3
MOST_CHARACTERS = 160


@dataclass(frozen=True, slots=True)
class Exchange:
    """One forwarded call and its reply, as the check sees them."""

    method: str
    service: str
    rest: str  # the path after the service's prefix: `/fal-ai/flux/dev`, `/owner/app/requests/…`
    status: int
    body: Any
    headers: Mapping[str, str]
    endpoint_id: str | None = None  # for a result: the endpoint its submit named
    # What the contract found wrong with the call's input ([] for a valid one; None: unknown).
    input_problems: list[str] | None = None


def kind_of(method: str, service: str, rest: str) -> str | None:
    """`submit`, `status`, `cancel`, `result` or `run`; None for a call that is not checked."""
    if service == "run":
        return "run" if method == "POST" and not rest.endswith("/stream") else None
    if service != "queue":
        return None
    if method == "POST" and "/requests/" not in rest:
        return "submit"
    if "/requests/" not in rest:
        return None
    if rest.endswith("/status") and method == "GET":
        return "status"
    if rest.endswith("/cancel") and method == "PUT":
        return "cancel"
    if method == "GET" and rest.rstrip("/").split("/")[-2] == "requests":
        return "result"
    return None


def violations(exchange: Exchange, output_model: OutputModel) -> list[str]:
    """What in the reply breaks the contract, each as one line; [] when it keeps it."""
    from falfake.contracts import wire

    kind = kind_of(exchange.method, exchange.service, exchange.rest)
    if kind is None:
        return []
    status, body = exchange.status, exchange.body
    if status >= 400:
        if kind == "result" and status == 400 and _fits(wire.StillInProgressBody, body):
            return []
        if status == 422 and kind in ("result", "run") and exchange.input_problems == []:
            found = [f"fal rejected an input the contract accepts: {_first_message(body)}"]
            return found + _problems(wire.ValidationErrorBody, body, "422 body")
        error_model: type[BaseModel] = (
            wire.ValidationErrorBody if status == 422 else wire.RequestErrorBody
        )
        return _problems(error_model, body, f"{status} body")
    expected = {"submit": (200,), "status": (200, 202), "cancel": (202,)}.get(kind, (200,))
    found = [] if status in expected else [f"status {status}, expected {expected}"]
    if kind in ("submit", "status"):
        found += _problems(wire.QueueStatus, body, "status body")
        if kind == "submit" and isinstance(body, dict) and body.get("status") != "IN_QUEUE":
            found.append(f"submit status {body.get('status')!r}, expected 'IN_QUEUE'")
    elif kind == "cancel":
        found += _problems(wire.CancelReply, body, "cancel body")
    else:
        endpoint_id = exchange.rest.strip("/") if kind == "run" else exchange.endpoint_id
        model = None if endpoint_id is None else output_model(endpoint_id)
        if model is not None:
            found += _problems(model, body, f"{endpoint_id} output")
        if kind == "run" and "x-fal-request-id" not in exchange.headers:
            found.append("no x-fal-request-id header")
        if exchange.input_problems:
            found.append(
                f"fal accepted an input the contract rejects: {exchange.input_problems[0]}"
            )
    return found


def input_problems(model: type[BaseModel] | None, body: Any) -> list[str] | None:
    """What the endpoint's input model finds wrong with `body` (validated as the fake validates
    inputs, coercing as pydantic does); None when there is no model to ask."""
    from falfake.contracts.lifecycles import problems

    return None if model is None else problems(model, body, strict=False)


def _first_message(body: Any) -> str:
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("msg", ""))
    return str(detail)


def _fits(model: type[BaseModel], body: Any) -> bool:
    return not _problems(model, body, "")


def _problems(model: type[BaseModel], body: Any, where: str) -> list[str]:
    from falfake.contracts.lifecycles import problems  # pydantic with the first check

    return problems(model, body, where)


def header_value(found: list[str]) -> str:
    """The `X-Falfake-Contract-Violations` value: the first few, ASCII, on one line."""
    shown = [line[:MOST_CHARACTERS] for line in found[:MOST_IN_HEADER]]
    if len(found) > MOST_IN_HEADER:
        shown.append(f"and {len(found) - MOST_IN_HEADER} more")
    text = "; ".join(shown)
    return text.encode("ascii", "replace").decode().replace("\r", " ").replace("\n", " ")


class Violations:
    """The newest replies that broke the contract, for the dashboard (the drift report keeps
    them all)."""

    def __init__(self, most: int = 200) -> None:
        self._kept: deque[dict[str, Any]] = deque(maxlen=most)

    def add(self, report: dict[str, Any]) -> None:
        self._kept.append(report)

    def newest(self) -> list[dict[str, Any]]:
        return list(reversed(self._kept))

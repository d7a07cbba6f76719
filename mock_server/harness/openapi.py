"""The OpenAPI document of falfake's own control API (under `/_falfake/`)."""

from __future__ import annotations

import functools
from typing import Any


def _ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_OBJECT = {"type": "object"}
_BODY = {"requestBody": {"content": {"application/json": {"schema": _OBJECT}}}}


@functools.cache
def control_document() -> dict[str, Any]:
    """The document; made when first asked for, as the scenario schema needs pydantic."""
    from falfake.http.bodies import SCENARIO

    return {
        "openapi": "3.1.0",
        "info": {"title": "falfake control API", "version": "1"},
        "paths": {
            "/_falfake/scenarios": {
                "get": {"summary": "active scenarios", "responses": {"200": _ok("list", _OBJECT)}},
                "post": {
                    "summary": "add a scenario",
                    "requestBody": {
                        "content": {"application/json": {"schema": SCENARIO.json_schema()}}
                    },
                    "responses": {"201": _ok("added, with its id", _OBJECT), "422": _ok("bad")},
                },
                "delete": {"summary": "remove every scenario", "responses": {"204": _ok("done")}},
            },
            "/_falfake/scenarios/{scenario_id}": {
                "delete": {
                    "parameters": [
                        {
                            "name": "scenario_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {"204": _ok("removed"), "404": _ok("unknown")},
                }
            },
            "/_falfake/requests": {
                "get": {
                    "summary": "the request journal; filters method, path (substring), host",
                    "parameters": [
                        {"name": name, "in": "query", "schema": {"type": "string"}}
                        for name in ("method", "path", "host")
                    ],
                    "responses": {"200": _ok("requests, oldest first", _OBJECT)},
                },
                "delete": {"summary": "clear the journal", "responses": {"204": _ok("cleared")}},
            },
            "/_falfake/requests/count": {
                "get": {
                    "summary": "how many requests match",
                    "responses": {"200": _ok("count", _OBJECT)},
                }
            },
            "/_falfake/clock": {"get": {"responses": {"200": _ok("the fake's time", _OBJECT)}}},
            "/_falfake/clock/advance": {
                "post": {
                    **_BODY,
                    "summary": "move a virtual clock forward by `seconds`",
                    "responses": {"200": _ok("the new time", _OBJECT), "409": _ok("real clock")},
                }
            },
            "/_falfake/clock/run-until": {
                "post": {
                    **_BODY,
                    "summary": "move a virtual clock until `request_id` reaches `status`",
                    "responses": {"200": _ok("its status", _OBJECT), "409": _ok("never")},
                }
            },
            "/_falfake/webhooks": {
                "get": {"responses": {"200": _ok("delivery attempts", _OBJECT)}}
            },
            "/_falfake/reset": {
                "post": {"summary": "forget everything", "responses": {"204": _ok("done")}}
            },
            "/_falfake/health": {
                "get": {
                    "summary": "ready to serve: the storage answers",
                    "responses": {
                        "200": _ok("ready", _OBJECT),
                        "503": _ok("not ready, with the reason", _OBJECT),
                    },
                }
            },
        },
    }

"""The OpenAPI 3.1 document of everything falfake serves for fal, generated from the models.

Paths are written as a direct caller reaches the fake (`/queue`, `/run`, `/rest`, `/cdn` prefixes on
one port); through the proxy the same operations live on fal's hosts without the prefix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from falfake.contracts.documents import EndpointDocument, plain_schema
from falfake.contracts.reference_to_video import (
    CATEGORY,
    ENDPOINT_ID,
    ReferenceToVideoInput,
    ReferenceToVideoOutput,
)
from falfake.contracts.rules import CONTENT_TYPE_MAX_LENGTH, CONTENT_TYPE_PATTERN
from falfake.contracts.wire import (
    WIRE_MODELS,
    AccessUrl,
    CancelReply,
    CdnToken,
    Jwks,
    QueueStatus,
    RequestErrorBody,
    StillInProgressBody,
    UploadUrls,
    ValidationErrorBody,
    WebhookPayload,
)

APP_ID = "/".join(ENDPOINT_ID.split("/")[:2])
# The fake's default rule for webhook targets (--allow-webhook-host widens it).
_PORT = r"([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
_LOOPBACK_URL = rf"^https?://(127\.0\.0\.1|localhost|\[::1\])(:{_PORT})?(/[!-~]*)?$"
REF = "#/components/schemas/{model}"
_REQUEST_ID = {
    "name": "request_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1},
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# fal's bodies for these are unrecorded (PROTOCOL.md §15.3); the fake's choices, said here.
_ERROR_NOTES = {
    413: "request error: body or upload over the limit, or a file larger than all storage",
    404: "request error: unknown, or forgotten past the retention bounds (what fal answers for an"
    " expired result or file is unrecorded, PROTOCOL.md §6)",
    429: "request error (`rate_limited`, with `Retry-After` under `--rate-limit`): queue over"
    " `fal_max_queue_length`, requests or stored bytes at their bound with none finished to"
    " forget, or the key over `--rate-limit`",
}


def _errors(*codes: int) -> dict[str, Any]:
    """The request errors an operation may answer, all in the flat shape."""
    return {
        str(code): _json(_ref(RequestErrorBody), _ERROR_NOTES.get(code, "request error"))
        for code in codes
    }


def _links(suffix: str) -> dict[str, Any]:
    by_id = {"request_id": "$response.body#/request_id"}
    return {
        "GetStatus": {"operationId": f"status{suffix}", "parameters": by_id},
        "GetResult": {"operationId": f"result{suffix}", "parameters": by_id},
        "Cancel": {"operationId": f"cancel{suffix}", "parameters": by_id},
    }


@dataclass(frozen=True, slots=True)
class Operations:
    """One endpoint's queue and run operations: where they live, what goes in and comes out.

    `suffix` keeps operation ids unique when several endpoints share a document.
    """

    endpoint_id: str
    request_prefix: str  # status, result and cancel live under /queue/<prefix>/requests/
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    suffix: str = ""


def _queue_paths(ops: Operations) -> dict[str, Any]:
    base = f"/queue/{ops.request_prefix}/requests/{{request_id}}"
    logs = {
        "name": "logs",
        "in": "query",
        "schema": {"type": "string", "enum": ["1", "0", "true", "false"]},
    }
    status = _json(_ref(QueueStatus), "the request's status")
    return {
        f"/queue/{ops.endpoint_id}": {
            "post": {
                "operationId": f"submit{ops.suffix}",
                "summary": "Queue a request; input is validated when the runner starts it.",
                "parameters": [
                    {
                        "name": "fal_webhook",
                        "in": "query",
                        "description": "where to POST the result; loopback only by default",
                        "schema": {"type": "string", "pattern": _LOOPBACK_URL},
                    },
                    {
                        "name": "fal_max_queue_length",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 999_999_999},
                    },
                    {
                        "name": "X-Fal-Queue-Priority",
                        "in": "header",
                        "schema": {"type": "string", "enum": ["normal", "low"]},
                    },
                    {
                        "name": "X-Fal-Request-Timeout",
                        "in": "header",
                        "schema": {"type": "number", "minimum": 0.1},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ops.input_schema}},
                },
                "responses": {
                    "200": {**_json(_ref(QueueStatus), "queued"), "links": _links(ops.suffix)},
                    "422": _json(_ref(ValidationErrorBody), "input refused at submit"),
                    **_errors(400, 401, 403, 413, 429),
                },
            }
        },
        f"{base}/status": {
            "get": {
                "operationId": f"status{ops.suffix}",
                "parameters": [_REQUEST_ID, logs],
                "responses": {"200": status, "202": status, **_errors(400, 401, 403, 404)},
            }
        },
        f"{base}/status/stream": {
            "get": {
                "operationId": f"status_stream{ops.suffix}",
                "parameters": [_REQUEST_ID, logs],
                "responses": {
                    "200": {
                        "description": "a `data:` status event per change, closed after COMPLETED",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_errors(400, 401, 403, 404),
                },
            }
        },
        base: {
            "get": {
                "operationId": f"result{ops.suffix}",
                "parameters": [_REQUEST_ID],
                "responses": {
                    "200": _json(ops.output_schema, "the output"),
                    "400": _json(
                        {"anyOf": [_ref(StillInProgressBody), _ref(RequestErrorBody)]},
                        "not finished yet, or a body the app could not parse",
                    ),
                    "422": _json(_ref(ValidationErrorBody), "validation or model error"),
                    **_errors(401, 403, 404, 499, 500, 502, 503, 504),
                },
            }
        },
        f"{base}/cancel": {
            "put": {
                "operationId": f"cancel{ops.suffix}",
                "parameters": [_REQUEST_ID],
                "responses": {
                    "202": _json(_ref(CancelReply), "cancellation requested"),
                    "400": _json(
                        {"anyOf": [_ref(RequestErrorBody), _ref(CancelReply)]},
                        "already completed",
                    ),
                    "404": _json(
                        {"anyOf": [_ref(CancelReply), _ref(RequestErrorBody)]},
                        "unknown request (or a path no route matches)",
                    ),
                    **_errors(401, 403),
                },
            }
        },
    }


def _run_path(ops: Operations) -> dict[str, Any]:
    return {
        f"/run/{ops.endpoint_id}": {
            "post": {
                "operationId": f"run{ops.suffix}",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ops.input_schema}},
                },
                "responses": {
                    "200": _json(ops.output_schema, "the output"),
                    "422": _json(_ref(ValidationErrorBody), "validation or model error"),
                    **_errors(400, 401, 403, 413, 429, 504),
                },
            }
        }
    }


def _file_path(operation_id: str) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "security": [],
            "parameters": [
                {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "the file", "content": {"*/*": {}}},
                "206": {"description": "a byte range", "content": {"*/*": {}}},
                **_errors(404, 416),
            },
        }
    }


def _other_paths() -> dict[str, Any]:
    binary = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    initiate = {
        "post": {
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file_name": {"type": "string"},
                                "content_type": {
                                    "type": "string",
                                    "maxLength": CONTENT_TYPE_MAX_LENGTH,
                                    "pattern": CONTENT_TYPE_PATTERN,
                                },
                            },
                        }
                    }
                }
            },
            "responses": {
                "200": _json(_ref(UploadUrls), "where to PUT the bytes, and the file's URL"),
                "422": _json(_ref(ValidationErrorBody), "bad body"),
                **_errors(400, 401, 403, 413),
            },
        }
    }
    return {
        "/rest/storage/auth/token": {
            "post": {
                "operationId": "cdn_token",
                "responses": {"200": _json(_ref(CdnToken), "CDN token"), **_errors(401, 403)},
            }
        },
        "/rest/storage/upload/initiate": {
            "post": {"operationId": "upload_initiate", **initiate["post"]}
        },
        "/rest/storage/upload/initiate-multipart": {
            "post": {"operationId": "upload_initiate_multipart", **initiate["post"]}
        },
        "/cdn/files/upload": {
            "post": {
                "operationId": "cdn_upload",
                "requestBody": {"content": binary},
                "responses": {"200": _json(_ref(AccessUrl), "the file's URL"), **_errors(401, 413)},
            }
        },
        "/files/{path}": _file_path("file"),
        # fal's CDN hosts serve the same files; a GET of /cdn/files/upload is a file named so.
        "/cdn/files/{path}": _file_path("cdn_file"),
        "/.well-known/jwks.json": {
            "get": {
                "operationId": "jwks",
                "security": [],
                "responses": {"200": _json(_ref(Jwks), "the webhook signing keys")},
            }
        },
    }


def openapi(documents: Sequence[EndpointDocument] = ()) -> dict[str, Any]:
    """The whole document, for the seed endpoint and each of `documents` (the seed's own among
    them is skipped: the models describe it); `python -m falfake.contracts schemas` writes it,
    with the built-in documents, to contracts/openapi.json, and the fake serves it with those it
    loaded."""
    models: list[type[BaseModel]] = [ReferenceToVideoInput, ReferenceToVideoOutput, *WIRE_MODELS]
    _, definitions = models_json_schema(
        [(model, "serialization") for model in models], ref_template=REF
    )
    schemas = definitions["$defs"]
    operations = [
        Operations(ENDPOINT_ID, APP_ID, _ref(ReferenceToVideoInput), _ref(ReferenceToVideoOutput))
    ]
    for document in documents:
        if document.endpoint_id == ENDPOINT_ID:
            continue
        name = "".join(
            p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", document.endpoint_id)
        )
        schemas[f"{name}Input"] = plain_schema(document.input_schema)
        schemas[f"{name}Output"] = plain_schema(document.output_schema)
        operations.append(
            Operations(
                document.endpoint_id,
                document.endpoint_id,
                {"$ref": REF.format(model=f"{name}Input")},
                {"$ref": REF.format(model=f"{name}Output")},
                suffix=f"__{name}",
            )
        )
    paths: dict[str, Any] = {}
    for ops in operations:
        paths |= _queue_paths(ops)
    for ops in operations:
        paths |= _run_path(ops)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "falfake: fal.ai queue API for google/gemini-omni-flash/reference-to-video"
            " and the endpoints served beside it",
            "version": "1",
        },
        "servers": [{"url": "http://127.0.0.1:8000"}],
        "security": [{"falKey": []}],
        "paths": {**paths, **_other_paths()},
        "webhooks": {
            "requestFinished": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": _ref(WebhookPayload)}}
                    },
                    "responses": {"200": {"description": "any 2xx ends the retries"}},
                }
            }
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "falKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Key <key>`; any non-empty key by default",
                }
            },
        },
    }


def endpoint_document() -> dict[str, Any]:
    """The seed endpoint's document in fal's per-endpoint format (ENDPOINTS.md §1), from the
    models: the same kind of file as the built-in ones beside it in contracts/endpoints/."""
    models: list[type[BaseModel]] = [QueueStatus, ReferenceToVideoInput, ReferenceToVideoOutput]
    _, definitions = models_json_schema(
        [(model, "serialization") for model in models], ref_template=REF
    )
    base = f"/{ENDPOINT_ID}/requests/{{request_id}}"
    request_id = {**_REQUEST_ID, "schema": {"type": "string"}}
    status = {"200": _json(_ref(QueueStatus), "The request status.")}
    return {
        "openapi": "3.0.4",
        "info": {
            "title": f"Queue OpenAPI for {ENDPOINT_ID}",
            "version": "1.0.0",
            "description": f"The OpenAPI schema for the {ENDPOINT_ID} queue, written by falfake"
            " from its models (contracts/reference_to_video.py).",
            "x-fal-metadata": {
                "endpointId": ENDPOINT_ID,
                "category": CATEGORY,
                "playgroundUrl": f"https://fal.ai/models/{ENDPOINT_ID}",
                "documentationUrl": f"https://fal.ai/models/{ENDPOINT_ID}/api",
            },
        },
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {
                "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "Authorization"}
            },
        },
        "paths": {
            f"{base}/status": {"get": {"parameters": [request_id], "responses": status}},
            f"{base}/cancel": {
                "put": {
                    "parameters": [request_id],
                    "responses": {"200": _json(_ref(CancelReply), "The request was cancelled.")},
                }
            },
            f"/{ENDPOINT_ID}": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref(ReferenceToVideoInput)}},
                    },
                    "responses": status,
                }
            },
            base: {
                "get": {
                    "parameters": [request_id],
                    "responses": {
                        "200": _json(_ref(ReferenceToVideoOutput), "Result of the request.")
                    },
                }
            },
        },
        "servers": [{"url": "https://queue.fal.run"}],
        "security": [{"apiKeyAuth": []}],
    }

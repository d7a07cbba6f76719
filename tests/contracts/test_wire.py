"""The replies the fake builds without pydantic have exactly the keys `falfake.contracts.wire`
describes.

The fake types its hot and simple replies as TypedDicts, so a key renamed on either side would
otherwise drift unseen; the recorded exchanges cover only the queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_type_hints

import pytest
from pydantic import BaseModel

from falfake.contracts import wire
from falfake.errors import BadRequest
from falfake.media import storage_routes
from falfake.queue import replies
from falfake.webhooks import payloads, signing

PAIRS: list[tuple[type, type[BaseModel]]] = [
    (replies.CancelBody, wire.CancelReply),
    (replies.LogBody, wire.LogEntry),
    (storage_routes.CdnTokenBody, wire.CdnToken),
    (storage_routes.AccessUrlBody, wire.AccessUrl),
    (storage_routes.MultipartStartedBody, wire.MultipartStarted),
    (storage_routes.UploadUrlsBody, wire.UploadUrls),
    (storage_routes.UploadPartBody, wire.UploadPart),
    (storage_routes.CompletedBody, wire.UploadCompleted),
    (signing.JwkBody, wire.Jwk),
    (signing.JwksBody, wire.Jwks),
    (payloads.PayloadBody, wire.WebhookPayload),
]


def wire_keys(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def required_wire_keys(model: type[BaseModel]) -> set[str]:
    return {
        field.alias or name for name, field in model.model_fields.items() if field.is_required()
    }


@pytest.mark.parametrize(("shape", "model"), PAIRS, ids=lambda item: item.__name__)
def test_the_fakes_reply_shape_is_the_wire_model(shape: type, model: type[BaseModel]) -> None:
    keys = set(get_type_hints(shape))
    assert required_wire_keys(model) <= keys <= wire_keys(model)


def test_a_signed_jwks_validates_against_the_wire_model(tmp_path: Path) -> None:
    wire.Jwks.model_validate(signing.WebhookSigner.in_folder(tmp_path).jwks())


def test_webhook_bodies_validate_against_the_wire_model() -> None:
    wire.WebhookPayload.model_validate_json(payloads.success_body("r1", {"video": {}}))
    wire.WebhookPayload.model_validate_json(payloads.failure_body("r1", BadRequest("no")))

"""The parts of one running fake that every route needs, kept on `app.state.fake`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from mock_server.clock import Clock
from mock_server.delivery import Deliveries
from mock_server.files import FileStore
from mock_server.images import Fetch
from mock_server.settings import Settings
from mock_server.signing import WebhookSigner
from mock_server.store import RequestStore
from mock_server.uploads import Uploads


@dataclass(frozen=True, slots=True)
class Fake:
    settings: Settings
    clock: Clock
    store: RequestStore
    files: FileStore
    uploads: Uploads
    fetch: Fetch | None
    signer: WebhookSigner
    deliveries: Deliveries
    new_request_id: Callable[[], str]
    new_output_path: Callable[[], str]
    new_upload_path: Callable[[str], str]


def fake_of(request: Request) -> Fake:
    fake: Fake = request.app.state.fake
    return fake

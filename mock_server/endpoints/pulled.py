"""fal's per-endpoint documents fetched from its public URL (ENDPOINTS.md §1, no key): checked to
be one the fake can serve, written whole. `falfake endpoints pull` and upstream mode both use it."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from falfake.contracts.documents import DocumentError, EndpointDocument, parse_document

DOCUMENT_URL = "https://fal.ai/api/openapi/queue/openapi.json?endpoint_id={}"
TIMEOUT_SECONDS = 30.0


class PullError(Exception):
    """A document that could not be pulled; the message says what to do."""


def file_name(endpoint_id: str) -> str:
    """The document's file name, as contracts/endpoints/ names them: `fal-ai--flux--dev.json`."""
    return endpoint_id.replace("/", "--") + ".json"


def document_url(endpoint_id: str) -> str:
    return DOCUMENT_URL.format(quote(endpoint_id, safe="/"))


def checked(endpoint_id: str, status: int, content: bytes) -> tuple[object, EndpointDocument]:
    """The reply's document (as fal sent it, and as read); PullError if it is not this one's."""
    url = document_url(endpoint_id)
    if status != 200:
        raise PullError(f"{url} answered {status} for {endpoint_id}: is the id right?")
    try:
        data = json.loads(content)
        document = parse_document(data, url)
    except (ValueError, DocumentError) as exc:
        raise PullError(f"{url} did not answer with a document falfake can serve: {exc}") from None
    if document.endpoint_id != endpoint_id:
        raise PullError(f"{url} describes {document.endpoint_id}, not {endpoint_id}")
    return data, document


def written(folder: Path, endpoint_id: str, data: object) -> Path:
    """The document written into `folder` whole (a reviewer never sees half of one), replacing
    an older one."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(endpoint_id)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def unreachable(endpoint_id: str, folder: Path, error: Exception) -> PullError:
    path = folder / file_name(endpoint_id)
    return PullError(
        f"cannot reach fal.ai for {endpoint_id} ({error!r});"
        f" fetch {document_url(endpoint_id)} by hand into {path}"
    )

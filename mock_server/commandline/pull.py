"""`falfake endpoints pull ID...`: fal's per-endpoint OpenAPI documents, fetched from fal's public
URL (no key; ENDPOINTS.md §1) into a folder the team commits and serves with `--endpoints-dir`.

This is the one command that reaches the internet, and only because the user asked by name;
without a network it says which URL to fetch by hand, and where to put the file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from falfake.contracts.documents import ENDPOINT_ID_PATTERN, DocumentError, parse_document

if TYPE_CHECKING:  # httpx loads with the command, not with the command line
    import httpx

DOCUMENT_URL = "https://fal.ai/api/openapi/queue/openapi.json?endpoint_id={}"
DEFAULT_FOLDER = Path("endpoints")
TIMEOUT_SECONDS = 30.0


class PullError(Exception):
    """A document that could not be pulled; the message says what to do."""


def file_name(endpoint_id: str) -> str:
    """The document's file name, as contracts/endpoints/ names them: `fal-ai--flux--dev.json`."""
    return endpoint_id.replace("/", "--") + ".json"


def pull(endpoint_ids: Sequence[str], folder: Path, client: httpx.Client) -> list[Path]:
    """Each endpoint's document, checked to be one the fake can serve, written into `folder`
    (a document pulled again replaces the old one); PullError at the first that fails."""
    for endpoint_id in endpoint_ids:
        if not ENDPOINT_ID_PATTERN.fullmatch(endpoint_id):
            raise PullError(f"{endpoint_id!r} is not an endpoint id like fal-ai/flux/dev")
    folder.mkdir(parents=True, exist_ok=True)
    return [_pulled(endpoint_id, folder, client) for endpoint_id in endpoint_ids]


def _pulled(endpoint_id: str, folder: Path, client: httpx.Client) -> Path:
    import httpx

    url = DOCUMENT_URL.format(quote(endpoint_id, safe="/"))
    path = folder / file_name(endpoint_id)
    by_hand = f"fetch {url} by hand into {path}"
    try:
        reply = client.get(url, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise PullError(f"cannot reach fal.ai for {endpoint_id} ({exc!r}); {by_hand}") from None
    if reply.status_code != 200:
        raise PullError(f"{url} answered {reply.status_code} for {endpoint_id}: is the id right?")
    try:
        data = reply.json()
        document = parse_document(data, url)
    except (ValueError, DocumentError) as exc:
        raise PullError(f"{url} did not answer with a document falfake can serve: {exc}") from None
    if document.endpoint_id != endpoint_id:
        raise PullError(f"{url} describes {document.endpoint_id}, not {endpoint_id}")
    written = path.with_suffix(".json.partial")
    written.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.replace(path)  # whole or not at all: a reviewer never sees half a document
    return path

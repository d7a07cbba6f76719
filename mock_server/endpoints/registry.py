"""The endpoints a fake serves, by id: the seed endpoint, the documents built in under
`contracts/endpoints/`, and those a user loads (`--endpoint FILE`, `--endpoints-dir DIR`).

A user's document replaces a built-in one of the same id (fal's own document is newer than ours);
the seed endpoint is ours alone, and two user documents for one id are an error, since which one
wins would be a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.paths import contract_path
from mock_server.endpoints.documented import documented_endpoint
from mock_server.endpoints.documents import DocumentError, EndpointDocument, read_document
from mock_server.endpoints.reference_to_video import REFERENCE_TO_VIDEO
from mock_server.queue.plans import Endpoint

BUILT_IN_FOLDER = contract_path("endpoints")


@dataclass(frozen=True, slots=True)
class Served:
    endpoints: dict[str, Endpoint]
    documents: dict[str, EndpointDocument]
    # Worth saying once at start: references a document makes to schemas it does not define.
    warnings: tuple[str, ...] = ()


def documents_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DocumentError(str(folder), "is not a folder")
    return sorted(folder.glob("*.json"))


def served(files: Sequence[Path] = (), folder: Path | None = None) -> Served:
    """Every endpoint to serve; `DocumentError` names the first file that cannot be served."""
    documents = {doc.endpoint_id: doc for doc in map(read_document, documents_in(BUILT_IN_FOLDER))}
    own: dict[str, str] = {}
    for path in [*(documents_in(folder) if folder is not None else []), *files]:
        document = read_document(path)
        if document.endpoint_id == REFERENCE_TO_VIDEO.endpoint_id:
            raise DocumentError(str(path), f"{document.endpoint_id} is falfake's own model")
        if document.endpoint_id in own and own[document.endpoint_id] != str(path):
            raise DocumentError(
                str(path), f"{document.endpoint_id} is described by {own[document.endpoint_id]} too"
            )
        own[document.endpoint_id] = str(path)
        documents[document.endpoint_id] = document
    endpoints = {REFERENCE_TO_VIDEO.endpoint_id: REFERENCE_TO_VIDEO}
    endpoints |= {eid: documented_endpoint(doc) for eid, doc in sorted(documents.items())}
    warnings = tuple(
        f"{doc.source}: {ref} is not defined; that field accepts anything"
        for doc in documents.values()
        for ref in doc.missing_refs
    )
    return Served(endpoints, documents, warnings)

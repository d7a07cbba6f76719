"""The endpoints a fake serves, by id: the seed endpoint, the documents built in under
`contracts/endpoints/`, and those a user loads (`--endpoint FILE`, `--endpoints-dir DIR`).

A user's document replaces a built-in one of the same id (fal's own document is newer than ours);
the seed endpoint is ours alone (a document of it is left aside with a warning), and two user
documents for one id are an error, since which one wins would be a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from falfake.contracts.documents import (
    DocumentError,
    EndpointDocument,
    built_in_documents,
    documents_in,
    read_document,
)
from falfake.endpoints.documented import documented_endpoint
from falfake.endpoints.reference_to_video import REFERENCE_TO_VIDEO
from falfake.queue.plans import Endpoint


@dataclass(frozen=True, slots=True)
class Served:
    endpoints: dict[str, Endpoint]
    documents: dict[str, EndpointDocument]
    # Worth saying once at start: references a document makes to schemas it does not define.
    warnings: tuple[str, ...] = ()


def served(files: Sequence[Path] = (), folder: Path | None = None) -> Served:
    """Every endpoint to serve; `DocumentError` names the first file that cannot be served."""
    documents = {doc.endpoint_id: doc for doc in built_in_documents()}
    own: dict[str, str] = {}
    ignored: list[str] = []
    for path in [*(documents_in(folder) if folder is not None else []), *files]:
        document = read_document(path)
        if document.endpoint_id == REFERENCE_TO_VIDEO.endpoint_id:
            # fal's own document of the seed (or a copy of contracts/endpoints/) in a folder of
            # documents: the seed keeps its own models, richer than any document.
            ignored.append(f"{path}: {document.endpoint_id} is served by falfake's own model")
            continue
        if document.endpoint_id in own and own[document.endpoint_id] != str(path):
            raise DocumentError(
                str(path), f"{document.endpoint_id} is described by {own[document.endpoint_id]} too"
            )
        own[document.endpoint_id] = str(path)
        documents[document.endpoint_id] = document
    endpoints = {REFERENCE_TO_VIDEO.endpoint_id: REFERENCE_TO_VIDEO}
    # The seed's document is made from its models, which serve it themselves.
    endpoints |= {
        eid: documented_endpoint(doc)
        for eid, doc in sorted(documents.items())
        if eid != REFERENCE_TO_VIDEO.endpoint_id
    }
    warnings = tuple(ignored) + tuple(
        f"{doc.source}: {ref} is not defined; that field accepts anything"
        for doc in documents.values()
        for ref in doc.missing_refs
    )
    return Served(endpoints, documents, warnings)

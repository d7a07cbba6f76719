"""`falfake endpoints pull ID...`: fal's per-endpoint OpenAPI documents, fetched from fal's public
URL (no key; `falfake.endpoints.pulled`) into a folder the team commits and serves with
`--endpoints-dir`.

This command reaches the internet only because the user asked by name; without a network it says
which URL to fetch by hand, and where to put the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from falfake.contracts.documents import ENDPOINT_ID_PATTERN
from falfake.endpoints.pulled import (
    TIMEOUT_SECONDS,
    PullError,
    checked,
    document_url,
    unreachable,
    written,
)

if TYPE_CHECKING:  # httpx loads with the command, not with the command line
    import httpx

DEFAULT_FOLDER = Path("endpoints")


def pull(endpoint_ids: Sequence[str], folder: Path, client: httpx.Client) -> list[Path]:
    """Each endpoint's document, checked to be one the fake can serve, written into `folder`
    (a document pulled again replaces the old one); PullError at the first that fails."""
    import httpx

    for endpoint_id in endpoint_ids:
        if not ENDPOINT_ID_PATTERN.fullmatch(endpoint_id):
            raise PullError(f"{endpoint_id!r} is not an endpoint id like fal-ai/flux/dev")
    paths = []
    for endpoint_id in endpoint_ids:
        try:
            reply = client.get(document_url(endpoint_id), timeout=TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            raise unreachable(endpoint_id, folder, exc) from None
        data, _ = checked(endpoint_id, reply.status_code, reply.content)
        paths.append(written(folder, endpoint_id, data))
    return paths

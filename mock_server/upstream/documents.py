"""The output models upstream replies are checked with: the served endpoints' documents, and,
forwarding to fal itself, those pulled from fal's public URL the first time an endpoint is
called (into `--endpoints-dir` when given, so the team can commit them).

A pull runs in the background: the submit that asked for it is not held up, and its result, read
later, is checked. Offline, one warning says which URL to fetch by hand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from falfake.contracts.documents import ENDPOINT_ID_PATTERN, EndpointDocument
from falfake.endpoints.pulled import (
    TIMEOUT_SECONDS,
    PullError,
    checked,
    document_url,
    unreachable,
    written,
)

logger = logging.getLogger("falfake")
SEED = "google/gemini-omni-flash/reference-to-video"


class Documents:
    def __init__(
        self, documents: Mapping[str, EndpointDocument], *, pull: bool, folder: Path | None
    ) -> None:
        self._documents = dict(documents)
        self._pull, self._folder = pull, folder
        self._models: dict[tuple[str, str], Any] = {}
        self._asked: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def output_model(self, endpoint_id: str) -> Any:
        """The endpoint's output model; None while its document is unknown (or being pulled)."""
        return self._model(endpoint_id, "output")

    def input_model(self, endpoint_id: str) -> Any:
        """The endpoint's input model, as `output_model`."""
        return self._model(endpoint_id, "input")

    def _model(self, endpoint_id: str, side: str) -> Any:
        if (endpoint_id, side) not in self._models:
            model = self._made(endpoint_id, side)
            if model is None:
                self._pull_soon(endpoint_id)
                return None
            self._models[endpoint_id, side] = model
        return self._models[endpoint_id, side]

    def _made(self, endpoint_id: str, side: str) -> Any:
        from falfake.contracts.reference_to_video import (
            ReferenceToVideoInput,
            ReferenceToVideoOutput,
        )
        from falfake.contracts.schema_models import input_model

        if endpoint_id == SEED:
            return ReferenceToVideoOutput if side == "output" else ReferenceToVideoInput
        document = self._documents.get(endpoint_id)
        if document is None:
            return None
        if side == "output":
            return input_model(document.output_schema, "Output")
        return input_model(document.input_schema, "Input")

    def _pull_soon(self, endpoint_id: str) -> None:
        if not self._pull or endpoint_id in self._asked:
            return
        self._asked.add(endpoint_id)
        if ENDPOINT_ID_PATTERN.fullmatch(endpoint_id):
            task = asyncio.get_running_loop().create_task(self._pulled(endpoint_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pulled(self, endpoint_id: str) -> None:
        import httpx

        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
                try:
                    reply = await client.get(document_url(endpoint_id))
                except httpx.HTTPError as exc:
                    raise unreachable(endpoint_id, self._folder or Path("endpoints"), exc) from None
            data, document = checked(endpoint_id, reply.status_code, reply.content)
        except PullError as exc:
            logger.warning("falfake: %s; its outputs are not checked", exc)
            return
        self._documents[endpoint_id] = document
        if self._folder is not None:
            written(self._folder, endpoint_id, data)

"""Upstream mode pulls the document of an endpoint it does not serve, to check its outputs."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest
import respx

from falfake.contracts.documents import BUILT_IN_FOLDER
from falfake.endpoints.pulled import document_url
from falfake.upstream.documents import Documents

pytestmark = pytest.mark.anyio
NEW = "fal-ai/new-model"
DOCUMENT = json.loads(
    (BUILT_IN_FOLDER / "fal-ai--flux--dev.json").read_text().replace("fal-ai/flux/dev", NEW)
)


async def pulled(documents: Documents, endpoint_id: str) -> object:
    """The model once the background pull is done (or None at its deadline)."""
    for _ in range(500):
        model = documents.output_model(endpoint_id)
        if model is not None:
            return model
        await asyncio.sleep(0.01)
    return None


@respx.mock
async def test_a_document_is_pulled_once_and_kept_in_the_endpoints_folder(tmp_path: Path) -> None:
    route = respx.get(document_url(NEW)).respond(200, json=DOCUMENT)
    documents = Documents({}, pull=True, folder=tmp_path)
    assert documents.output_model(NEW) is None  # asked for now, checked from the next reply on
    model = await pulled(documents, NEW)
    assert model is not None
    assert route.call_count == 1
    assert json.loads((tmp_path / "fal-ai--new-model.json").read_text()) == DOCUMENT


@respx.mock
async def test_offline_one_warning_names_the_url_to_fetch_by_hand(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    route = respx.get(document_url(NEW)).mock(side_effect=httpx.ConnectError("offline"))
    documents = Documents({}, pull=True, folder=tmp_path)
    assert documents.output_model(NEW) is None
    for _ in range(500):
        if route.called and caplog.records:
            break
        await asyncio.sleep(0.01)
    assert documents.output_model(NEW) is None
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"fetch {document_url(NEW)} by hand into {tmp_path}" in record.getMessage()
    assert route.call_count == 1  # asked once, not on every reply


async def test_a_served_endpoint_needs_no_pull() -> None:
    documents = Documents({}, pull=False, folder=None)
    assert documents.output_model("google/gemini-omni-flash/reference-to-video") is not None
    assert documents.output_model(NEW) is None

"""`falfake endpoints pull`: fal's documents into a folder to commit; offline, what to do by hand.

fal.ai is never reached: respx answers for it, as fal's public URL would.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from falfake.cli import main
from falfake.contracts.documents import BUILT_IN_FOLDER, read_document
from falfake.endpoints.pulled import DOCUMENT_URL

FLUX = json.loads((BUILT_IN_FOLDER / "fal-ai--flux--dev.json").read_text())
SCHNELL = json.loads((BUILT_IN_FOLDER / "fal-ai--flux--schnell.json").read_text())


@respx.mock
def test_a_pulled_document_is_written_where_the_fake_serves_it_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    route = respx.get(DOCUMENT_URL.format("fal-ai/flux/dev")).respond(200, json=FLUX)
    assert main(["endpoints", "pull", "fal-ai/flux/dev", "--endpoints-dir", str(tmp_path)]) == 0
    written = tmp_path / "fal-ai--flux--dev.json"
    assert read_document(written).endpoint_id == "fal-ai/flux/dev"
    assert "authorization" not in route.calls.last.request.headers  # fal's URL is public
    assert capsys.readouterr().out.splitlines()[0] == str(written)
    assert main(["endpoints", "--endpoints-dir", str(tmp_path)]) == 0
    assert str(written) in capsys.readouterr().out


@respx.mock
def test_pulling_again_replaces_the_document(tmp_path: Path) -> None:
    (tmp_path / "fal-ai--flux--dev.json").write_text("{}")
    respx.get(DOCUMENT_URL.format("fal-ai/flux/dev")).respond(200, json=FLUX)
    assert main(["endpoints", "pull", "fal-ai/flux/dev", "--endpoints-dir", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "fal-ai--flux--dev.json").read_text()) == FLUX
    assert [p.name for p in tmp_path.iterdir()] == ["fal-ai--flux--dev.json"]


@respx.mock
def test_offline_it_names_the_url_to_fetch_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    respx.get(DOCUMENT_URL.format("fal-ai/flux/dev")).mock(
        side_effect=httpx.ConnectError("no network")
    )
    assert main(["endpoints", "pull", "fal-ai/flux/dev", "--endpoints-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "cannot reach fal.ai for fal-ai/flux/dev" in error
    assert f"fetch {DOCUMENT_URL.format('fal-ai/flux/dev')} by hand into {tmp_path}" in error


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        pytest.param(httpx.Response(404, json={"detail": "x"}), "answered 404", id="unknown-id"),
        pytest.param(
            httpx.Response(200, text="<html>"), "did not answer with a document", id="html"
        ),
        pytest.param(httpx.Response(200, json={"info": {}}), "did not answer with a", id="not-one"),
        pytest.param(
            httpx.Response(200, json=SCHNELL),
            "describes fal-ai/flux/schnell, not fal-ai/flux/dev",
            id="another-endpoint",
        ),
    ],
)
@respx.mock
def test_a_reply_that_is_not_the_document_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reply: httpx.Response, message: str
) -> None:
    respx.get(DOCUMENT_URL.format("fal-ai/flux/dev")).mock(return_value=reply)
    assert main(["endpoints", "pull", "fal-ai/flux/dev", "--endpoints-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["pull"], "pull needs endpoint ids", id="no-ids"),
        pytest.param(["pull", "not an id"], "is not an endpoint id", id="bad-id"),
        pytest.param(["fal-ai/flux/dev"], "invalid choice", id="ids-without-pull"),
    ],
)
def test_a_pull_without_good_ids_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    with respx.mock:  # nothing may be fetched
        code = main(["endpoints", *arguments, "--endpoints-dir", str(tmp_path)])
    assert code == 2
    assert message in capsys.readouterr().err

"""Temporary tokens: signed, bound to app aliases, expiring, checked with the key alone."""

from __future__ import annotations

import pytest

from falfake.errors import InvalidInput, Unauthorized
from falfake.realtime.tokens import alias_of, check, issue, requested_token
from falfake.webhooks.signing import WebhookSigner

NOW = 1_785_000_000.0


@pytest.fixture
def signer() -> WebhookSigner:
    return WebhookSigner.generated()


def test_a_token_lets_its_app_through_until_it_expires(signer: WebhookSigner) -> None:
    token = issue(signer, ["any-llm"], NOW, 120)
    check(signer, token, "any-llm", NOW + 119)
    with pytest.raises(Unauthorized, match="Token expired"):
        check(signer, token, "any-llm", NOW + 120)


def test_a_token_is_refused_for_another_app(signer: WebhookSigner) -> None:
    token = issue(signer, ["any-llm"], NOW, 120)
    with pytest.raises(Unauthorized, match="Token not valid for app flux"):
        check(signer, token, "flux", NOW)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("a.b", id="two-parts"),
        pytest.param("a.b.c", id="not-base64-json"),
        pytest.param("e30.e30.AAAA", id="unsigned"),
    ],
)
def test_a_token_that_is_not_ours_is_invalid(signer: WebhookSigner, token: str) -> None:
    with pytest.raises(Unauthorized, match="Invalid token"):
        check(signer, token, "any-llm", NOW)


def test_a_token_signed_by_another_key_is_invalid(signer: WebhookSigner) -> None:
    token = issue(WebhookSigner.generated(), ["any-llm"], NOW, 120)
    with pytest.raises(Unauthorized, match="Invalid token"):
        check(signer, token, "any-llm", NOW)


def test_a_token_with_its_claims_changed_is_invalid(signer: WebhookSigner) -> None:
    header, _, signature = issue(signer, ["any-llm"], NOW, 120).split(".")
    other = issue(signer, ["flux"], NOW, 120).split(".")[1]
    with pytest.raises(Unauthorized, match="Invalid token"):
        check(signer, f"{header}.{other}.{signature}", "flux", NOW)


def test_the_request_the_clients_send_is_read() -> None:
    body = {"allowed_apps": ["fast-lcm-diffusion"], "token_expiration": 120}
    assert requested_token(body) == (("fast-lcm-diffusion",), 120)
    assert requested_token({"allowed_apps": ["x"]}) == (("x",), 120)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        pytest.param([], [], id="not-an-object"),
        pytest.param({}, ["allowed_apps"], id="no-apps"),
        pytest.param({"allowed_apps": []}, ["allowed_apps"], id="empty-apps"),
        pytest.param({"allowed_apps": [1]}, ["allowed_apps"], id="app-not-a-string"),
        pytest.param({"allowed_apps": ["a"], "token_expiration": 0}, ["token_expiration"], id="0s"),
        pytest.param(
            {"allowed_apps": ["a"], "token_expiration": True}, ["token_expiration"], id="bool"
        ),
        pytest.param(
            {"allowed_apps": ["a"], "token_expiration": 10**9}, ["token_expiration"], id="long"
        ),
    ],
)
def test_a_bad_token_request_is_a_422_naming_the_field(body: object, loc: list[str]) -> None:
    with pytest.raises(InvalidInput) as raised:
        requested_token(body)
    assert isinstance(raised.value.detail, list)
    assert raised.value.detail[0]["loc"] == ["body", *loc]


@pytest.mark.parametrize(
    ("path", "alias"),
    [
        pytest.param("fal-ai/any-llm/stream", "any-llm", id="stream"),
        pytest.param("fal-ai/fast-lcm-diffusion/image-to-image/realtime", "fast-lcm-diffusion"),
        pytest.param("workflows/owner/flow/stream", "flow", id="workflows"),
        pytest.param("single", "single", id="one-segment"),
    ],
)
def test_the_alias_is_the_app_name_as_the_clients_send_it(path: str, alias: str) -> None:
    assert alias_of(path) == alias

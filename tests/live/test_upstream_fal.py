"""Upstream mode against the real fal: run only with FAL_KEY and FALFAKE_LIVE=1 (it costs
money: one FLUX schnell image, about $0.003), never in CI.

It proves what the offline tests cannot: that fal's replies today keep the contract the fake
checks them against, and that a lifecycle recorded from fal replays offline.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import httpx
import pytest

from falfake.runtime.tls import CertificateAuthority
from falfake.settings import Replay, Secret, Upstream
from tests.conftest import REAL_TIME, eventually, running_fake

KEY = os.environ.get("FAL_KEY", "")
pytestmark = pytest.mark.skipif(
    not KEY or os.environ.get("FALFAKE_LIVE") != "1",
    reason="live: needs FAL_KEY and FALFAKE_LIVE=1 (costs money)",
)
INPUT = {"prompt": "a red fox, watercolour", "image_size": "square", "num_inference_steps": 1}


def test_fal_keeps_the_contract_and_a_recorded_lifecycle_replays_offline(
    authority: CertificateAuthority, tmp_path: Path
) -> None:
    forwarding = Upstream("fal", Secret(KEY), max_paid_requests=1, strict_contract=True)
    recording = dataclasses.replace(forwarding, record_dir=tmp_path, poll_seconds=1.0)
    app_key = {"Authorization": "Key app:key"}
    with running_fake(dataclasses.replace(REAL_TIME, upstream=recording), authority) as url:
        submitted = httpx.post(f"{url}/queue/fal-ai/flux/schnell", json=INPUT, headers=app_key)
        assert submitted.status_code == 200, submitted.text  # strict: a drift would be a 502
        eventually(lambda: bool(list(tmp_path.glob("*/*.json"))), seconds=300)
        result = httpx.get(submitted.json()["response_url"], headers=app_key, timeout=60)
        assert result.status_code == 200, result.text
        recorded_image = httpx.get(result.json()["images"][0]["url"], timeout=60).content
    replaying = dataclasses.replace(REAL_TIME, replay=Replay(tmp_path, speed=100.0))
    with running_fake(replaying, authority) as url:
        replayed = httpx.post(f"{url}/run/fal-ai/flux/schnell", json=INPUT, headers=app_key)
        image = httpx.get(replayed.json()["images"][0]["url"]).content
    assert image == recorded_image

"""The 422 `detail` entries, rendered as FastAPI does."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from falfake.contracts import validate_input
from falfake.contracts.detail import validation_detail


def test_validation_detail_prefixes_body_and_makes_ctx_json() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_input({"prompt": "<IMAGE_REF_x>", "image_urls": ["a"]})
    (entry,) = validation_detail(caught.value)
    assert entry["loc"] == ["body", "prompt"]
    assert entry["ctx"] == {"error": {}}
    assert entry["msg"].startswith("Value error, malformed image reference")


def test_minimal_style_keeps_type_loc_msg_only() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_input({"prompt": "p", "image_urls": ["u"], "duration": 99})
    assert validation_detail(caught.value, "minimal") == [
        {
            "type": "less_than_equal",
            "loc": ["body", "duration"],
            "msg": "Input should be less than or equal to 10",
        }
    ]

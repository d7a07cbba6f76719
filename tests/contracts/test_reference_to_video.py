"""The endpoint's input rules, shared by the fake and the client."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from falfake.contracts import AspectRatioEnum, InputLimits, validate_input
from falfake.contracts.reference_to_video import image_ref_problem

DEFAULT_LIMITS = InputLimits()


def errors(data: object, limits: InputLimits = DEFAULT_LIMITS) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as caught:
        validate_input(data, limits)
    return [(e["type"], e["loc"]) for e in caught.value.errors()]


def test_defaults_are_sixteen_by_nine_and_eight_seconds() -> None:
    value = validate_input({"prompt": "p", "image_urls": ["u"], "unknown": 1})
    assert value.aspect_ratio is AspectRatioEnum.LANDSCAPE
    assert value.duration == 8


def test_lax_mode_accepts_a_numeric_string_duration() -> None:
    assert validate_input({"prompt": "p", "image_urls": ["u"], "duration": "5"}).duration == 5


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"image_urls": ["u"]}, [("missing", ("prompt",))], id="no-prompt"),
        pytest.param({"prompt": "p"}, [("missing", ("image_urls",))], id="no-images"),
        pytest.param(
            {"prompt": "p", "image_urls": []}, [("too_short", ("image_urls",))], id="empty"
        ),
        pytest.param(
            {"prompt": "p", "image_urls": ["u"] * 11}, [("too_long", ("image_urls",))], id="eleven"
        ),
        pytest.param(
            {"prompt": "p", "image_urls": ["u"], "duration": 11},
            [("less_than_equal", ("duration",))],
            id="too-long",
        ),
        pytest.param(
            {"prompt": "p", "image_urls": [1]}, [("string_type", ("image_urls", 0))], id="url-type"
        ),
    ],
)
def test_invalid_inputs(data: dict[str, Any], expected: list[tuple[Any, ...]]) -> None:
    assert errors(data) == expected


def test_configured_limits_apply_together() -> None:
    limits = InputLimits(max_images=7, prompt_max_length=5)
    assert errors({"prompt": "123456", "image_urls": ["u"] * 8}, limits) == [
        ("string_too_long", ("prompt",)),
        ("too_long", ("image_urls",)),
    ]


@pytest.mark.parametrize(
    ("prompt", "count", "problem"),
    [
        ("no tags", 1, None),
        ("<IMAGE_REF_0> and <IMAGE_REF_1>", 2, None),
        ("<image_ref_5> is not a tag", 1, None),
        ("<IMAGE_REF_2>", 2, "<IMAGE_REF_2> refers to image 2, but image_urls has 2 image(s)"),
        ("<IMAGE_REF_>", 1, "malformed image reference '<IMAGE_REF_>'"),
        ("<IMAGE_REF_-1>", 3, "malformed image reference '<IMAGE_REF_-1>'"),
        ("<IMAGE_REF_0", 1, "malformed image reference '<IMAGE_REF_0'"),
        ("<IMAGE_REF>", 1, "malformed image reference '<IMAGE_REF>'"),
        ("<IMAGE_REF_1> is the last of two", 2, None),
        ("<IMAGE_REF_0> then <IMAGE_REF_3>", 2, "<IMAGE_REF_3> refers to image 3"),
        ("<IMAGE_REF_0> <IMAGE_REF_1> <IMAGE_REF_x", 2, "malformed image reference '<IMAGE_REF_x'"),
    ],
)
def test_image_ref_tags_name_existing_images(prompt: str, count: int, problem: str | None) -> None:
    found = image_ref_problem(prompt, count)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem)


def test_image_ref_problems_say_how_to_write_a_reference() -> None:
    assert image_ref_problem("see <IMAGE_REF_9>", 3) == (
        "<IMAGE_REF_9> refers to image 9, but image_urls has 3 image(s) (references start at 0)"
    )
    assert image_ref_problem("see <IMAGE_REF_ten>", 3) == (
        "malformed image reference '<IMAGE_REF_ten>': write <IMAGE_REF_n> with n from 0 to 2"
    )


def test_image_ref_errors_point_at_the_prompt() -> None:
    assert errors({"prompt": "<IMAGE_REF_1>", "image_urls": ["u"]}) == [
        ("value_error", ("prompt",))
    ]


def test_image_ref_check_can_be_turned_off() -> None:
    value = validate_input(
        {"prompt": "<IMAGE_REF_9>", "image_urls": ["u"]}, InputLimits(image_refs="accept")
    )
    assert value.prompt == "<IMAGE_REF_9>"

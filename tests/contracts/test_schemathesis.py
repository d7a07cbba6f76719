"""schemathesis against the served OpenAPI, in process: every operation answers as documented.

The fast profile runs in `make test`; `make fuzz` runs the deep one against a real server.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from falfake import Settings, Timing, create_app
from tests.conftest import KEY

# Instant lifecycle and tiny videos, so results exist as soon as a test asks for them.
APP = create_app(Settings(timing=Timing(0.0, 0.0, 4), video_width=64, video_height=36))
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
EXAMPLES = int(os.environ.get("FALFAKE_SCHEMATHESIS_EXAMPLES", "15"))
FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


# fal accepts unknown query parameters and validates a queued body only when the runner starts
# it (PROTOCOL.md §3), so "invalid data is rejected at once" does not hold, by design. Every other
# check applies: no 5xx, documented status codes, bodies and content types, valid data accepted.
# And some valid calls fail by design: the sync run and the result with the model's own 422s (an
# image that cannot be loaded, a safety filter, the queued request's failure), and cancel with a
# 400 once the request is done, as fal does.
EXCLUDED = [negative_data_rejection]
MODEL_EXCLUDED = [negative_data_rejection, positive_data_acceptance]
MODEL_OPERATIONS = {"run", "result", "cancel"}


def excluded(case: Case[Any]) -> list[Any]:
    # Every endpoint's operations carry its name after `__` (`run__FalAiFluxDev`), the seed's none.
    operation = str(case.operation.definition.raw.get("operationId")).split("__")[0]
    return MODEL_EXCLUDED if operation in MODEL_OPERATIONS else EXCLUDED


# What `make fuzz` prints at the end: how many cases ran, and how many got a 5xx (must be none).
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[None]:
    yield
    print(
        f"\nschemathesis: {TALLY['cases']} cases over {len(TALLY) - 2} operations,"
        f" {TALLY['5xx']} answered 5xx"
    )


@SCHEMA.parametrize()
@FAST
def test_every_operation_answers_as_documented(case: Case[Any]) -> None:
    # A copy: schemathesis adds its own headers to the dict it is given (Connection among them).
    response = case.call(headers=dict(KEY))
    TALLY["cases"] += 1
    TALLY["5xx"] += response.status_code >= 500
    TALLY[case.operation.label] += 1
    case.validate_response(response, excluded_checks=excluded(case))


class Lifecycle(SCHEMA.as_state_machine()):  # type: ignore[misc]  # a class made at run time
    """Submit, then follow the links to status, result and cancel."""

    def get_call_kwargs(self, case: Case[Any]) -> dict[str, object]:
        return {"headers": dict(KEY)}

    def validate_response(
        self,
        response: Response,
        case: Case[Any],
        additional_checks: object = None,
        **kwargs: object,
    ) -> None:
        case.validate_response(response, excluded_checks=excluded(case), recorder=self.recorder)


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(
    max_examples=max(EXAMPLES // 3, 3),
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)

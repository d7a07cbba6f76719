"""What a matched scenario does to the submit or run it lets through, decided in one place."""

from __future__ import annotations

import math

from falfake.harness.scenarios import NO_EFFECT, Effect, Scenario, current_effect, in_effect
from falfake.queue.stubs import Stub


def test_a_scenario_says_its_effect_once() -> None:
    scenario = Scenario(
        content_policy=("output",), queue_seconds=2.0, run_seconds=3.0, logs=("one",)
    )
    assert scenario.effect == Effect(
        safety=frozenset({"output"}),
        queue_seconds=2.0,
        run_seconds=3.0,
        stub=Stub(logs=("one",)),
    )


def test_a_stuck_request_waits_in_the_queue_forever() -> None:
    effect = Scenario(stuck=True, queue_seconds=1.0).effect
    assert (effect.stuck, effect.queue_seconds) == (True, math.inf)


def test_the_effect_holds_for_the_call_it_was_set_for_and_no_longer() -> None:
    assert current_effect() is NO_EFFECT
    with in_effect(Scenario(run_seconds=9.0).effect):
        assert current_effect().run_seconds == 9.0
        with in_effect(NO_EFFECT):
            assert current_effect() is NO_EFFECT
        assert current_effect().run_seconds == 9.0
    assert current_effect() is NO_EFFECT

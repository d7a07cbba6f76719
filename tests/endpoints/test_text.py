"""The text an LLM-like endpoint answers with: made locally, the same for the same prompt."""

from __future__ import annotations

from falfake.endpoints.text import reply_text


def test_the_answer_quotes_the_prompt_and_is_the_same_every_time() -> None:
    answer = reply_text("Name a cat")
    assert answer == reply_text("Name a cat") != reply_text("Name a dog")
    assert answer.startswith('falfake answers "Name a cat": ')
    assert len(answer.split()) > 40


def test_a_prompt_of_any_text_gets_an_answer() -> None:
    assert reply_text("\ud800 \x00 " * 100).startswith('falfake answers "')

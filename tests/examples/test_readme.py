"""The README's examples are the files the suite runs, word for word."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_shows_the_examples_the_suite_runs() -> None:
    example = (ROOT / "tests" / "examples" / "test_examples.py").read_text()
    assert example in (ROOT / "README.md").read_text()

"""The README's examples are the files the suite runs, word for word."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["test_examples.py", "test_pipeline.py"])
def test_the_readme_shows_the_examples_the_suite_runs(name: str) -> None:
    example = (ROOT / "tests" / "examples" / name).read_text()
    assert example in (ROOT / "README.md").read_text()

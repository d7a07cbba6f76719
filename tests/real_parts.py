"""The real parts some tests drive (chromium, PostgreSQL, HAProxy): where CI requires one (its
variable set by .ci/run), a missing part fails the test; elsewhere it skips, saying how to
install it."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(part: str, purpose: str, install: str, required_by: str) -> NoReturn:
    """Fail or skip for want of `part`, which `purpose` (the tests') needs."""
    if os.environ.get(required_by):
        pytest.fail(f"CI needs {part} for {purpose}: {install}")
    pytest.skip(f"no {part} for {purpose}; install it with: {install}")

"""A fake answers before its heavy libraries load: each is imported by the first call needing it."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("av", "numpy", "PIL", "cryptography", "httpx", "pydantic")


def loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    printed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(printed.split())


def test_the_command_line_and_a_new_app_load_none_of_them() -> None:
    assert loaded_after("import falfake.cli\nfalfake.cli.create_app()") == set()


FIRST_USES = {
    "a render": "from falfake.media.video import render_video",
    "an image check": (
        "import contextlib\n"
        "from falfake.media.images import ImageProblem, check_image\n"
        "from falfake.settings import ImageLimits\n"
        "with contextlib.suppress(ImageProblem):\n"
        "    check_image(b'not an image', ImageLimits())"
    ),
    "a JWKS": (
        "from falfake.webhooks.signing import WebhookSigner\nWebhookSigner.generated().jwks()"
    ),
    "an input model": "import falfake.contracts\nfalfake.contracts.ReferenceToVideoInput",
}
LIBRARIES = {"a render": "av", "an image check": "PIL", "a JWKS": "cryptography"}


@pytest.mark.parametrize("use", FIRST_USES)
def test_each_loads_with_the_first_use_that_needs_it(use: str) -> None:
    assert LIBRARIES.get(use, "pydantic") in loaded_after(FIRST_USES[use])


def test_the_pytest_plugin_loads_pytest_alone() -> None:
    """pytest imports the plugin in every run of every project that installed falfake."""
    code = (
        "import sys\nimport falfake.pytest_plugin\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    printed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert {"httpx", "respx", "anyio", "uvicorn", "starlette", "pydantic"}.isdisjoint(printed)
    assert "pytest" in printed
    assert not any(name.startswith("falfake.") for name in printed)


def test_importing_the_package_or_its_client_loads_no_server() -> None:
    code = "import sys\nimport falfake.client, falfake.clock\nprint(' '.join(sys.modules))"
    printed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert {"starlette", "uvicorn", "falfake.app"}.isdisjoint(printed)

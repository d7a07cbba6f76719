"""The README's `falfake serve` flag reference, made from the parser (`make readme` writes it).

`tests/mock_server/test_cli.py` fails when the README and `--help` say different things.
"""

from __future__ import annotations

import re
from pathlib import Path

from falfake.commandline import flags

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- flags: made by `make readme` from falfake serve --help -->", "<!-- /flags -->"


def flag_reference() -> str:
    return flags.markdown_table(flags.subcommands(flags.parser())["serve"])


_SECTION = re.compile(re.escape(START) + r"\n(.*?)" + re.escape(END), re.DOTALL)


def current(text: str) -> str:
    """The reference as the README has it now."""
    match = _SECTION.search(text)
    if match is None:
        raise LookupError(f"README.md has no {START} ... {END} section")
    return match.group(1)


def main() -> None:
    text = README.read_text()
    current(text)
    README.write_text(_SECTION.sub(lambda _: f"{START}\n\n{flag_reference()}\n{END}", text, 1))


if __name__ == "__main__":
    main()

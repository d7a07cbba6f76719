"""`python -m contracts schemas`: regenerate the JSON Schema files from the models."""

from __future__ import annotations

import argparse

from contracts.schema_files import file_of, write_all


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("schemas", help="rewrite contracts/schemas/*.json from the models")
    parser.parse_args()
    for name in write_all():
        print(f"updated {file_of(name)}")
    return 0


raise SystemExit(main())

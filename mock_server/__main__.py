"""`python -m falfake`: the command line in `falfake.cli`."""

from falfake.cli import main

raise SystemExit(main())

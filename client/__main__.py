"""`python -m falfake.client`: the command line in `client.cli`."""

from falfake.client.cli import main

raise SystemExit(main())

"""`python -m client`: the command line in `client.cli`."""

from client.cli import main

raise SystemExit(main())

"""`python -m mock_server`: the command line in `mock_server.cli`."""

from mock_server.cli import main

raise SystemExit(main())

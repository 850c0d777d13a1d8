"""``python -m sandbox``: the sandbox's command line."""

from sandbox.cli import main

raise SystemExit(main())

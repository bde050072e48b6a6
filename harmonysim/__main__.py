"""``python -m harmonysim`` is the ``harmonysim`` command."""

from harmonysim.cli import main

raise SystemExit(main())

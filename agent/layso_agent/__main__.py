"""``python -m layso_agent``: the ``layso-agent`` command (see :mod:`layso_agent.cli`)."""

from __future__ import annotations

import sys

from layso_agent.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m serbench``: the ``serbench`` command through a given interpreter (workflow shell rules use it)."""

import sys

from serbench.cli import main

sys.exit(main())

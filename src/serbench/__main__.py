"""``python -m serbench``: the ``serbench`` command through a given interpreter (the download rule runs it so)."""

import sys

from serbench.cli import main

sys.exit(main())

"""``python -m statarb.exchange`` = ``scripts/local_exchange.py``."""

import sys

from statarb.exchange.cli import main

sys.exit(main())

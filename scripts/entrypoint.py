#!/usr/bin/env python3
"""The container's entrypoint: preflight, scripts/state_recovery.py, then `exec freqtrade ARGS`.

    python scripts/entrypoint.py trade --config /freqtrade/config.json --logfile ...

Why and how: src/statarb/ops/entrypoint.py.
"""

import sys

from statarb.ops.entrypoint import main

if __name__ == "__main__":
    sys.exit(main())

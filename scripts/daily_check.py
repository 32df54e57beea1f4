#!/usr/bin/env python3
"""The daily health check; exit code 0 ok / 1 warning / 2 critical (see --help).

`--costs` instead reports the spreads closed in the last `--costs-hours` (default 24): each
spread's money split into gross, fees, funding and slippage, with totals per pair and per exit
reason (`--json` for machine-readable output).

In the container: `docker compose -f docker-compose.production.yml exec -T freqtrade
python scripts/daily_check.py`; on the host: `./run scripts/daily_check.py --env-file .env`.
"""

import sys

from statarb.ops.daily_check import main

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Paper-trade: FreqTrade dry-run on the production config and the pairs file, no secret needed.

    paper.py [--config config.json] [--pairs-config FILE] [--wallet 10000] [--api-port 8080 |
             --no-api] [--local-exchange DATADIR [--live-hours 6]] [--dry] [-- FREQTRADE_ARGS]

Writes user_data/config.paper.json (dry_run forced, whitelist and FreqAI's corr list = the pairs'
legs, its own database paper_trading.db and log logs/freqtrade.paper.log, API secrets generated
for the run) and starts `freqtrade trade --dry-run` on it; --dry only writes it and prints the
command. Exit status 2: nothing to trade or an override that could trade real money.
Why and how: src/statarb/ops/paper.py.
"""

import sys

from statarb.ops.paper import main

if __name__ == "__main__":
    sys.exit(main())

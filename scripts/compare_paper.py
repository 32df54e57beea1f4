#!/usr/bin/env python3
"""Backtest vs paper, side by side: a dry-run's spreads next to the backtest of the same period.

    compare_paper.py --db user_data/paper_trading.db --paper-config user_data/config.paper.json \
        --datadir user_data/data [--pairs-config FILE] [--results DIR] [--out match.json] \
        [--tolerance-candles 3] [--since ISO] [--until ISO]

Prints both runs' spreads matched one to one (pair, direction, first entry within a few
candles), totals, and for each difference the reasons the data shows. Exit status 2: the
database, config or candles cannot be used as given. Why and how:
src/statarb/backtest/paper_compare.py (and the modules its docstring names: paper_db.py,
paper_backtest.py, paper_match.py, entry_blocks.py).
"""

import sys

from statarb.ops.compare_paper import main

if __name__ == "__main__":
    sys.exit(main())

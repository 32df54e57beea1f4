#!/usr/bin/env python3
"""Run the local Binance USDT-M futures exchange (see statarb.exchange) on 127.0.0.1.

Example:
  ./run scripts/local_exchange.py --datadir user_data/data --port 8900 \\
      --state user_data/state/exchange.json --live-hours 6
Prints "listening on http://127.0.0.1:PORT" when ready; SIGTERM/SIGINT save the state and exit.
"""

import sys

from statarb.exchange.cli import main

if __name__ == "__main__":
    sys.exit(main())

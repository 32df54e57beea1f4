#!/usr/bin/env python3
"""Consistent backup of user_data/ while the bot runs (see --help).

docker compose -f docker-compose.production.yml exec -T freqtrade python scripts/backup.py
"""

import sys

from statarb.ops.backup import main

if __name__ == "__main__":
    sys.exit(main())

"""Docker's HEALTHCHECK: `python -m statarb.ops.healthcheck` exits 0 when `/api/v1/ping` pongs.

Ping proves only that the API thread answers (docs/design.md §6.4); whether the bot's loop
still runs is the daily check's job (`/api/v1/health`, which needs credentials). The port
follows `FREQTRADE__API_SERVER__LISTEN_PORT` when it is set, like FreqTrade itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from statarb.ops.api import ApiError, ApiUnreachableError, FreqtradeApi

PORT_VAR = "FREQTRADE__API_SERVER__LISTEN_PORT"
DEFAULT_PORT = 8080
TIMEOUT_S = 8.0  # below the compose health check's 10 s timeout, so a slow answer reports why


def ping_url(env: Mapping[str, str]) -> str:
    return f"http://127.0.0.1:{env.get(PORT_VAR) or DEFAULT_PORT}"


def main() -> int:
    url = ping_url(os.environ)
    try:
        answer = FreqtradeApi(url, timeout_s=TIMEOUT_S).ping()
    except (ApiError, ApiUnreachableError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    if not isinstance(answer, dict) or answer.get("status") != "pong":
        print(f"unhealthy: {url}/api/v1/ping answered {answer!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

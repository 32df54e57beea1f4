"""A thin client of FreqTrade's REST API (stdlib only: it runs in the health check every minute).

`/api/v1/ping` is public; every other route needs HTTP Basic credentials. They come from the
same environment variables FreqTrade reads (`FREQTRADE__API_SERVER__USERNAME` / `..._PASSWORD`),
or from the compose env file when the check runs on the host.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "http://127.0.0.1:8080"
USERNAME_VAR = "FREQTRADE__API_SERVER__USERNAME"
PASSWORD_VAR = "FREQTRADE__API_SERVER__PASSWORD"


class ApiError(RuntimeError):
    """The API answered with an error status; `status` is the HTTP code."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ApiUnreachableError(RuntimeError):
    """Nothing answered (connection refused, timeout, not HTTP)."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials | None:
        username, password = env.get(USERNAME_VAR, ""), env.get(PASSWORD_VAR, "")
        if not username or not password:
            return None
        return cls(username, password)


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=VALUE` lines of a compose env file. Values are taken literally (quotes included),
    as docker-compose v1 passes them to the container; blank lines and `#` comments skipped."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path}:{number}: not a KEY=VALUE line")
        values[key.strip()] = value.strip()
    return values


class FreqtradeApi:
    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        credentials: Credentials | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout_s = timeout_s

    def _request(self, method: str, path: str, *, auth: bool, body: Any = None) -> Any:
        url = f"{self.base_url}/api/v1/{path.lstrip('/')}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if auth and self.credentials is not None:
            token = f"{self.credentials.username}:{self.credentials.password}".encode()
            request.add_header("Authorization", "Basic " + base64.b64encode(token).decode())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", errors="replace")[:300]
            raise ApiError(f"{method} {url}: HTTP {exc.code} {detail}", exc.code) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiUnreachableError(f"{method} {url}: {reason}") from None

    def get(self, path: str, *, auth: bool = True) -> Any:
        return self._request("GET", path, auth=auth)

    def post(self, path: str, body: Any = None) -> Any:
        return self._request("POST", path, auth=True, body=body)

    def ping(self) -> Any:
        return self.get("ping", auth=False)

    def open_trade_tags(self, key: str) -> dict[int, Any]:
        """Custom data `key` of every open trade. FreqTrade answers 404 when there is none."""
        try:
            rows = self.get(f"trades/open/custom-data?key={key}&limit=500")
        except ApiError as exc:
            if exc.status == 404:
                return {}
            raise
        tags: dict[int, Any] = {}
        for row in rows:
            for entry in row.get("custom_data", []):
                if entry.get("key") == key:
                    tags[int(row["trade_id"])] = entry.get("value")
        return tags

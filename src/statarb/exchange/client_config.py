"""Client-side configuration that points ccxt and FreqTrade at the local exchange.

ccxt deep-merges ``urls.api``: overriding only some keys silently leaves the others on
binance.com, so every one of binance's 22 API base URLs is overridden here. The options limit
``load_markets`` to USDT-M (``/fapi/v1/exchangeInfo``) and skip the sapi currency/margin calls.

Known difference from Binance: ccxt chooses its USDT-M error table by URL (``https://fapi.
binance.com/...``). Against any overridden URL it uses only its shared table, so futures-only
codes (-2019 margin insufficient, -2022 reduce-only rejected, -4116 duplicate id, -4164 min
notional, -5021/-5022 FOK/post-only) surface as a plain ``ExchangeError`` whose message carries
Binance's body, instead of ``InsufficientFunds``/``InvalidOrder``. The bodies themselves are
Binance's; ``tests/exchange`` shows ccxt mapping them correctly when given Binance's URL.
"""

from __future__ import annotations

from typing import Any

from statarb.exchange.protocol import DEFAULT_API_KEY, DEFAULT_API_SECRET

# key → path on the host, exactly ccxt 4.5.90's binance ``urls.api``
API_PATHS: dict[str, str] = {
    "sapi": "/sapi/v1",
    "sapiV2": "/sapi/v2",
    "sapiV3": "/sapi/v3",
    "sapiV4": "/sapi/v4",
    "dapiPublic": "/dapi/v1",
    "dapiPrivate": "/dapi/v1",
    "dapiPrivateV2": "/dapi/v2",
    "dapiData": "/futures/data",
    "eapiPublic": "/eapi/v1",
    "eapiPrivate": "/eapi/v1",
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
    "public": "/api/v3",
    "private": "/api/v3",
    "v1": "/api/v1",
    "papi": "/papi/v1",
    "papiV2": "/papi/v2",
}

CCXT_OPTIONS: dict[str, Any] = {
    "defaultType": "swap",
    "fetchMarkets": {"types": ["linear"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}


def _base(base_url: str) -> str:
    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
    return base


def ccxt_url_overrides(base_url: str) -> dict[str, str]:
    """All 22 ``urls.api`` entries of ccxt's binance/binanceusdm, on ``base_url``."""
    base = _base(base_url)
    return {key: base + path for key, path in API_PATHS.items()}


def ccxt_config(
    base_url: str,
    api_key: str = DEFAULT_API_KEY,
    api_secret: str = DEFAULT_API_SECRET,
    **extra: Any,
) -> dict[str, Any]:
    """A ready ``ccxt.binance(...)`` / ``ccxt.binanceusdm(...)`` config for the local exchange."""
    config: dict[str, Any] = {
        "apiKey": api_key,
        "secret": api_secret,
        "urls": {"api": ccxt_url_overrides(base_url)},
        "options": dict(CCXT_OPTIONS),
        "enableRateLimit": False,
    }
    config.update(extra)
    return config


def freqtrade_exchange_config(
    base_url: str,
    api_key: str | None = DEFAULT_API_KEY,
    api_secret: str | None = DEFAULT_API_SECRET,
) -> dict[str, Any]:
    """The ``exchange`` section of a FreqTrade config that trades on the local exchange.

    With ``api_key=None`` the keys are left out, for a committed fragment: FreqTrade then takes
    them from ``FREQTRADE__EXCHANGE__KEY`` / ``FREQTRADE__EXCHANGE__SECRET``.
    """
    ccxt_part = {"urls": {"api": ccxt_url_overrides(base_url)}, "options": dict(CCXT_OPTIONS)}
    section: dict[str, Any] = {"name": "binance"}
    if api_key is not None and api_secret is not None:
        section["key"] = api_key
        section["secret"] = api_secret
    section.update(
        {
            "ccxt_config": ccxt_part,
            "ccxt_async_config": ccxt_part,
            # history downloads would otherwise go to data.binance.vision (not a ccxt URL)
            "only_from_ccxt": True,
        }
    )
    return section

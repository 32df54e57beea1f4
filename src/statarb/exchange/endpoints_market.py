"""Public market-data endpoints (and the small spot / COIN-M answers ccxt asks for)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from statarb.exchange import matching, protocol, responses
from statarb.exchange.api import LocalExchange, Request, route
from statarb.exchange.market import FUNDING_INTERVAL_MS, SUPPORTED_INTERVALS, kline_opens
from statarb.exchange.protocol import ApiError
from statarb.exchange.specs import SymbolSpec

D = Decimal


# ---- public market data ----------------------------------------------------------------------


@route("GET", "/fapi/v1/ping", "/api/v3/ping", "/dapi/v1/ping")
def ping(app: LocalExchange, req: Request) -> Any:
    return {}


@route("GET", "/fapi/v1/time", "/api/v3/time", "/dapi/v1/time")
def server_time(app: LocalExchange, req: Request) -> Any:
    return {"serverTime": app.venue.now_ms()}


@route("GET", "/fapi/v1/exchangeInfo")
def exchange_info(app: LocalExchange, req: Request) -> Any:
    specs = [app.venue.market.specs[s] for s in app.venue.market.symbols]
    return responses.exchange_info(specs, app.venue.now_ms())


def _klines(app: LocalExchange, req: Request, *, mark: bool) -> Any:
    p = req.params
    symbol = p.get("symbol") or p.get("pair")
    spec = app.spec(symbol)
    interval = p.required("interval")
    if interval not in SUPPORTED_INTERVALS:
        raise ApiError(-1120, "Invalid interval.")
    venue = app.venue
    venue.advance()
    now = venue.now_ms()
    tape = venue.market.tapes[spec.symbol]
    opens = kline_opens(
        interval,
        first_ms=tape.first_open_ms,
        now_ms=now,
        start_ms=p.integer("startTime"),
        end_ms=p.integer("endTime"),
        limit=p.limit(500, 1500),
    )
    if mark:
        bars = venue.market.mark_bars(spec.symbol, opens, interval, now)
    else:
        bars = tape.bars(opens, interval, now)
    return [responses.kline_row(bar, spec, mark=mark) for bar in bars]


@route("GET", "/fapi/v1/klines", "/fapi/v1/continuousKlines")
def klines(app: LocalExchange, req: Request) -> Any:
    return _klines(app, req, mark=False)


@route("GET", "/fapi/v1/markPriceKlines", "/fapi/v1/indexPriceKlines")
def mark_klines(app: LocalExchange, req: Request) -> Any:
    return _klines(app, req, mark=True)


def _funding_times(first_ms: int, start_ms: int, end_ms: int) -> list[int]:
    lo = max(first_ms, start_ms)
    first = -(-lo // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
    return list(range(first, end_ms + 1, FUNDING_INTERVAL_MS))


@route("GET", "/fapi/v1/fundingRate")
def funding_rate(app: LocalExchange, req: Request) -> Any:
    p = req.params
    venue = app.venue
    venue.advance()
    now = venue.now_ms()
    limit = p.limit(100, 1000)
    start, end = p.integer("startTime"), p.integer("endTime")
    end = now if end is None else min(end, now)
    rows: list[dict[str, Any]] = []
    for spec in app.specs_for(p):
        tape = venue.market.tapes[spec.symbol]
        times = _funding_times(tape.first_open_ms, start or tape.first_open_ms, end)
        for t in times:
            rows.append(
                {
                    "symbol": spec.symbol,
                    "fundingTime": t,
                    "fundingRate": f"{venue.market.funding_rate_at(spec.symbol, t):.8f}",
                    "markPrice": f"{venue.market.settlement_mark_price(spec.symbol, t):.8f}",
                }
            )
    rows.sort(key=lambda r: (r["fundingTime"], r["symbol"]))
    return rows[:limit] if start is not None else rows[-limit:]


@route("GET", "/fapi/v1/premiumIndex")
def premium_index(app: LocalExchange, req: Request) -> Any:
    venue = app.venue
    venue.advance()
    now = venue.now_ms()
    next_funding = (now // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
    rows = []
    for spec in app.specs_for(req.params):
        price = responses.d8(venue.price(spec.symbol))
        rows.append(
            {
                "symbol": spec.symbol,
                "markPrice": price,
                "indexPrice": price,
                "estimatedSettlePrice": price,
                "lastFundingRate": f"{venue.market.funding_rate_at(spec.symbol, next_funding):.8f}",
                "interestRate": "0.00010000",
                "nextFundingTime": next_funding,
                "time": now,
            }
        )
    return rows[0] if req.params.get("symbol") else rows


@route("GET", "/fapi/v1/ticker/24hr")
def ticker_24hr(app: LocalExchange, req: Request) -> Any:
    venue = app.venue
    venue.advance()
    now = venue.now_ms()
    rows = []
    for spec in app.specs_for(req.params):
        tape = venue.market.tapes[spec.symbol]
        bar = tape.bar(now - 86_400_000, now)
        if bar is None:
            continue
        last = venue.price(spec.symbol)
        open_price = D(f"{bar.open:.8f}")
        change = last - open_price
        weighted = D(f"{bar.quote_volume / bar.volume:.8f}") if bar.volume > 0 else last
        rows.append(
            {
                "symbol": spec.symbol,
                "priceChange": responses.price_str(spec, change),
                "priceChangePercent": f"{change / open_price * 100:.3f}",
                "weightedAvgPrice": responses.price_str(spec, weighted),
                "lastPrice": responses.price_str(spec, last),
                "lastQty": str(spec.min_qty),
                "openPrice": responses.price_str(spec, open_price),
                "highPrice": responses.price_str(spec, bar.high),
                "lowPrice": responses.price_str(spec, bar.low),
                "volume": f"{bar.volume:.{spec.quantity_precision}f}",
                "quoteVolume": f"{bar.quote_volume:.4f}",
                "openTime": bar.open_ms,
                "closeTime": now,
                "firstId": 1,
                "lastId": max(1, int(bar.quote_volume / 5_000)),
                "count": max(1, int(bar.quote_volume / 5_000)),
            }
        )
    return rows[0] if req.params.get("symbol") else rows


@route("GET", "/fapi/v1/ticker/price", "/fapi/v2/ticker/price")
def ticker_price(app: LocalExchange, req: Request) -> Any:
    venue = app.venue
    venue.advance()
    rows = [
        {
            "symbol": spec.symbol,
            "price": responses.price_str(spec, venue.price(spec.symbol)),
            "time": venue.now_ms(),
        }
        for spec in app.specs_for(req.params)
    ]
    return rows[0] if req.params.get("symbol") else rows


def _book(app: LocalExchange, spec: SymbolSpec, depth: int) -> tuple[list[Any], list[Any]]:
    mid = app.venue.price(spec.symbol)
    sides = []
    for side in ("bids", "asks"):
        levels = matching.book_levels(
            mid,
            side=side,
            count=depth,
            tick=spec.tick_size,
            step=spec.step_size,
            config=app.venue.book,
        )
        sides.append(
            [
                [
                    protocol.fmt(lv.price, spec.price_precision),
                    protocol.fmt(lv.qty, spec.quantity_precision),
                ]
                for lv in levels
            ]
        )
    return sides[0], sides[1]


@route("GET", "/fapi/v1/ticker/bookTicker")
def book_ticker(app: LocalExchange, req: Request) -> Any:
    venue = app.venue
    venue.advance()
    rows = []
    for spec in app.specs_for(req.params):
        bids, asks = _book(app, spec, 1)
        rows.append(
            {
                "symbol": spec.symbol,
                "bidPrice": bids[0][0],
                "bidQty": bids[0][1],
                "askPrice": asks[0][0],
                "askQty": asks[0][1],
                "time": venue.now_ms(),
            }
        )
    return rows[0] if req.params.get("symbol") else rows


@route("GET", "/fapi/v1/depth")
def depth(app: LocalExchange, req: Request) -> Any:
    spec = app.spec(req.params.get("symbol"))
    limit = req.params.limit(500, 1000)
    venue = app.venue
    venue.advance()
    bids, asks = _book(app, spec, limit)
    now = venue.now_ms()
    return {"lastUpdateId": now, "E": now, "T": now, "bids": bids, "asks": asks}


@route("GET", "/fapi/v1/openInterest")
def open_interest(app: LocalExchange, req: Request) -> Any:
    spec = app.spec(req.params.get("symbol"))
    venue = app.venue
    total = sum(
        (abs(p.amt) for p in venue.account.positions.values() if p.symbol == spec.symbol), D(0)
    )
    return {
        "openInterest": protocol.fmt(total, spec.quantity_precision),
        "symbol": spec.symbol,
        "time": venue.now_ms(),
    }


# ---- spot and COIN-M: a small but valid answer (FreqTrade and ccxt load all three) ---------


_SPOT_FILTERS = [
    {
        "filterType": "PRICE_FILTER",
        "minPrice": "0.01000000",
        "maxPrice": "1000000.00000000",
        "tickSize": "0.01000000",
    },
    {
        "filterType": "LOT_SIZE",
        "minQty": "0.00001000",
        "maxQty": "9000.00000000",
        "stepSize": "0.00001000",
    },
    {
        "filterType": "NOTIONAL",
        "minNotional": "5.00000000",
        "applyMinToMarket": True,
        "maxNotional": "9000000.00000000",
        "applyMaxToMarket": False,
        "avgPriceMins": 5,
    },
]


@route("GET", "/api/v3/exchangeInfo")
def spot_exchange_info(app: LocalExchange, req: Request) -> Any:
    symbols = [
        {
            "symbol": f"{base}USDT",
            "status": "TRADING",
            "baseAsset": base,
            "baseAssetPrecision": 8,
            "quoteAsset": "USDT",
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": True,
            "permissions": [],
            "permissionSets": [["SPOT", "MARGIN"]],
            "filters": _SPOT_FILTERS,
        }
        for base in ("BTC", "ETH")
    ]
    return {
        "timezone": "UTC",
        "serverTime": app.venue.now_ms(),
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": symbols,
    }


@route("GET", "/dapi/v1/exchangeInfo")
def coinm_exchange_info(app: LocalExchange, req: Request) -> Any:
    return {
        "timezone": "UTC",
        "serverTime": app.venue.now_ms(),
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [
            {
                "symbol": "BTCUSD_PERP",
                "pair": "BTCUSD",
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "onboardDate": 1597042800000,
                "contractStatus": "TRADING",
                "contractSize": 100,
                "marginAsset": "BTC",
                "maintMarginPercent": "2.5000",
                "requiredMarginPercent": "5.0000",
                "baseAsset": "BTC",
                "quoteAsset": "USD",
                "pricePrecision": 1,
                "quantityPrecision": 0,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "equalQtyPrecision": 4,
                "triggerProtect": "0.0500",
                "underlyingType": "COIN",
                "underlyingSubType": [],
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": "1000",
                        "maxPrice": "4520958",
                        "tickSize": "0.1",
                    },
                    {"filterType": "LOT_SIZE", "stepSize": "1", "maxQty": "1000000", "minQty": "1"},
                ],
                "orderTypes": ["LIMIT", "MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            }
        ],
    }


@route("GET", "/sapi/v1/capital/config/getall", signed=True)
def capital_config(app: LocalExchange, req: Request) -> Any:
    coins = ["USDT", *sorted({s.base for s in app.venue.market.specs.values()})]
    return [
        {
            "coin": coin,
            "name": coin,
            "depositAllEnable": True,
            "withdrawAllEnable": True,
            "free": "0",
            "locked": "0",
            "freeze": "0",
            "withdrawing": "0",
            "trading": True,
            "isLegalMoney": False,
            "networkList": [],
        }
        for coin in coins
    ]


@route("GET", "/sapi/v1/margin/allPairs", "/sapi/v1/margin/isolated/allPairs", signed=True)
def margin_pairs(app: LocalExchange, req: Request) -> Any:
    return []


@route("GET", "/api/v3/openOrders", signed=True)
def spot_open_orders(app: LocalExchange, req: Request) -> Any:
    """The spot account holds nothing: ccxt's binance asks here for open orders without a symbol
    (its default market type for that call is spot), and gets [] exactly as from Binance."""
    return []

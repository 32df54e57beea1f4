"""Binance USDT-M REST answers → snapshot values; anything but the documented shape is refused.

ccxt's unified `fetch_positions` turns a truncated 200 answer into `[]` ("no positions") without
raising; recovery therefore reads the raw endpoints and checks every row here. A body that is
not the documented JSON (text, a cut-off document, a row without `positionAmt`) raises
`GarbageResponseError`, which the reader retries and finally reports as ERROR — never as "nothing".
The position's side comes from the sign of `positionAmt` (docs/design.md §6.5).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from statarb.recovery.snapshots import (
    CROSS,
    ISOLATED,
    Balance,
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    SymbolSettings,
)


class GarbageResponseError(ValueError):
    """The exchange answered something that is not the documented JSON."""


def _preview(body: Any) -> str:
    text = body if isinstance(body, str) else repr(body)
    return text[:80] + ("…" if len(text) > 80 else "")


def rows(body: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
        raise GarbageResponseError(f"{what}: expected a JSON list of objects, got {_preview(body)}")
    return body


def obj(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise GarbageResponseError(f"{what}: expected a JSON object, got {_preview(body)}")
    return body


def num(row: Mapping[str, Any], key: str, what: str) -> float:
    try:
        value = float(row[key])
    except KeyError:
        raise GarbageResponseError(f"{what}: field {key!r} missing in {_preview(row)}") from None
    except (TypeError, ValueError):
        raise GarbageResponseError(f"{what}: field {key!r} is not a number: {row[key]!r}") from None
    if not math.isfinite(value):
        raise GarbageResponseError(f"{what}: field {key!r} is not finite: {row[key]!r}")
    return value


def text(row: Mapping[str, Any], key: str, what: str) -> str:
    value = row.get(key)
    if value is None or isinstance(value, (dict, list)):
        raise GarbageResponseError(f"{what}: field {key!r} missing in {_preview(row)}")
    return str(value)


def boolean(row: Mapping[str, Any], key: str) -> bool:
    value = row.get(key, False)
    return value is True or str(value).lower() == "true"


SymbolOf = Callable[[str], str]  # Binance id → FreqTrade pair name


def server_time_ms(body: Any) -> int:
    return int(num(obj(body, "time"), "serverTime", "time"))


def positions(body: Any, symbol_of: SymbolOf) -> list[ExchangePosition]:
    what = "positionRisk"
    out = []
    for row in rows(body, what):
        amt = num(row, "positionAmt", what)
        if amt == 0:
            continue
        liq = num(row, "liquidationPrice", what) if row.get("liquidationPrice") else 0.0
        ex_symbol = text(row, "symbol", what)
        out.append(
            ExchangePosition(
                symbol=symbol_of(ex_symbol),
                exchange_symbol=ex_symbol,
                qty_base=amt,
                entry_price=num(row, "entryPrice", what),
                mark_price=num(row, "markPrice", what),
                unrealized_pnl_usdt=num(row, "unRealizedProfit", what),
                liquidation_price=liq or None,
                update_time_ms=int(num(row, "updateTime", what)) if "updateTime" in row else 0,
            )
        )
    return out


def active_symbols(body: Any) -> list[str]:
    """Binance ids v3 positionRisk lists: a position or an open order (amount may be 0)."""
    return [text(r, "symbol", "positionRisk") for r in rows(body, "positionRisk")]


def account(body: Any) -> tuple[Balance, dict[str, float]]:
    """The balance, and the non-zero position amounts the account endpoint reports."""
    what = "account"
    data = obj(body, what)
    balance = Balance(
        wallet_usdt=num(data, "totalWalletBalance", what),
        available_usdt=num(data, "availableBalance", what),
        unrealized_pnl_usdt=num(data, "totalUnrealizedProfit", what),
        margin_balance_usdt=num(data, "totalMarginBalance", what),
    )
    amounts: dict[str, float] = {}
    for row in rows(data.get("positions", []), f"{what}.positions"):
        amt = num(row, "positionAmt", f"{what}.positions")
        if amt != 0:
            symbol = text(row, "symbol", f"{what}.positions")
            amounts[symbol] = amounts.get(symbol, 0.0) + amt
    return balance, amounts


def symbol_settings(body: Any, symbol_of: SymbolOf) -> list[SymbolSettings]:
    what = "symbolConfig"
    out = []
    for row in rows(body, what):
        ex_symbol = text(row, "symbol", what)
        mode = text(row, "marginType", what).upper()
        if mode not in ("ISOLATED", "CROSSED", "CROSS"):
            raise GarbageResponseError(f"{what}: unknown marginType {mode!r} for {ex_symbol}")
        out.append(
            SymbolSettings(
                symbol=symbol_of(ex_symbol),
                exchange_symbol=ex_symbol,
                leverage=int(num(row, "leverage", what)),
                margin_mode=ISOLATED if mode == "ISOLATED" else CROSS,
            )
        )
    return out


def mark_prices(body: Any, symbol_of: SymbolOf) -> dict[str, float]:
    what = "premiumIndex"
    return {symbol_of(text(r, "symbol", what)): num(r, "markPrice", what) for r in rows(body, what)}


def order(row: Any, symbol_of: SymbolOf, what: str = "openOrders") -> ExchangeOrder:
    data = obj(row, what)
    ex_symbol = text(data, "symbol", what)
    return ExchangeOrder(
        symbol=symbol_of(ex_symbol),
        exchange_symbol=ex_symbol,
        order_id=text(data, "orderId", what),
        client_order_id=str(data.get("clientOrderId") or ""),
        side=text(data, "side", what).lower(),
        order_type=text(data, "type", what),
        qty_base=num(data, "origQty", what),
        filled_base=num(data, "executedQty", what),
        price=num(data, "price", what) if data.get("price") is not None else 0.0,
        reduce_only=boolean(data, "reduceOnly"),
        status=text(data, "status", what),
        time_ms=int(num(data, "time" if "time" in data else "updateTime", what)),
    )


def orders(body: Any, symbol_of: SymbolOf) -> list[ExchangeOrder]:
    return [order(r, symbol_of) for r in rows(body, "openOrders")]


def fills(body: Any, symbol_of: SymbolOf) -> list[ExchangeFill]:
    what = "userTrades"
    out = []
    for row in rows(body, what):
        ex_symbol = text(row, "symbol", what)
        out.append(
            ExchangeFill(
                symbol=symbol_of(ex_symbol),
                exchange_symbol=ex_symbol,
                trade_id=text(row, "id", what),
                order_id=text(row, "orderId", what),
                side=text(row, "side", what).lower(),
                qty_base=num(row, "qty", what),
                price=num(row, "price", what),
                realized_pnl_usdt=num(row, "realizedPnl", what) if "realizedPnl" in row else 0.0,
                commission=num(row, "commission", what) if "commission" in row else 0.0,
                commission_asset=str(row.get("commissionAsset", "")),
                time_ms=int(num(row, "time", what)),
            )
        )
    return out

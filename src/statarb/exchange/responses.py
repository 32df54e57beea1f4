"""Binance USDT-M JSON shapes for orders, trades, positions, balances and market data.

Field names, string-vs-number types and decimal places follow Binance's answers (as parsed by
ccxt's ``parse_order``/``parse_trade``/``parse_position_risk``/``parse_balance``): numbers that
Binance quotes as strings are strings here, ids and times are integers.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from statarb.exchange.accounts import ZERO, Account, IncomeEntry, Position
from statarb.exchange.market import Bar
from statarb.exchange.protocol import fmt
from statarb.exchange.specs import SymbolSpec
from statarb.exchange.venue import Order, Trade

D = Decimal


def d8(value: Decimal) -> str:
    return fmt(value, 8)


def _price_str(value: Decimal) -> str:
    """An entry/break-even price: up to 8 decimals, Binance's "0.0" when empty."""
    if value == 0:
        return "0.0"
    text = f"{value.quantize(D('0.00000001')).normalize():f}"
    return text if "." in text else text + ".0"


# ---- market data -----------------------------------------------------------------------------


def symbol_info(spec: SymbolSpec) -> dict[str, Any]:
    return {
        "symbol": spec.symbol,
        "pair": spec.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": spec.onboard_date_ms,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base,
        "quoteAsset": spec.quote,
        "marginAsset": "USDT",
        "pricePrecision": spec.price_precision,
        "quantityPrecision": spec.quantity_precision,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": str(spec.liquidation_fee),
        "marketTakeBound": str(spec.market_take_bound),
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": str(spec.min_price),
                "maxPrice": str(spec.max_price),
                "tickSize": str(spec.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": str(spec.min_qty),
                "maxQty": str(spec.max_qty),
                "stepSize": str(spec.step_size),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": str(spec.min_qty),
                "maxQty": str(spec.market_max_qty),
                "stepSize": str(spec.step_size),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": str(spec.min_notional_usdt)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": str(spec.multiplier_up),
                "multiplierDown": str(spec.multiplier_down),
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def exchange_info(specs: list[SymbolSpec], server_ms: int) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
            },
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [
            {"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"},
            {"asset": "USDC", "marginAvailable": True, "autoAssetExchange": "-10000"},
            {"asset": "BTC", "marginAvailable": True, "autoAssetExchange": "0"},
        ],
        "symbols": [symbol_info(spec) for spec in specs],
    }


def kline_row(bar: Bar, spec: SymbolSpec, *, mark: bool = False) -> list[Any]:
    """[openTime, o, h, l, c, volume, closeTime, quoteVolume, trades, takerBase, takerQuote, "0"]"""
    qp = spec.quantity_precision

    def px(value: float) -> str:
        return price_str(spec, value)

    if mark:
        return [
            bar.open_ms, px(bar.open), px(bar.high), px(bar.low), px(bar.close), "0",
            bar.close_ms, "0", 0, "0", "0", "0",
        ]  # fmt: skip
    volume = (
        D(f"{bar.volume:.{qp + 2}f}").quantize(D(1).scaleb(-qp)) if qp else D(round(bar.volume))
    )
    quote = D(f"{bar.quote_volume:.4f}")
    trades = int(bar.volume > 0) + int(bar.quote_volume / 5_000)
    return [
        bar.open_ms, px(bar.open), px(bar.high), px(bar.low), px(bar.close), fmt(volume, qp),
        bar.close_ms, fmt(quote, 4), trades, fmt(volume / 2, qp), fmt(quote / 2, 4), "0",
    ]  # fmt: skip


def price_str(spec: SymbolSpec, value: Decimal | float) -> str:
    """A market price as Binance prints traded prices: on the tick grid (nearest tick)."""
    ticks = (D(repr(float(value))) / spec.tick_size).to_integral_value(rounding=ROUND_HALF_UP)
    return fmt(ticks * spec.tick_size, spec.price_precision)


# ---- orders and trades -----------------------------------------------------------------------


def order(o: Order, spec: SymbolSpec, *, with_time: bool = True) -> dict[str, Any]:
    pp, qp = spec.price_precision, spec.quantity_precision
    avg = o.cum_quote / o.executed_qty if o.executed_qty > 0 else ZERO
    body: dict[str, Any] = {
        "orderId": o.order_id,
        "symbol": o.symbol,
        "status": o.status,
        "clientOrderId": o.client_order_id,
        "price": fmt(o.price, pp),
        "avgPrice": fmt(avg, pp + 3),
        "origQty": fmt(o.orig_qty, qp),
        "executedQty": fmt(o.executed_qty, qp),
        "cumQty": fmt(o.executed_qty, qp),
        "cumQuote": fmt(o.cum_quote, pp + qp),
        "timeInForce": o.time_in_force,
        "type": o.type,
        "reduceOnly": o.reduce_only,
        "closePosition": o.close_position,
        "side": o.side,
        "positionSide": "BOTH",
        "stopPrice": fmt(ZERO, pp),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": o.orig_type or o.type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "updateTime": o.update_time_ms,
    }
    if with_time:
        body["time"] = o.time_ms
    return body


def trade(t: Trade, spec: SymbolSpec) -> dict[str, Any]:
    pp, qp = spec.price_precision, spec.quantity_precision
    return {
        "symbol": t.symbol,
        "id": t.trade_id,
        "orderId": t.order_id,
        "side": t.side,
        "price": fmt(t.price, pp),
        "qty": fmt(t.qty, qp),
        "realizedPnl": d8(t.realized_pnl),
        "quoteQty": fmt(t.quote_qty, pp + qp),
        "commission": d8(t.commission),
        "commissionAsset": "USDT",
        "time": t.time_ms,
        "positionSide": "BOTH",
        "maker": t.maker,
        "buyer": t.side == "BUY",
    }


def income(entry: IncomeEntry) -> dict[str, Any]:
    return {
        "symbol": entry.symbol,
        "incomeType": entry.income_type,
        "income": d8(entry.income),
        "asset": "USDT",
        "info": entry.income_type if entry.income_type == "FUNDING_FEE" else entry.info,
        "time": entry.time_ms,
        "tranId": entry.tran_id,
        "tradeId": entry.trade_id,
    }


# ---- positions and balances ------------------------------------------------------------------


class AccountView:
    """Everything the account endpoints print, computed once per request at one set of marks."""

    def __init__(
        self,
        *,
        account: Account,
        specs: dict[str, SymbolSpec],
        marks: dict[str, Decimal],
        open_orders: list[Order],
        open_order_margins: dict[str, Decimal],
        now_ms: int,
    ) -> None:
        self.account = account
        self.specs = specs
        self.marks = marks
        self.open_orders = open_orders
        self.order_margins = open_order_margins
        self.open_order_margin = sum(open_order_margins.values(), ZERO)
        self.now_ms = now_ms

    def _pos(self, symbol: str) -> Position:
        return self.account.positions.get(symbol) or Position(symbol)

    def _order_notional(self, symbol: str, buy: bool) -> Decimal:
        return sum(
            (
                o.remaining * (o.price or self.marks[symbol])
                for o in self.open_orders
                if o.symbol == symbol and o.buy == buy
            ),
            ZERO,
        )

    def active_symbols(self) -> list[str]:
        """Symbols with a position or an open order (what v3 endpoints list)."""
        with_orders = {o.symbol for o in self.open_orders}
        with_positions = {s for s, p in self.account.positions.items() if p.amt != 0}
        return sorted(with_orders | with_positions)

    def _numbers(self, symbol: str) -> dict[str, Decimal]:
        spec = self.specs[symbol]
        pos = self._pos(symbol)
        settings = self.account.settings_for(spec)
        mark = self.marks[symbol]
        upnl = self.account.unrealized(pos, mark)
        notional = pos.amt * mark
        position_im = abs(notional) / settings.leverage
        maint = self.account.maint_margin(spec, pos, mark) if pos.amt != 0 else ZERO
        liq = self.account.liquidation_price(spec, self.marks, self.specs)
        fee = self.account.taker_fee
        if pos.amt > 0:
            break_even = pos.entry_price * (1 + fee) / (1 - fee)
        elif pos.amt < 0:
            break_even = pos.entry_price * (1 - fee) / (1 + fee)
        else:
            break_even = ZERO
        return {
            "upnl": upnl,
            "notional": notional,
            "position_im": position_im,
            "order_im": self.order_margins.get(symbol, ZERO),
            "maint": maint,
            "liq": liq,
            "break_even": break_even,
        }

    def position_risk_v2(self, symbol: str) -> dict[str, Any]:
        spec = self.specs[symbol]
        pos = self._pos(symbol)
        settings = self.account.settings_for(spec)
        n = self._numbers(symbol)
        isolated = settings.isolated
        return {
            "symbol": symbol,
            "positionAmt": fmt(pos.amt, spec.quantity_precision),
            "entryPrice": _price_str(pos.entry_price),
            "breakEvenPrice": _price_str(n["break_even"]),
            "markPrice": d8(self.marks[symbol]),
            "unRealizedProfit": d8(n["upnl"]),
            "liquidationPrice": d8(n["liq"]) if n["liq"] > 0 else "0",
            "leverage": str(settings.leverage),
            "maxNotionalValue": str(spec.max_notional_for_leverage(settings.leverage)),
            "marginType": "isolated" if isolated else "cross",
            "isolatedMargin": d8(pos.isolated_wallet + n["upnl"]) if isolated else d8(ZERO),
            "isAutoAddMargin": "false",
            "positionSide": "BOTH",
            "notional": d8(n["notional"]),
            "isolatedWallet": d8(pos.isolated_wallet) if isolated else "0",
            "updateTime": pos.update_time_ms,
        }

    def position_risk_v3(self, symbol: str) -> dict[str, Any]:
        spec = self.specs[symbol]
        pos = self._pos(symbol)
        isolated = self.account.settings_for(spec).isolated
        n = self._numbers(symbol)
        return {
            "symbol": symbol,
            "positionSide": "BOTH",
            "positionAmt": fmt(pos.amt, spec.quantity_precision),
            "entryPrice": _price_str(pos.entry_price),
            "breakEvenPrice": _price_str(n["break_even"]),
            "markPrice": d8(self.marks[symbol]),
            "unRealizedProfit": d8(n["upnl"]),
            "liquidationPrice": d8(n["liq"]) if n["liq"] > 0 else "0",
            "isolatedMargin": d8(pos.isolated_wallet + n["upnl"]) if isolated else d8(ZERO),
            "notional": d8(n["notional"]),
            "marginAsset": "USDT",
            "isolatedWallet": d8(pos.isolated_wallet) if isolated else "0",
            "initialMargin": d8(n["position_im"] + n["order_im"]),
            "maintMargin": d8(n["maint"]),
            "positionInitialMargin": d8(n["position_im"]),
            "openOrderInitialMargin": d8(n["order_im"]),
            "adl": 0,
            "bidNotional": d8(self._order_notional(symbol, True)),
            "askNotional": d8(self._order_notional(symbol, False)),
            "updateTime": pos.update_time_ms,
        }

    def _totals(self) -> dict[str, Decimal]:
        upnl = sum((self._numbers(s)["upnl"] for s in self.active_symbols()), ZERO)
        cross_upnl = sum(
            (
                self.account.unrealized(p, self.marks[p.symbol])
                for p in self.account.cross_positions()
            ),
            ZERO,
        )
        position_im = sum((self._numbers(s)["position_im"] for s in self.active_symbols()), ZERO)
        maint = sum((self._numbers(s)["maint"] for s in self.active_symbols()), ZERO)
        available = self.account.available_balance(self.marks, self.specs, self.open_order_margin)
        wallet = self.account.wallet_balance
        return {
            "wallet": wallet,
            "upnl": upnl,
            "margin_balance": wallet + upnl,
            "position_im": position_im,
            "order_im": self.open_order_margin,
            "initial": position_im + self.open_order_margin,
            "maint": maint,
            "cross_wallet": self.account.cross_wallet(),
            "cross_upnl": cross_upnl,
            "available": available,
            "max_withdraw": max(ZERO, min(available, self.account.cross_wallet())),
        }

    def usdt_asset(self) -> dict[str, Any]:
        t = self._totals()
        return {
            "asset": "USDT",
            "walletBalance": d8(t["wallet"]),
            "unrealizedProfit": d8(t["upnl"]),
            "marginBalance": d8(t["margin_balance"]),
            "maintMargin": d8(t["maint"]),
            "initialMargin": d8(t["initial"]),
            "positionInitialMargin": d8(t["position_im"]),
            "openOrderInitialMargin": d8(t["order_im"]),
            "crossWalletBalance": d8(t["cross_wallet"]),
            "crossUnPnl": d8(t["cross_upnl"]),
            "availableBalance": d8(t["available"]),
            "maxWithdrawAmount": d8(t["max_withdraw"]),
            "marginAvailable": True,
            "updateTime": self.account.update_time_ms or self.now_ms,
        }

    def _account_totals(self) -> dict[str, Any]:
        t = self._totals()
        return {
            "totalInitialMargin": d8(t["initial"]),
            "totalMaintMargin": d8(t["maint"]),
            "totalWalletBalance": d8(t["wallet"]),
            "totalUnrealizedProfit": d8(t["upnl"]),
            "totalMarginBalance": d8(t["margin_balance"]),
            "totalPositionInitialMargin": d8(t["position_im"]),
            "totalOpenOrderInitialMargin": d8(t["order_im"]),
            "totalCrossWalletBalance": d8(t["cross_wallet"]),
            "totalCrossUnPnl": d8(t["cross_upnl"]),
            "availableBalance": d8(t["available"]),
            "maxWithdrawAmount": d8(t["max_withdraw"]),
        }

    def account_v3(self) -> dict[str, Any]:
        positions = []
        for symbol in self.active_symbols():
            spec = self.specs[symbol]
            pos = self._pos(symbol)
            n = self._numbers(symbol)
            isolated = self.account.settings_for(spec).isolated
            positions.append(
                {
                    "symbol": symbol,
                    "positionSide": "BOTH",
                    "positionAmt": fmt(pos.amt, spec.quantity_precision),
                    "unrealizedProfit": d8(n["upnl"]),
                    "isolatedMargin": d8(pos.isolated_wallet + n["upnl"]) if isolated else d8(ZERO),
                    "notional": d8(n["notional"]),
                    "isolatedWallet": d8(pos.isolated_wallet) if isolated else "0",
                    "initialMargin": d8(n["position_im"] + n["order_im"]),
                    "maintMargin": d8(n["maint"]),
                    "updateTime": pos.update_time_ms,
                }
            )
        return {**self._account_totals(), "assets": [self.usdt_asset()], "positions": positions}

    def account_v2(self) -> dict[str, Any]:
        positions = []
        for symbol in sorted(self.specs):
            spec = self.specs[symbol]
            pos = self._pos(symbol)
            settings = self.account.settings_for(spec)
            n = self._numbers(symbol)
            positions.append(
                {
                    "symbol": symbol,
                    "initialMargin": d8(n["position_im"] + n["order_im"]),
                    "maintMargin": d8(n["maint"]),
                    "unrealizedProfit": d8(n["upnl"]),
                    "positionInitialMargin": d8(n["position_im"]),
                    "openOrderInitialMargin": d8(n["order_im"]),
                    "leverage": str(settings.leverage),
                    "isolated": settings.isolated,
                    "entryPrice": _price_str(pos.entry_price),
                    "breakEvenPrice": _price_str(n["break_even"]),
                    "maxNotional": str(spec.max_notional_for_leverage(settings.leverage)),
                    "positionSide": "BOTH",
                    "positionAmt": fmt(pos.amt, spec.quantity_precision),
                    "notional": d8(n["notional"]),
                    "isolatedWallet": d8(pos.isolated_wallet) if settings.isolated else "0",
                    "updateTime": pos.update_time_ms,
                    "bidNotional": d8(self._order_notional(symbol, True)),
                    "askNotional": d8(self._order_notional(symbol, False)),
                }
            )
        return {
            "feeTier": 0,
            "feeBurn": False,
            "canDeposit": True,
            "canWithdraw": True,
            "updateTime": 0,
            "multiAssetsMargin": self.account.multi_assets_margin,
            "tradeGroupId": -1,
            **self._account_totals(),
            "assets": [self.usdt_asset()],
            "positions": positions,
        }

    def balance_v2(self) -> list[dict[str, Any]]:
        asset = self.usdt_asset()
        return [
            {
                "accountAlias": "SgsR",
                "asset": "USDT",
                "balance": asset["walletBalance"],
                "crossWalletBalance": asset["crossWalletBalance"],
                "crossUnPnl": asset["crossUnPnl"],
                "availableBalance": asset["availableBalance"],
                "maxWithdrawAmount": asset["maxWithdrawAmount"],
                "marginAvailable": True,
                "updateTime": asset["updateTime"],
            }
        ]

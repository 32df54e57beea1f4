"""Signed account endpoints: balances, positions, settings, brackets, fees, income."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from statarb.exchange import protocol, responses
from statarb.exchange.api import LocalExchange, Request, ok_body, route, time_window
from statarb.exchange.protocol import ApiError

D = Decimal
INCOME_TYPES = (
    "TRANSFER",
    "WELCOME_BONUS",
    "REALIZED_PNL",
    "FUNDING_FEE",
    "COMMISSION",
    "INSURANCE_CLEAR",
    "REFERRAL_KICKBACK",
    "COMMISSION_REBATE",
    "API_REBATE",
    "CONTEST_REWARD",
    "CROSS_COLLATERAL_TRANSFER",
    "OPTIONS_PREMIUM_FEE",
    "OPTIONS_SETTLE_PROFIT",
    "INTERNAL_TRANSFER",
    "AUTO_EXCHANGE",
    "DELIVERED_SETTELMENT",
    "COIN_SWAP_DEPOSIT",
    "COIN_SWAP_WITHDRAW",
    "POSITION_LIMIT_INCREASE_FEE",
)


@route("GET", "/fapi/v3/account", signed=True)
def account_v3(app: LocalExchange, req: Request) -> Any:
    return app.view().account_v3()


@route("GET", "/fapi/v2/account", signed=True)
def account_v2(app: LocalExchange, req: Request) -> Any:
    return app.view().account_v2()


@route("GET", "/fapi/v2/balance", "/fapi/v3/balance", signed=True)
def balance(app: LocalExchange, req: Request) -> Any:
    return app.view().balance_v2()


@route("GET", "/fapi/v3/positionRisk", signed=True)
def position_risk_v3(app: LocalExchange, req: Request) -> Any:
    view = app.view()
    symbol = req.params.get("symbol")
    wanted = [app.spec(symbol).symbol] if symbol else view.active_symbols()
    return [view.position_risk_v3(s) for s in wanted if s in view.active_symbols()]


@route("GET", "/fapi/v2/positionRisk", signed=True)
def position_risk_v2(app: LocalExchange, req: Request) -> Any:
    view = app.view()
    return [view.position_risk_v2(spec.symbol) for spec in app.specs_for(req.params)]


@route("GET", "/fapi/v1/positionSide/dual", signed=True)
def get_position_mode(app: LocalExchange, req: Request) -> Any:
    return {"dualSidePosition": app.venue.account.dual_side_position}


@route("POST", "/fapi/v1/positionSide/dual", signed=True)
def set_position_mode(app: LocalExchange, req: Request) -> Any:
    if req.params.get("dualSidePosition") is None:
        raise protocol.err_mandatory("dualSidePosition")
    app.venue.set_position_mode(req.params.boolean("dualSidePosition"))
    return ok_body()


@route("GET", "/fapi/v1/multiAssetsMargin", signed=True)
def get_multi_assets(app: LocalExchange, req: Request) -> Any:
    return {"multiAssetsMargin": app.venue.account.multi_assets_margin}


@route("POST", "/fapi/v1/multiAssetsMargin", signed=True)
def set_multi_assets(app: LocalExchange, req: Request) -> Any:
    if req.params.get("multiAssetsMargin") is None:
        raise protocol.err_mandatory("multiAssetsMargin")
    app.venue.set_multi_assets(req.params.boolean("multiAssetsMargin"))
    return ok_body()


@route("POST", "/fapi/v1/marginType", signed=True)
def set_margin_type(app: LocalExchange, req: Request) -> Any:
    spec = app.spec(req.params.get("symbol"))
    margin_type = req.params.required("marginType").upper()
    app.venue.set_margin_type(spec.symbol, margin_type)
    return ok_body()


@route("POST", "/fapi/v1/leverage", signed=True)
def set_leverage(app: LocalExchange, req: Request) -> Any:
    spec = app.spec(req.params.get("symbol"))
    raw = req.params.required("leverage")
    try:
        leverage = int(raw)
    except ValueError as exc:
        raise protocol.err_invalid_leverage(raw) from exc
    settings = app.venue.set_leverage(spec.symbol, leverage)
    return {
        "leverage": settings.leverage,
        "maxNotionalValue": str(spec.max_notional_for_leverage(settings.leverage)),
        "symbol": spec.symbol,
    }


@route("GET", "/fapi/v1/symbolConfig", signed=True)
def symbol_config(app: LocalExchange, req: Request) -> Any:
    rows = []
    for spec in app.specs_for(req.params):
        settings = app.venue.account.settings_for(spec)
        rows.append(
            {
                "symbol": spec.symbol,
                "marginType": settings.margin_type,
                "isAutoAddMargin": "false",
                "leverage": settings.leverage,
                "maxNotionalValue": str(spec.max_notional_for_leverage(settings.leverage)),
            }
        )
    return rows


@route("GET", "/fapi/v1/leverageBracket", "/fapi/v2/leverageBracket", signed=True)
def leverage_bracket(app: LocalExchange, req: Request) -> Any:
    rows = []
    for spec in app.specs_for(req.params):
        rows.append(
            {
                "symbol": spec.symbol,
                "notionalCoef": 1.0,
                "brackets": [
                    {
                        "bracket": b.bracket,
                        "initialLeverage": b.initial_leverage,
                        "notionalCap": int(b.notional_cap_usdt),
                        "notionalFloor": int(b.notional_floor_usdt),
                        "maintMarginRatio": float(b.maint_margin_ratio),
                        "cum": float(b.cum_usdt),
                    }
                    for b in spec.brackets
                ],
            }
        )
    # Binance answers an object for one symbol, a list otherwise
    return rows[0] if req.params.get("symbol") else rows


@route("GET", "/fapi/v1/commissionRate", signed=True)
def commission_rate(app: LocalExchange, req: Request) -> Any:
    spec = app.spec(req.params.get("symbol"))
    account = app.venue.account
    return {
        "symbol": spec.symbol,
        "makerCommissionRate": str(account.maker_fee),
        "takerCommissionRate": str(account.taker_fee),
        "rpiCommissionRate": "0",
    }


@route("GET", "/fapi/v1/accountConfig", signed=True)
def account_config(app: LocalExchange, req: Request) -> Any:
    account = app.venue.account
    return {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "dualSidePosition": account.dual_side_position,
        "updateTime": 0,
        "multiAssetsMargin": account.multi_assets_margin,
        "tradeGroupId": -1,
    }


@route("GET", "/fapi/v1/income", signed=True)
def income(app: LocalExchange, req: Request) -> Any:
    p = req.params
    venue = app.venue
    venue.advance()
    symbol = app.spec(p.get("symbol")).symbol if p.get("symbol") else None
    income_type = p.get("incomeType")
    if income_type is not None and income_type not in INCOME_TYPES:
        raise ApiError(-1130, "Data sent for parameter 'incomeType' is not valid.")
    limit = p.limit(100, 1000)
    page = p.integer("page") or 1
    start, end = p.integer("startTime"), p.integer("endTime")
    if start is None and end is None:
        start = venue.now_ms() - 7 * 86_400_000
    rows = [
        e
        for e in venue.account.income
        if (symbol is None or e.symbol == symbol)
        and (income_type is None or e.income_type == income_type)
        and (start is None or e.time_ms >= start)
        and (end is None or e.time_ms <= end)
    ]
    window = rows[(page - 1) * limit : page * limit]
    return [responses.income(e) for e in window]


@route("GET", "/fapi/v1/forceOrders", signed=True)
def force_orders(app: LocalExchange, req: Request) -> Any:
    p = req.params
    venue = app.venue
    venue.advance()
    symbol = app.spec(p.get("symbol")).symbol if p.get("symbol") else None
    start, end = time_window(p, venue.now_ms())
    limit = p.limit(50, 100)
    orders = [
        o
        for o in venue.orders.values()
        if o.client_order_id.startswith("autoclose-")
        and (symbol is None or o.symbol == symbol)
        and start <= o.time_ms <= end
    ]
    return [responses.order(o, venue.market.specs[o.symbol]) for o in orders[-limit:]]

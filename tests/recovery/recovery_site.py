"""A bot's folder for recovery tests: config, user_data, a FreqTrade-built trading.db, and
helpers that trade on the local exchange the way FreqTrade does (imported by name)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ccxt

from statarb.exchange.client_config import ccxt_config, freqtrade_exchange_config
from statarb.exchange.launcher import RunningExchange
from statarb.recovery.exchange_reader import RetryPolicy
from statarb.recovery.runner import RecoveryOptions, RecoveryOutcome, run_recovery
from statarb.recovery.tradedb import OrderSpec, TradeSpec, write_trades
from statarb.spread.client_ids import Leg
from statarb.spread.legs import LegTag

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "state_recovery.py"
BTC, ETH, SOL = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"
FAST_RETRY = RetryPolicy(attempts=3, first_delay_s=0.01, max_delay_s=0.05, deadline_s=10.0)


def base_config(exchange_url: str) -> dict[str, Any]:
    """The repository's config.json pointed at the local exchange (keys inline for tests)."""
    config = json.loads((REPO / "config.json").read_text(encoding="utf-8"))
    config["exchange"] = {
        **config["exchange"],
        **freqtrade_exchange_config(exchange_url),
        "pair_whitelist": [BTC, ETH, SOL],
    }
    config["freqai"]["feature_parameters"]["include_corr_pairlist"] = [BTC, ETH, SOL]
    config["db_url"] = "sqlite:///user_data/trading.db"
    return config


@dataclass
class Site:
    root: Path
    exchange: RunningExchange
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.root / "user_data").mkdir(parents=True, exist_ok=True)
        self.config = self.config or base_config(self.exchange.url)
        self.write_config()
        self.client = ccxt.binance(ccxt_config(self.exchange.url))
        self.client.load_markets()

    # -- files ---------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def db_path(self) -> Path:
        return self.root / "user_data" / "trading.db"

    @property
    def report_path(self) -> Path:
        return self.root / "user_data" / "logs" / "recovery_report.json"

    @property
    def flag_path(self) -> Path:
        return self.root / "user_data" / "state" / "manual_review.json"

    def write_config(self) -> None:
        self.config_path.write_text(json.dumps(self.config, indent=2), encoding="utf-8")

    def report(self) -> dict[str, Any]:
        return json.loads(self.report_path.read_text(encoding="utf-8"))

    # -- running recovery ------------------------------------------------------------------
    def run(self, **changes: Any) -> RecoveryOutcome:
        options = RecoveryOptions(
            config_files=[str(self.config_path)],
            retry=changes.pop("retry", FAST_RETRY),
            cwd=self.root,
            environ=changes.pop("environ", {}),
            **changes,
        )
        return run_recovery(options)

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(SCRIPT), "--retries", "3", "--retry-delay", "0.01", *args],
            check=False,
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    # -- trading as FreqTrade does -----------------------------------------------------
    def exchange_id(self, symbol: str) -> str:
        return symbol.split("/", maxsplit=1)[0] + "USDT"

    def prepare(self, symbol: str, leverage: int = 2, margin: str = "ISOLATED") -> None:
        ex_id = self.exchange_id(symbol)
        try:
            self.client.fapiPrivatePostMarginType({"symbol": ex_id, "marginType": margin})
        except ccxt.ExchangeError as exc:  # -4046: no need to change margin type
            if "-4046" not in str(exc):
                raise
        self.client.fapiPrivatePostLeverage({"symbol": ex_id, "leverage": leverage})

    def market(
        self, symbol: str, side: str, qty: float, cid: str | None = None, reduce_only: bool = False
    ) -> dict[str, Any]:
        """A market order, then its final state (id, fills) from the exchange."""
        params: dict[str, Any] = {
            "symbol": self.exchange_id(symbol),
            "side": side.upper(),
            "type": "MARKET",
            "quantity": self.client.amount_to_precision(symbol, qty),
        }
        if cid:
            params["newClientOrderId"] = cid
        if reduce_only:
            params["reduceOnly"] = "true"
        placed = self.client.fapiPrivatePostOrder(params)
        return self.client.fapiPrivateGetOrder(
            {"symbol": self.exchange_id(symbol), "orderId": placed["orderId"]}
        )

    def resting(self, symbol: str, side: str, qty: float, cid: str | None = None) -> dict:
        """A limit order 3 % away from the price: it rests."""
        last = float(self.exchange.admin.price(self.exchange_id(symbol)))
        price = self.client.price_to_precision(symbol, last * (0.97 if side == "buy" else 1.03))
        params: dict[str, Any] = {
            "symbol": self.exchange_id(symbol),
            "side": side.upper(),
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": self.client.amount_to_precision(symbol, qty),
            "price": price,
        }
        if cid:
            params["newClientOrderId"] = cid
        return self.client.fapiPrivatePostOrder(params)

    def record(self, *trades: TradeSpec) -> list[int]:
        return write_trades(self.db_path, trades)


def filled_trade(
    order: dict[str, Any],
    pair: str,
    *,
    tag: LegTag | None = None,
    enter_tag: str | None = None,
    qty: float | None = None,
    leverage: float = 2.0,
) -> TradeSpec:
    """The DB trade FreqTrade records for a filled entry order."""
    filled = float(order["executedQty"]) if qty is None else qty
    price = float(order["avgPrice"])
    side = order["side"].lower()
    return TradeSpec(
        pair=pair,
        is_short=side == "sell",
        qty_base=filled,
        open_rate=price,
        open_date=datetime.fromtimestamp(int(order["updateTime"]) / 1000, tz=UTC),
        leverage=leverage,
        enter_tag=enter_tag or (tag.pair_id if tag else None),
        orders=[OrderSpec(str(order["orderId"]), side, filled, filled, price)],
        tag=tag,
    )


def leg_tag(
    leg: Leg, direction: int, planned_qty: float, *, hedge_ratio: float, pair_id: str = "PAIR_001"
) -> LegTag:
    opened = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    return LegTag(
        pair_id=pair_id,
        opened_at=opened,
        leg=leg,
        direction=direction,
        hedge_ratio=hedge_ratio,
        leg_a=BTC,
        leg_b=ETH,
        window=50,
        planned_qty=planned_qty,
    )

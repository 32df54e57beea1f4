"""Command line of the local exchange (scripts/local_exchange.py, python -m statarb.exchange).

Run the local Binance USDT-M futures exchange on 127.0.0.1.
Keys default to the documented test pair (``protocol.DEFAULT_API_KEY`` / ``DEFAULT_API_SECRET``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from statarb.exchange.market import MarketDataError
from statarb.exchange.protocol import DEFAULT_API_KEY, DEFAULT_API_SECRET
from statarb.exchange.runner import DEFAULT_BALANCE_USDT, DEFAULT_PORT, ExchangeConfig, serve
from statarb.exchange.state import StateError


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0: {text!r}")
    return value


def _fees(text: str) -> tuple[Decimal, Decimal]:
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError("--fees takes MAKER,TAKER, e.g. 0.0002,0.0005")
    maker, taker = (_decimal(p.strip()) for p in parts)
    if maker >= 1 or taker >= 1:
        raise argparse.ArgumentTypeError("fees are fractions (0.0005 = 0.05 %)")
    return maker, taker


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="local_exchange.py",
        description="Run the local Binance USDT-M futures exchange on 127.0.0.1.",
    )
    parser.add_argument(
        "--datadir",
        type=Path,
        required=True,
        help="FreqTrade datadir (<datadir>/binance/futures/*.feather)",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--api-secret", default=DEFAULT_API_SECRET)
    parser.add_argument(
        "--state", type=Path, default=None, help="durable state file (resumed when it exists)"
    )
    parser.add_argument(
        "--balance", type=_decimal, default=DEFAULT_BALANCE_USDT, help="initial USDT wallet balance"
    )
    parser.add_argument(
        "--fees",
        type=_fees,
        default=(Decimal("0.0002"), Decimal("0.0005")),
        help="MAKER,TAKER fee rates (Binance VIP0: 0.0002,0.0005)",
    )
    parser.add_argument(
        "--live-hours",
        type=float,
        default=0.0,
        help="hours of the data's tail revealed in real time",
    )
    parser.add_argument("--slippage-bps", type=_decimal, default=Decimal(0))
    parser.add_argument("--seed", type=int, default=0, help="seed of the after-data random walk")
    parser.add_argument(
        "--level-notional",
        type=_decimal,
        default=Decimal(250_000),
        help="USDT depth of the book's best level",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    maker, taker = args.fees
    config = ExchangeConfig(
        datadir=args.datadir,
        port=args.port,
        api_key=args.api_key,
        api_secret=args.api_secret,
        state_path=args.state,
        balance_usdt=args.balance,
        maker_fee=maker,
        taker_fee=taker,
        live_hours=args.live_hours,
        slippage_bps=args.slippage_bps,
        seed=args.seed,
        level_notional_usdt=args.level_notional,
    )
    try:
        serve(config)
    except (MarketDataError, StateError) as exc:
        print(f"local_exchange: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"local_exchange: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0

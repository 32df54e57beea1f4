"""Assemble and run the local exchange: datadir + state file → venue → HTTP server.

``build`` restores the saved state (and with it the replay offset, so candles, orders and trades
keep lining up across restarts); ``serve`` runs until SIGTERM/SIGINT and saves before exiting.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import FrameType

from statarb.exchange import state
from statarb.exchange.api import LocalExchange
from statarb.exchange.http import ExchangeHTTPServer
from statarb.exchange.market import load_market
from statarb.exchange.matching import BookConfig
from statarb.exchange.protocol import DEFAULT_API_KEY, DEFAULT_API_SECRET
from statarb.exchange.venue import Venue, wall_clock_ms

logger = logging.getLogger("statarb.exchange")

DEFAULT_PORT = 8900
DEFAULT_BALANCE_USDT = Decimal(10_000)


@dataclass(frozen=True)
class ExchangeConfig:
    datadir: Path
    port: int = DEFAULT_PORT
    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    state_path: Path | None = None
    balance_usdt: Decimal = DEFAULT_BALANCE_USDT
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")
    live_hours: float = 0.0
    slippage_bps: Decimal = Decimal(0)
    seed: int = 0
    level_notional_usdt: Decimal = Decimal(250_000)


def build(config: ExchangeConfig) -> LocalExchange:
    """The application over ``config``; resumes from ``config.state_path`` when it exists."""
    loaded = state.load_state(config.state_path) if config.state_path else None
    saved, sealed = loaded if loaded is not None else (None, None)
    now = wall_clock_ms()
    market = load_market(
        config.datadir,
        start_ms=now,
        live_hours=config.live_hours,
        seed=config.seed,
        offset_ms=None if saved is None else int(saved["offset_ms"]),
    )
    venue = Venue(
        market,
        balance_usdt=config.balance_usdt,
        maker_fee=config.maker_fee,
        taker_fee=config.taker_fee,
        book=BookConfig(
            level_notional_usdt=config.level_notional_usdt, slippage_bps=config.slippage_bps
        ),
    )
    store = state.StateStore(config.state_path, sealed)
    if saved is not None:
        state.restore(venue, saved)
        logger.info(
            "resumed from %s: %d orders, %d trades, wallet %s USDT",
            config.state_path,
            len(venue.orders),
            len(venue.trades),
            venue.account.wallet_balance,
        )
    with venue.lock:
        venue.advance()  # replay what happened while the exchange was down
        store.save(venue, force=True)
    return LocalExchange(venue, store=store, api_key=config.api_key, api_secret=config.api_secret)


def serve(config: ExchangeConfig) -> None:
    """Run until SIGTERM/SIGINT, then save the state and return."""
    app = build(config)
    server = ExchangeHTTPServer(app, port=config.port)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %d: shutting down", signum)
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"listening on http://127.0.0.1:{server.port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        with app.venue.lock:
            app.store.save(app.venue, force=True)
        logger.info("state saved; bye")

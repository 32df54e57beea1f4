"""The exchange survives ``kill -9`` of itself: what it answered before the crash is still true
after a restart on the same ``--state`` file (orders, positions, balances, ids, settings)."""

from __future__ import annotations

from pathlib import Path

import ccxt
import pytest

from statarb.exchange.client_config import ccxt_config
from statarb.exchange.launcher import LauncherError, start_local_exchange

ETH, BTC = "ETH/USDT:USDT", "BTC/USDT:USDT"


def snapshot(client: ccxt.Exchange) -> dict:
    balance = client.fetch_balance()["USDT"]
    return {
        "wallet": client.fetch_balance()["info"]["totalWalletBalance"],
        "free_minus_used": (balance["free"], balance["used"]),
        "positions": sorted(
            (p["symbol"], p["side"], p["contracts"], p["entryPrice"], p["marginMode"])
            for p in client.fetch_positions()
        ),
        "open_orders": sorted(
            (o["id"], o["clientOrderId"], o["price"], o["amount"])
            for o in client.fetch_open_orders(ETH) + client.fetch_open_orders(BTC)
        ),
        "trades": [(t["id"], t["price"], t["amount"]) for t in client.fetch_my_trades(ETH)],
        "leverage": client.fetch_leverages([BTC])[BTC]["longLeverage"],
    }


def test_kill_minus_nine_loses_nothing_the_exchange_answered(
    sample_market_datadir: Path, tmp_path: Path
):
    state_path = tmp_path / "exchange-state.json"
    first = start_local_exchange(
        sample_market_datadir, log_path=tmp_path / "first.log", state_path=state_path
    )
    try:
        client = ccxt.binance(ccxt_config(first.url))
        client.load_markets()
        client.set_margin_mode("isolated", ETH)
        client.set_leverage(7, BTC)
        client.create_order(ETH, "market", "sell", 1.5, params={"newClientOrderId": "leg-b"})
        price = float(client.price_to_precision(ETH, client.fetch_ticker(ETH)["last"] * 0.97))
        resting = client.create_order(ETH, "limit", "buy", 0.5, price, params={"reduceOnly": True})
        before = snapshot(client)
        killed_at = client.fetch_time()
        log_before = first.admin.order_log()
    finally:
        first.kill()

    second = start_local_exchange(
        sample_market_datadir, log_path=tmp_path / "second.log", state_path=state_path
    )
    try:
        client = ccxt.binance(ccxt_config(second.url))
        client.load_markets()
        after = snapshot(client)
        assert after["positions"] == before["positions"]
        assert after["open_orders"] == before["open_orders"]
        assert after["trades"] == before["trades"]
        assert after["leverage"] == 7
        funding = client.fapiPrivateGetIncome({"incomeType": "FUNDING_FEE", "startTime": killed_at})
        paid = sum(float(f["income"]) for f in funding)  # in case 00/08/16 UTC passed meanwhile
        assert float(after["wallet"]) == pytest.approx(float(before["wallet"]) + paid, abs=1e-8)
        assert second.admin.order_log() == log_before
        assert (
            client.fetch_order(None, ETH, params={"clientOrderId": "leg-b"})["status"] == "closed"
        )
        new = client.create_order(BTC, "market", "buy", 0.002)
        assert int(new["id"]) > int(resting["id"])  # ids continue, never reused
    finally:
        assert second.stop() == 0  # SIGTERM: a clean shutdown


def test_a_state_file_from_another_market_is_refused_with_a_clear_message(
    sample_market_datadir: Path, tmp_path: Path
):
    state_path = tmp_path / "state.json"
    state_path.write_text('{"version": 1, "symbols": ["DOGEUSDT"], "offset_ms": 0}')
    with pytest.raises(LauncherError, match="DOGEUSDT"):
        start_local_exchange(
            sample_market_datadir, log_path=tmp_path / "x.log", state_path=state_path
        )

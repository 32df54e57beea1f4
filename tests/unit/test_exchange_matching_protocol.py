"""Matching against the synthetic book, Binance's signature/timestamp rules and symbol filters."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from statarb.exchange import protocol
from statarb.exchange.matching import BookConfig, best_bid_ask, first_touch, sweep
from statarb.exchange.protocol import ApiError
from statarb.exchange.specs import KNOWN_SPECS, derive_spec

D = Decimal

BTC = KNOWN_SPECS["BTCUSDT"]


def code_of(fn, *args, **kw) -> int:
    with pytest.raises(ApiError) as err:
        fn(*args, **kw)
    return err.value.code


# ---- book and fills ---------------------------------------------------------------------------


def test_book_has_a_one_tick_spread_around_the_price():
    assert best_bid_ask(D("60000.04"), D("0.10")) == (D("60000.00"), D("60000.10"))


def test_a_large_market_order_walks_the_book_and_pays_more_than_the_best_ask():
    config = BookConfig(level_notional_usdt=D(60_000), level_growth=D(0))
    fills = sweep(D("60000"), buy=True, qty=D("3.000"), limit_price=None, tick=D("0.10"),
                  step=D("0.001"), config=config)  # fmt: skip
    assert sum(f.qty for f in fills) == D("3.000")
    assert [f.qty for f in fills] == [D("0.999")] * 3 + [D("0.003")]  # one trade per level
    assert fills[0].price == D("60000.10")
    assert fills[-1].price > fills[0].price


def test_a_limit_order_never_fills_past_its_price():
    config = BookConfig(level_notional_usdt=D(60_000), level_growth=D(0))
    fills = sweep(D("60000"), buy=True, qty=D("3.000"), limit_price=D("60006.10"),
                  tick=D("0.10"), step=D("0.001"), config=config)  # fmt: skip
    assert all(f.price <= D("60006.10") for f in fills)
    assert sum(f.qty for f in fills) < D("3.000")


def test_slippage_moves_taker_fills_against_the_taker_on_the_tick_grid():
    config = BookConfig(slippage_bps=D(10))
    buy = sweep(D("60000"), buy=True, qty=D("0.001"), limit_price=None, tick=D("0.10"),
                step=D("0.001"), config=config)[0]  # fmt: skip
    sell = sweep(D("60000"), buy=False, qty=D("0.001"), limit_price=None, tick=D("0.10"),
                 step=D("0.001"), config=config)[0]  # fmt: skip
    assert buy.price == D("60060.20")  # 60000.10 × 1.001, rounded up
    assert sell.price == D("59940.00")  # 60000.00 × 0.999, rounded down


def test_resting_buy_fills_when_the_path_falls_to_it_at_the_interpolated_time():
    t = np.array([0.0, 100.0, 200.0])
    p = np.array([105.0, 95.0, 100.0])
    touch = first_touch(t, p, 100.0, below=True, armed=True)
    assert touch.time_ms == pytest.approx(50.0)


def test_unarmed_order_waits_for_the_price_to_leave_and_come_back():
    t = np.array([0.0, 100.0, 200.0, 300.0])
    p = np.array([99.0, 98.0, 101.0, 99.0])  # starts through the level: no fill until it re-touches
    touch = first_touch(t, p, 100.0, below=True, armed=False)
    assert touch.armed
    assert touch.time_ms == pytest.approx(250.0)
    assert first_touch(t[:2], p[:2], 100.0, below=True, armed=False).time_ms is None


def test_a_jump_through_the_level_fills_at_the_jump():
    t = np.array([0.0, 50.0, 50.0, 100.0])
    p = np.array([110.0, 110.0, 90.0, 90.0])
    assert first_touch(t, p, 100.0, below=True, armed=True).time_ms == pytest.approx(50.0)


# ---- signature, timestamps --------------------------------------------------------------------


def test_valid_signature_over_query_and_body_is_accepted():
    secret = "s3cret"
    query, body = "symbol=BTCUSDT", "side=BUY&timestamp=1"
    signature = protocol.sign(secret, query + body)
    protocol.check_signature(secret, query, body + "&signature=" + signature)


def test_tampered_request_fails_the_signature_check():
    secret = "s3cret"
    signature = protocol.sign(secret, "quantity=1&timestamp=1")
    assert (
        code_of(
            protocol.check_signature, secret, "", f"quantity=2&timestamp=1&signature={signature}"
        )
        == -1022
    )


def test_unsigned_private_request_is_refused():
    assert code_of(protocol.check_signature, "s3cret", "timestamp=1", "") == -1102


def test_stale_and_future_timestamps_are_refused():
    now = 1_000_000
    assert code_of(protocol.check_timestamp, {"timestamp": str(now - 6000)}, now) == -1021
    assert code_of(protocol.check_timestamp, {"timestamp": str(now + 1500)}, now) == -1021
    protocol.check_timestamp({"timestamp": str(now - 6000), "recvWindow": "10000"}, now)
    assert (
        code_of(protocol.check_timestamp, {"timestamp": str(now), "recvWindow": "70000"}, now)
        == -1131
    )


# ---- filters ----------------------------------------------------------------------------------


def test_btc_quantity_finer_than_its_precision_is_refused():
    assert code_of(protocol.check_quantity, BTC, D("0.0015"), is_market=True) == -1111


def test_btc_price_off_the_tick_or_out_of_range_is_refused():
    assert code_of(protocol.check_price, BTC, D("60000.05")) == -4014
    assert code_of(protocol.check_price, BTC, D("500.00")) == -4013
    assert code_of(protocol.check_price, BTC, D("4529764.10")) == -4002
    protocol.check_price(BTC, D("60000.10"))


def test_quantity_limits_and_market_lot_size():
    assert code_of(protocol.check_quantity, BTC, D("0"), is_market=False) == -4003
    assert code_of(protocol.check_quantity, BTC, D("121"), is_market=True) == -4005
    protocol.check_quantity(BTC, D("121"), is_market=False)


def test_btc_min_notional_is_100_usdt():
    protocol.check_min_notional(BTC, D("0.002"), D("60000"))
    with pytest.raises(ApiError) as err:
        protocol.check_min_notional(BTC, D("0.001"), D("60000"))
    assert err.value.code == -4164
    assert "100" in err.value.msg


def test_limit_price_far_from_the_mark_is_refused():
    assert code_of(protocol.check_percent_price, BTC, "BUY", D("64000"), D("60000")) == -4016
    assert code_of(protocol.check_percent_price, BTC, "SELL", D("56000"), D("60000")) == -4024


def test_unknown_symbols_get_filters_derived_from_their_price():
    spec = derive_spec("PEPEUSDT", "PEPE", 0.00001234)
    assert spec.tick_size == D("1E-9")
    assert spec.step_size == D(1)
    assert spec.min_notional_usdt == 5
    mid = derive_spec("LINKUSDT", "LINK", 14.5)
    assert (mid.tick_size, mid.step_size) == (D("0.001"), D("0.1"))

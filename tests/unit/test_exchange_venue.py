"""The venue's order rules and its event loop, driven by a hand-moved clock.

Each test names the way money is lost if the simulator gets it wrong: a limit order filled before
the price reached it, a reduce-only order that flips a position, a ghost partial fill, funding
that never arrives, a liquidation that leaves a position behind, state forgotten on restart.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from exchange_world import HOUR, MIN, T0, flat_candles, make_world

from statarb.exchange import state
from statarb.exchange.protocol import ApiError
from statarb.exchange.venue import OrderRequest

D = Decimal


def ramp_down_eth() -> dict[str, np.ndarray]:
    """BTC flat at 60 000; ETH flat at 3 000 for 100 minutes, then -1 USDT per minute."""
    flat = flat_candles(3000.0, 100)
    closes = 3000.0 - np.arange(1, 401, dtype=float)
    opens = np.concatenate([[3000.0], closes[:-1]])
    ramp = np.column_stack([opens, opens, closes, closes, np.full(400, 10.0)])
    return {"BTCUSDT": flat_candles(60_000.0, 2880), "ETHUSDT": np.vstack([flat, ramp])}


def rejects(code: int, fn, *args, **kw) -> None:
    with pytest.raises(ApiError) as err:
        fn(*args, **kw)
    assert err.value.code == code, err.value.msg


def test_market_buy_fills_at_once_at_the_ask_with_the_taker_fee():
    w = make_world()
    placed = w.order("ETHUSDT", "BUY", "1.000")
    order = placed.order
    assert (placed.ack.status, placed.ack.executed_qty) == ("NEW", 0)  # Binance's ACK answer
    assert order.status == "FILLED"
    assert order.cum_quote == D("3000.01")  # best ask = one tick above 3000.00
    trade = w.venue.trades[-1]
    assert (trade.maker, trade.commission) == (False, D("1.50000500"))


def test_resting_limit_buy_fills_only_when_the_price_reaches_it_at_its_own_price():
    w = make_world(ramp_down_eth())
    order = w.order("ETHUSDT", "BUY", "1.000", type="LIMIT", price=D("2950.00"),
                    time_in_force="GTC").order  # fmt: skip
    assert order.status == "NEW"
    w.at(T0 + 140 * MIN)  # price 2960: not yet
    assert order.status == "NEW"
    w.at(T0 + 200 * MIN)  # passed 2950 around minute 150
    assert order.status == "FILLED"
    trade = w.venue.trades[-1]
    assert trade.price == D("2950.00")
    assert trade.maker
    assert T0 + 149 * MIN <= trade.time_ms <= T0 + 151 * MIN  # when it happened, not when asked


def test_reduce_only_without_a_position_is_rejected():
    w = make_world()
    rejects(-2022, w.order, "ETHUSDT", "SELL", "1.000", reduce_only=True)


def test_reduce_only_larger_than_the_position_is_trimmed_and_never_flips_it():
    w = make_world()
    w.order("ETHUSDT", "BUY", "1.000")
    order = w.order("ETHUSDT", "SELL", "3.000", reduce_only=True).order
    assert order.executed_qty == D("1.000")
    assert order.status == "EXPIRED"
    assert w.venue.account.positions["ETHUSDT"].amt == 0


def test_partial_fill_fault_on_a_market_order_expires_the_rest():
    w = make_world()
    request = OrderRequest(symbol="ETHUSDT", side="BUY", type="MARKET", qty=D("1.000"))
    placed = w.venue.place_order(request, fill_ratio=0.7)
    assert placed.order.executed_qty == D("0.700")
    assert placed.order.status == "EXPIRED"
    assert w.venue.account.positions["ETHUSDT"].amt == D("0.700")


def test_partial_fill_fault_on_a_marketable_limit_rests_the_rest_until_a_fresh_touch():
    w = make_world(ramp_down_eth())
    request = OrderRequest(symbol="ETHUSDT", side="SELL", type="LIMIT", qty=D("1.000"),
                           price=D("2990.00"), time_in_force="GTC")  # fmt: skip
    order = w.venue.place_order(request, fill_ratio=0.5).order
    assert (order.status, order.executed_qty) == ("PARTIALLY_FILLED", D("0.500"))
    w.at(T0 + 300 * MIN)  # the price only falls further away: the rest keeps resting
    assert order.remaining == D("0.500")
    assert order.status == "PARTIALLY_FILLED"


def test_post_only_that_would_take_is_rejected_and_not_recorded():
    w = make_world()
    rejects(-5022, w.order, "ETHUSDT", "BUY", "1.000", type="LIMIT", price=D("3001.00"),
            time_in_force="GTX")  # fmt: skip
    assert w.venue.orders == {}


def test_fill_or_kill_that_cannot_fill_fully_is_rejected():
    w = make_world()
    rejects(-5021, w.order, "ETHUSDT", "BUY", "1.000", type="LIMIT", price=D("2999.00"),
            time_in_force="FOK")  # fmt: skip


def test_ioc_limit_fills_what_it_can_and_expires_the_rest():
    w = make_world()
    order = w.order("ETHUSDT", "BUY", "1.000", type="LIMIT", price=D("2999.00"),
                    time_in_force="IOC").order  # fmt: skip
    assert (order.status, order.executed_qty) == ("EXPIRED", 0)


def test_order_beyond_the_margin_is_rejected():
    w = make_world(balance="100")
    rejects(-2019, w.order, "BTCUSDT", "BUY", "0.100")  # 6 000 notional at 20x needs 300
    assert w.venue.account.positions.get("BTCUSDT") is None


def test_client_order_id_is_unique_among_open_orders_only_as_on_binance():
    w = make_world()
    w.order("ETHUSDT", "BUY", "1.000", type="LIMIT", price=D("2900.00"), time_in_force="GTC",
            client_order_id="spread1-A-open-0")  # fmt: skip
    rejects(-4116, w.order, "ETHUSDT", "BUY", "1.000", type="LIMIT", price=D("2900.00"),
            time_in_force="GTC", client_order_id="spread1-A-open-0")  # fmt: skip
    w.order("ETHUSDT", "BUY", "1.000", client_order_id="filled-once")
    again = w.order("ETHUSDT", "BUY", "1.000", client_order_id="filled-once")
    assert again.order.status == "FILLED"  # Binance accepts it: the first one is no longer open


def test_margin_type_cannot_change_with_a_position_or_open_orders():
    w = make_world()
    w.venue.set_margin_type("ETHUSDT", "ISOLATED")
    rejects(-4046, w.venue.set_margin_type, "ETHUSDT", "ISOLATED")
    w.order("ETHUSDT", "BUY", "1.000", type="LIMIT", price=D("2900.00"), time_in_force="GTC")
    rejects(-4047, w.venue.set_margin_type, "ETHUSDT", "CROSSED")
    w.venue.cancel_all("ETHUSDT")
    w.order("ETHUSDT", "BUY", "1.000")
    rejects(-4048, w.venue.set_margin_type, "ETHUSDT", "CROSSED")


def test_funding_is_settled_at_each_eight_hour_mark_that_passes():
    w = make_world(funding_rate=0.0001)
    w.order("ETHUSDT", "SELL", "2.000")
    w.at(T0 + 8 * HOUR - 1)
    assert not [e for e in w.venue.account.income if e.income_type == "FUNDING_FEE"]
    w.at(T0 + 16 * HOUR + 5)
    funding = [e for e in w.venue.account.income if e.income_type == "FUNDING_FEE"]
    assert [e.time_ms for e in funding] == [T0 + 8 * HOUR, T0 + 16 * HOUR]
    assert all(e.income == D("0.60000000") for e in funding)  # a short receives 2×3000×0.0001


def test_liquidation_closes_the_position_records_it_and_cancels_its_orders():
    w = make_world()
    w.venue.set_margin_type("ETHUSDT", "ISOLATED")
    w.order("ETHUSDT", "BUY", "1.000")
    resting = w.order("ETHUSDT", "SELL", "1.000", type="LIMIT", price=D("3100.00"),
                      time_in_force="GTC", reduce_only=True).order  # fmt: skip
    margin = w.venue.account.positions["ETHUSDT"].isolated_wallet
    before = w.venue.account.wallet_balance
    w.venue.shock("ETHUSDT", factor=0.9, price=None)  # -10 % at 20x: through the liquidation
    w.at(w.clock.now_ms + 1000)
    assert w.venue.account.positions["ETHUSDT"].amt == 0
    assert w.venue.account.wallet_balance == before - margin
    assert resting.status == "CANCELED"
    forced = [o for o in w.venue.orders.values() if o.client_order_id.startswith("autoclose-")]
    assert len(forced) == 1
    assert forced[0].side == "SELL"


def test_reduce_only_orders_expire_when_the_position_is_gone():
    w = make_world()
    w.order("ETHUSDT", "BUY", "1.000")
    tp = w.order("ETHUSDT", "SELL", "1.000", type="LIMIT", price=D("3100.00"),
                 time_in_force="GTC", reduce_only=True).order  # fmt: skip
    w.order("ETHUSDT", "SELL", "1.000")
    assert tp.status == "EXPIRED"


def test_a_damaged_state_file_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(state.StateError, match="cannot read state file"):
        state.read_state(path)
    w = make_world()
    with pytest.raises(state.StateError, match="version"):
        state.restore(w.venue, {"version": 99})

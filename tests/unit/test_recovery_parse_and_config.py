"""Raw Binance answers are read strictly (a short is never a long, garbage is never "nothing"),
and recovery's config helpers follow FreqTrade's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from statarb.recovery import binance_parse as parse
from statarb.recovery import ftconfig
from statarb.recovery.db_reader import DbReadError, sqlite_path
from statarb.recovery.exchange_reader import binance_code
from statarb.recovery.flatten import flatten_intent, quantity_text
from statarb.recovery.snapshots import ExchangePosition
from statarb.spread.client_ids import Leg, Purpose, parse_client_order_id


def symbol_of(exchange_symbol: str) -> str:
    return exchange_symbol.removesuffix("USDT") + "/USDT:USDT"


def risk_row(amt: str, **changes: str) -> dict:
    row = {
        "symbol": "BTCUSDT", "positionAmt": amt, "entryPrice": "42500.0", "markPrice": "42800.0",
        "unRealizedProfit": "-90.0", "liquidationPrice": "80000", "updateTime": 1,
    }  # fmt: skip
    row.update(changes)
    return row


def test_a_short_position_is_short_by_the_sign_of_position_amt():
    (pos,) = parse.positions([risk_row("-0.300")], symbol_of)
    assert (pos.symbol, pos.qty_base, pos.side, pos.amount) == ("BTC/USDT:USDT", -0.3, "SHORT", 0.3)
    assert pos.unrealized_pnl_usdt == -90.0
    assert parse.positions([risk_row("0")], symbol_of) == []
    assert parse.active_symbols([risk_row("0")]) == ["BTCUSDT"]  # listed for its open order


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[{"symbol":"BTCUSDT","positionAmt":"0.010","entryPrice":', "expected a JSON list"),
        ({"code": -1001, "msg": "Internal error"}, "expected a JSON list"),
        ([risk_row("0.1", positionAmt=None)], "is not a number"),
        ([{"symbol": "BTCUSDT"}], "'positionAmt' missing"),
        ([risk_row("nan")], "not finite"),
        (["BTCUSDT"], "expected a JSON list of objects"),
    ],
)
def test_garbage_is_refused_never_read_as_no_positions(body, message):
    with pytest.raises(parse.GarbageResponseError, match=message):
        parse.positions(body, symbol_of)


def test_margin_modes_and_account_positions():
    settings = parse.symbol_settings(
        [{"symbol": "BTCUSDT", "marginType": "CROSSED", "leverage": 20},
         {"symbol": "ETHUSDT", "marginType": "ISOLATED", "leverage": "2"}],
        symbol_of,
    )  # fmt: skip
    assert [(s.symbol, s.margin_mode, s.leverage) for s in settings] == [
        ("BTC/USDT:USDT", "cross", 20),
        ("ETH/USDT:USDT", "isolated", 2),
    ]
    with pytest.raises(parse.GarbageResponseError, match="unknown marginType"):
        parse.symbol_settings([{"symbol": "X", "marginType": "??", "leverage": 1}], symbol_of)
    body = {
        "totalWalletBalance": "100", "availableBalance": "90", "totalUnrealizedProfit": "1",
        "totalMarginBalance": "101",
        "positions": [{"symbol": "BTCUSDT", "positionAmt": "-0.1"},
                      {"symbol": "ETHUSDT", "positionAmt": "0"}],
    }  # fmt: skip
    balance, amounts = parse.account(body)
    assert (balance.wallet_usdt, balance.available_usdt) == (100.0, 90.0)
    assert amounts == {"BTCUSDT": -0.1}


def test_binance_error_codes_are_read_from_ccxt_messages():
    assert binance_code(Exception('binance {"code":-2013,"msg":"Order does not exist."}')) == -2013
    assert binance_code(Exception("binance 503 Service Unavailable")) is None


def test_flatten_ids_are_deterministic_and_name_the_spread_when_known():
    pos = ExchangePosition(
        "SOL/USDT:USDT", "SOLUSDT", -3.0, 150.0, 151.0, -3.0, None, 1_795_000_000_000
    )
    stranger = flatten_intent(pos, None)
    assert stranger == flatten_intent(pos, None)
    parsed = parse_client_order_id(stranger.client_order_id)
    assert parsed is not None and parsed["purpose"] is Purpose.FLATTEN
    ours = flatten_intent(pos, "sa-PAIR_001-htg1h-BE0")
    assert (ours.pair_id, ours.leg, ours.purpose) == ("PAIR_001", Leg.B, Purpose.FLATTEN)
    assert [quantity_text(q) for q in (-3.0, 0.001, 1e-05, 120.5)] == [
        "3",
        "0.001",
        "0.00001",
        "120.5",
    ]


def test_sqlite_urls_resolve_like_sqlalchemy_and_others_are_refused(tmp_path: Path):
    assert (
        sqlite_path("sqlite:///user_data/trading.db", tmp_path) == tmp_path / "user_data/trading.db"
    )
    assert sqlite_path("sqlite:////abs/trading.db", tmp_path) == Path("/abs/trading.db")
    assert sqlite_path("sqlite://", tmp_path) is None
    with pytest.raises(DbReadError, match="SQLite databases only"):
        sqlite_path("postgresql://u@h/db", tmp_path)


def test_env_variables_are_typed_and_nested_like_freqtrade():
    env = {
        "FREQTRADE__EXCHANGE__KEY": "abc",
        "FREQTRADE__DRY_RUN": "f",
        "FREQTRADE__TELEGRAM__CHAT_ID": "0123",  # never converted
        "FREQTRADE__EXCHANGE__CCXT_CONFIG__OPTIONS__recvWindow": "7000",
        "FREQTRADE__EXCHANGE__PAIR_WHITELIST": '["A/USDT:USDT"]',
        "OTHER": "x",
    }
    assert ftconfig.env_overrides(env) == {
        "exchange": {
            "key": "abc",
            "ccxt_config": {"options": {"recvWindow": 7000}},
            "pair_whitelist": ["A/USDT:USDT"],
        },
        "dry_run": False,
        "telegram": {"chat_id": "0123"},
    }


def test_timeframes_in_minutes():
    assert [ftconfig.timeframe_minutes(t) for t in ("1m", "15m", "4h", "1d", "x", None, "m")] == [
        1, 15, 240, 1440, None, None, None,
    ]  # fmt: skip

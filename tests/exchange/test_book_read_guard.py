"""The order-book read guard (`statarb.live.book_reads`) on a real ccxt client.

Protects against the bot stopping with open trades on one garbage answer to the order-book
request (issue 16): unguarded, ccxt turns a truncated body into an empty book (FreqTrade's
`PricingError`, fatal where it re-prices a resting order) and some shapes into a bare
`TypeError` (fatal anywhere in FreqTrade's loop). Guarded, every such answer is
`ccxt.BadResponse`, which FreqTrade retries at once and survives as a `TemporaryError`.
"""

from __future__ import annotations

import ccxt
import pytest

from statarb.exchange.client_config import ccxt_config
from statarb.exchange.launcher import RunningExchange
from statarb.live.book_reads import book_problem, install_book_read_guard

ETH = "ETH/USDT:USDT"
DEPTH = "GET /fapi/v1/depth"
GARBAGE_BODIES = {
    "truncated JSON (parsed as an empty book)": None,  # the fault's default body
    "an empty object": "{}",
    "a side that is not a list (ccxt raises TypeError)": '{"bids": 5, "asks": []}',
    "levels without amounts": '{"bids": [["1"]], "asks": [[1]]}',
    "an HTML error page under status 200": "<html>bad gateway</html>",
}


@pytest.fixture
def guarded(exchange: RunningExchange) -> ccxt.Exchange:
    client = ccxt.binance(ccxt_config(exchange.url, timeout=1500))
    client.load_markets()
    install_book_read_guard(client)
    return client


@pytest.mark.parametrize("body", GARBAGE_BODIES.values(), ids=GARBAGE_BODIES.keys())
def test_a_garbage_book_answer_is_a_bad_response_never_an_empty_book_or_a_type_error(
    exchange: RunningExchange, guarded: ccxt.Exchange, body: str | None
) -> None:
    exchange.admin.inject_fault("garbage", endpoint=DEPTH, **({"body_text": body} if body else {}))
    with pytest.raises(ccxt.BadResponse, match=ETH):
        guarded.fetch_l2_order_book(ETH, 5)
    # FreqTrade maps ccxt.OperationFailed to its TemporaryError: retried, never fatal.
    assert issubclass(ccxt.BadResponse, ccxt.OperationFailed)
    book = guarded.fetch_l2_order_book(ETH, 5)  # count 1: the next answer is whole
    assert book_problem(book) is None and book["bids"][0][0] < book["asks"][0][0]


def test_a_whole_book_passes_as_ccxt_parsed_it_and_installing_twice_wraps_once(
    guarded: ccxt.Exchange,
) -> None:
    wrapped = guarded.fetch_l2_order_book
    install_book_read_guard(guarded)
    assert guarded.fetch_l2_order_book is wrapped
    book = guarded.fetch_l2_order_book(ETH, 5)
    assert book["symbol"] == ETH and 1 <= len(book["bids"]) <= 5 and book_problem(book) is None


def test_book_problem_names_what_cannot_price_an_order() -> None:
    assert book_problem({"bids": [[100.0, 1.0]], "asks": [[100.1, 2.0]]}) is None
    assert book_problem({"bids": [], "asks": [[100.1, 2.0]]}) == "no bids"
    assert "has no price" in str(book_problem({"bids": [[None, 1.0]], "asks": [[1.0, 1.0]]}))
    assert "not a book" in str(book_problem("<html>"))

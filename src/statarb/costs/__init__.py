"""Costs first: where a spread's money goes (accounting) and whether it can pay its way (entry).

SPEC §5: on real candles the rules won most spreads and still lost money, because the edge is
smaller than the fees. `accounting` splits each spread's P&L into gross, fees, funding and
slippage; `entry_cost` refuses a spread whose expected reversion cannot pay its round trip;
`orders` prices maker-first orders and decides when they give up and cross the book.
"""

"""Costs first: whether a spread can pay its way (entry) and how its orders are priced.

docs/design.md §5.4: on real candles the rules won most spreads and still lost money, because
the edge is smaller than the fees. `entry_cost` refuses a spread whose expected reversion cannot
pay its round trip; `orders` prices maker-first orders and decides when they give up and cross
the book. Where each spread's money went is `statarb.accounting`.
"""

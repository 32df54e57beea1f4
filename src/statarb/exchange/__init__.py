"""A local Binance USDT-M futures exchange that speaks Binance's REST protocol.

The simulated world imports nothing of the bot and the bot imports nothing of it: they meet over
HTTP only, exactly as with Binance (URLs overridden, see ``client_config``). Layers, bottom up:
``specs`` (symbol filters, brackets) → ``pricepath``/``market`` (replay clock, klines) →
``matching`` (book, fills) → ``accounts`` (margin, P&L, funding, liquidation) → ``venue``
(orders, the event loop) → ``state`` (durability) → ``api`` (Binance request/response shapes) →
``http`` (the only web code). ``faults`` is consulted by ``api``/``http``.
"""

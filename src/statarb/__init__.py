"""Market-neutral cointegration pairs trading for Binance USDT-M futures.

Pure domain logic lives here (statistics, pair selection, leg sizing, hedging
decisions, reconciliation). FreqTrade, the CLIs and the local exchange are thin
adapters around it; see README.md, "Layout".
"""

__version__ = "0.1.0"

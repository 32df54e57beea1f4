"""Crash recovery: what the exchange holds against what the bot's database believes.

Layers, one way: adapters read the world into plain snapshots (``snapshots``; the exchange via
ccxt in ``exchange_reader``, FreqTrade's ``trading.db`` read-only in ``db_reader``), a pure
function classifies every difference (``reconcile``), and ``report`` turns the result into the
docs/design.md §3.2 report written atomically with a bounded history. ``runner`` ties them
together for ``scripts/state_recovery.py`` and the bench; ``ftconfig`` loads the config as
FreqTrade does.
"""

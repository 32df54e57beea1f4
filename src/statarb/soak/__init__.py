"""The chaos soak (issue 16): a seeded schedule of exchange and process faults, and the
invariants a live bot must keep under them, as pure code over plain snapshots.

`bench/chaos_soak.py` is the thin adapter that drives a real `freqtrade trade` with it.
"""

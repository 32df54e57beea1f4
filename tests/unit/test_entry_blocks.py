"""A loaded pair that cannot open a spread says so once per change (statarb.spread.blocks).

Protects against the two ways an operator misreads a quiet pair: silence (a failed re-test
stops the signals, so nothing said why the pair never traded) and noise (the cost gate refused
the same pair with the same sentence on every candle, burying the line that mattered).
"""

from __future__ import annotations

from statarb.spread.blocks import Block, EntryBlocks

COST = "too small to pay its costs: expected reversion 0.042% < 1.50 x round-trip cost 0.059%"


def test_a_block_is_told_when_it_starts_and_when_it_lifts_not_while_it_stands() -> None:
    blocks = EntryBlocks()
    change = blocks.update("SOL_ADA", {Block.COST: COST})
    assert change is not None and change.blocked
    assert (change.blocks, change.reason, change.lifted) == ("cost", COST, ())
    # The next candles refuse again, with other numbers: the same block, nothing new to say.
    assert blocks.update("SOL_ADA", {Block.COST: COST.replace("0.042", "0.040")}) is None
    assert blocks.update("SOL_ADA", {Block.REVIEW: None, Block.RETEST: None}) is None
    lifted = blocks.update("SOL_ADA", {Block.COST: None})
    assert lifted is not None and not lifted.blocked and lifted.lifted == (Block.COST,)
    assert blocks.update("SOL_ADA", {Block.COST: None}) is None  # unblocked stays unblocked


def test_a_second_reason_and_the_first_one_lifting_are_each_a_change() -> None:
    blocks = EntryBlocks()
    blocks.update("SOL_ADA", {Block.COOLDOWN: "z stop cool-down until 2026-02-02 22:05 UTC"})
    both = blocks.update("SOL_ADA", {Block.REVIEW: "manual review flag up"})
    assert both is not None and both.blocks == "cooldown,review"
    assert both.reason == "z stop cool-down until 2026-02-02 22:05 UTC; manual review flag up"
    one = blocks.update("SOL_ADA", {Block.REVIEW: None})
    assert one is not None and one.blocked and one.blocks == "cooldown"
    assert one.lifted == (Block.REVIEW,)
    assert blocks.standing("SOL_ADA") == {Block.COOLDOWN}


def test_pairs_are_tracked_apart_and_a_dropped_pair_is_forgotten_silently() -> None:
    blocks = EntryBlocks()
    assert blocks.update("SOL_ADA", {Block.RETEST: "trailing re-test failed"}) is not None
    assert blocks.update("ETH_XRP", {Block.RETEST: "trailing re-test failed"}) is not None
    blocks.keep_only(["ETH_XRP"])  # a re-scan dropped SOL_ADA
    assert blocks.standing("SOL_ADA") == frozenset()
    assert blocks.standing("ETH_XRP") == {Block.RETEST}
    # Chosen again later and still failing its re-test: a new pair to the reader, said again.
    assert blocks.update("SOL_ADA", {Block.RETEST: "trailing re-test failed"}) is not None

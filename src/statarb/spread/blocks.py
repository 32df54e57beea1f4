"""Which loaded pairs are blocked from entries, and why — told once per change, not per candle.

A pair can be loaded and still unable to open a spread for hours: its trailing re-test failed
(it then never signals, so nothing else would say why it is quiet), its expected reversion does
not pay its costs (every signal candle refused for the same reason), the manual-review flag is
up, or a z stop put its legs in cool-down. `EntryBlocks` keeps, per pair, the blocks standing
and their latest reasons, and reports a pair only when the SET of its blocks changes: blocked,
blocked for one more or one less reason, unblocked. A reason's numbers (a p-value, a cost) may
change from candle to candle without a new line. Pure: the strategy feeds it and logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Block(StrEnum):
    RETEST = "retest"  # the trailing stationarity re-test failed
    COST = "cost"  # the cost gate refuses the pair's signals
    REVIEW = "review"  # the manual-review flag is up
    COOLDOWN = "cooldown"  # a z stop locked the pair's legs for a while


@dataclass(frozen=True)
class BlockChange:
    """A pair's blocks after a change: `standing` (block, reason) pairs, `lifted` blocks."""

    pair_id: str
    standing: tuple[tuple[Block, str], ...]
    lifted: tuple[Block, ...]

    @property
    def blocked(self) -> bool:
        return bool(self.standing)

    @property
    def blocks(self) -> str:
        """`cost,retest`: the standing blocks, comma-separated (one bare log value)."""
        return ",".join(str(block) for block, _ in self.standing)

    @property
    def reason(self) -> str:
        return "; ".join(reason for _, reason in self.standing)


class EntryBlocks:
    def __init__(self) -> None:
        self._standing: dict[str, dict[Block, str]] = {}

    def update(self, pair_id: str, blocks: Mapping[Block, str | None]) -> BlockChange | None:
        """Set each given block of `pair_id` (a reason: it stands; None: it does not); blocks not
        given keep their state. Returns the change when the set of standing blocks changed."""
        before = self._standing.get(pair_id, {})
        after = dict(before)
        for block, reason in blocks.items():
            if reason is None:
                after.pop(block, None)
            else:
                after[block] = reason
        if after:
            self._standing[pair_id] = after
        else:
            self._standing.pop(pair_id, None)
        if set(after) == set(before):
            return None
        return BlockChange(
            pair_id,
            tuple(sorted(after.items())),
            tuple(sorted(set(before) - set(after))),
        )

    def standing(self, pair_id: str) -> frozenset[Block]:
        return frozenset(self._standing.get(pair_id, {}))

    def keep_only(self, pair_ids: Iterable[str]) -> None:
        """Forget pairs no longer loaded (a re-scan dropped them: they are not blocked, gone)."""
        keep = set(pair_ids)
        self._standing = {k: v for k, v in self._standing.items() if k in keep}

"""The FreqTrade strategy holds FreqTrade's callbacks only; the work is in `statarb.ft`.

Protects against logic growing back into the strategy file, where it cannot be unit-tested
without FreqTrade and where copies of one computation drifted apart before (a twin's tag built
by hand without its entry thresholds, the live z in three places, the ticker read in two).
"""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

from freqtrade.strategy import IStrategy

STRATEGIES = Path(__file__).resolve().parents[2] / "user_data" / "strategies"
sys.path.insert(0, str(STRATEGIES))

from CointPairsStrategy import CointPairsStrategy  # noqa: E402

# Not FreqTrade callbacks, but what the parts ask the strategy for: the hyperoptable thresholds.
OWN = {"thresholds_for", "default_thresholds"}


def test_every_method_of_the_strategy_is_a_freqtrade_callback_or_its_thresholds() -> None:
    own = {
        name
        for name, member in vars(CointPairsStrategy).items()
        if inspect.isfunction(member) and name != "__init__"
    }
    assert not own - OWN - set(dir(IStrategy)), sorted(own - OWN - set(dir(IStrategy)))


def test_the_strategy_has_no_mixins_and_no_helper_functions() -> None:
    """One host, composed parts: a mixin's contract with the host was a docstring."""
    assert CointPairsStrategy.__bases__ == (IStrategy,)
    tree = ast.parse((STRATEGIES / "CointPairsStrategy.py").read_text())
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)] == [
        "CointPairsStrategy"
    ]


def test_each_callback_hands_over_in_a_few_lines() -> None:
    tree = ast.parse((STRATEGIES / "CointPairsStrategy.py").read_text())
    (strategy,) = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    long = {
        f.name: len(f.body)
        for f in strategy.body
        if isinstance(f, ast.FunctionDef) and f.name != "__init__" and len(f.body) > 6
    }
    assert not long, long

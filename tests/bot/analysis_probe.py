"""Run `freqtrade lookahead-analysis` and record where the cut and full indicator frames differ.

Not a test module (no `test_` prefix): the lookahead test runs it as a subprocess. It runs
FreqTrade's real analysis unchanged and only observes `analyze_indicators`, writing for every
checked trade the row positions at which indicator values differed, as JSON lines to the file
named by STATARB_PROBE_OUT. That lets the test tell a real look-ahead from FreqAI's unpredicted
final candle of every backtest window.
"""

from __future__ import annotations

import json
import os
import sys

from freqtrade.main import main
from freqtrade.optimize.analysis import lookahead

_observed = lookahead.LookaheadAnalysis.analyze_indicators


def _record(self, full_vars, cut_vars, current_pair):  # type: ignore[no-untyped-def]
    cut = cut_vars.indicators[current_pair]
    full = full_vars.indicators[current_pair]
    diff = full.loc[cut.index].compare(cut)
    rows = sorted({int(cut.index.get_loc(r)) for r in diff.index})
    columns = sorted({str(c[0]) for c in diff.columns})
    with open(os.environ["STATARB_PROBE_OUT"], "a", encoding="utf-8") as out:
        out.write(
            json.dumps(
                {"pair": current_pair, "rows": rows, "cut_len": len(cut), "columns": columns}
            )
            + "\n"
        )
    return _observed(self, full_vars, cut_vars, current_pair)


lookahead.LookaheadAnalysis.analyze_indicators = _record

if __name__ == "__main__":
    sys.argv = ["freqtrade", *sys.argv[1:]]
    main()

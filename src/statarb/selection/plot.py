"""A static PNG of the chosen spreads and their z-scores, for a person checking a scan.

Uses matplotlib's object API with the Agg canvas: no display, no pyplot global state, safe in
a headless container.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from statarb.atomic import atomic_write_bytes
from statarb.pairs_config import DEFAULT_ENTRY_Z, DEFAULT_EXIT_Z, DEFAULT_STOP_Z
from statarb.selection.scanner import ScanResult
from statarb.stats.rolling import rolling_zscore, spread


def plot_spreads(closes: pd.DataFrame, result: ScanResult, path: str | Path, top: int = 4) -> int:
    """Draw up to `top` selected pairs (spread above, z-score with thresholds below).

    `closes` are the scan's closes; only the scan window is drawn. Returns the pairs drawn.
    """
    chosen = result.selected[:top]
    window = closes.loc[
        (closes.index >= pd.Timestamp(result.window_start))
        & (closes.index < pd.Timestamp(result.window_end))
    ]
    rows = max(1, len(chosen))
    fig = Figure(figsize=(12, 3.2 * 2 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2 * rows, 1, squeeze=False)[:, 0]
    p = result.params
    if not chosen:
        axes[0].text(0.5, 0.5, "no pair selected", ha="center", va="center")
        axes[0].set_axis_off()
        axes[1].set_axis_off()
    for i, c in enumerate(chosen):
        s = spread(window[c.leg_a], window[c.leg_b], c.hedge_ratio, c.intercept)
        z = rolling_zscore(s, p.mean_reversion_window)
        top_ax, z_ax = axes[2 * i], axes[2 * i + 1]
        top_ax.plot(s.index, s.to_numpy(), lw=0.8, color="tab:blue")
        top_ax.axhline(0.0, color="grey", lw=0.6)
        top_ax.set_title(
            f"{c.leg_a} - {c.hedge_ratio:.6g} x {c.leg_b} {-c.intercept:+.6g}   "
            f"(t={c.stat:.2f}, q={c.qvalue:.2g}, half-life {c.half_life_candles:.1f} candles)"
        )
        top_ax.set_ylabel("spread (USDT)")
        z_ax.plot(z.index, z.to_numpy(), lw=0.8, color="tab:purple")
        levels = (
            (DEFAULT_ENTRY_Z if p.entry_z is None else p.entry_z, "--"),
            (DEFAULT_EXIT_Z if p.exit_z is None else p.exit_z, ":"),
            (DEFAULT_STOP_Z if p.stop_z is None else p.stop_z, "-"),
        )
        for level, style in levels:
            for sign in (1.0, -1.0):
                z_ax.axhline(sign * level, color="tab:red", lw=0.7, ls=style)
        z_ax.set_ylabel(f"z ({p.mean_reversion_window} candles)")
    buffer = png_bytes(fig)
    atomic_write_bytes(path, buffer)
    return len(chosen)


def png_bytes(fig: Figure) -> bytes:
    out = BytesIO()
    fig.savefig(out, format="png", dpi=90)
    return out.getvalue()

"""Where the money went, as a table a person reads (backtest report, daily check)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from statarb.accounting.pnl import CostRow, CostSummary

# FreqTrade's leg profits and our spreads must add up to the same money (rounding aside).
NET_MISMATCH_USDT = 0.01


def print_costs(
    costs: CostSummary, console: Console, *, freqtrade_net_usdt: float | None = None
) -> None:
    """Where the money went: gross moves against fees, funding and slippage, by group."""
    console.rule("[bold]Costs (stake currency; slippage is inside gross, not subtracted again)")
    table = Table("group", "spreads", "win %", "gross", "fees", "funding", "slippage", "net")

    def add(row: CostRow, style: str | None = None) -> None:
        table.add_row(
            row.group,
            str(row.spreads),
            f"{100 * row.win_rate:.0f}" if row.spreads else "-",
            f"{row.gross_profit:+.2f}",
            f"{row.fees:.2f}",
            f"{row.funding:+.2f}",
            f"{row.slippage:+.2f}",
            f"{row.net_profit:+.2f}",
            style=style,
        )

    add(costs.total, "bold")
    table.add_section()
    for row in costs.by_pair:
        add(row)
    table.add_section()
    for row in costs.by_exit_reason:
        add(row)
    console.print(table)
    total = costs.total
    if total.spreads and total.gross_profit > 0:
        console.print(
            f"fees took {total.fees / total.gross_profit:.0%} of the gross profit "
            f"({total.fees:.2f} of {total.gross_profit:+.2f})"
        )
    elif total.spreads:
        console.print(f"the spreads lost {total.gross_profit:+.2f} before fees of {total.fees:.2f}")
    if math.isfinite(costs.max_drawdown_usdt):
        console.print(
            f"max drawdown of the spreads' net: {costs.max_drawdown_usdt:.2f} "
            f"({costs.max_drawdown_pct:.2f} % of the peak balance)"
        )
    if freqtrade_net_usdt is not None and total.spreads:
        gap = total.net_profit - freqtrade_net_usdt
        if abs(gap) > NET_MISMATCH_USDT:
            console.print(
                f"[bold red]WARNING: the spreads' net {total.net_profit:+.2f} differs from "
                f"FreqTrade's {freqtrade_net_usdt:+.2f} by {gap:+.2f}[/]"
            )

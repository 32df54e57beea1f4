"""Where a spread's money went: its two legs joined, P&L split into gross, fees, funding and
slippage (`pnl`), built from FreqTrade's trades (`ledger`) and summed for reports (`report`);
the account's headline figures, one Sharpe and drawdown definition (`performance`).

Above `statarb.spread` (it names legs and re-computes entry/exit z); the cost arithmetic the
strategy decides with lives below, in `statarb.costs`.
"""

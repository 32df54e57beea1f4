"""The strategy's own settings: the `statarb` section of FreqTrade's config.json.

FreqTrade validates its own keys and ignores unknown ones silently (docs/design.md §6.13: the
original's `max_stake_amount` was ignored), so our section is validated here, strictly: a typo
is an error at start, not a default in production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from statarb.costs.entry_cost import DEFAULT_SLIPPAGE_BPS
from statarb.costs.orders import DEFAULT_CROSSING_SLIPPAGE_BPS, DEFAULT_MAKER_TIMEOUT_S
from statarb.pairs_config import (
    DEFAULT_FDR_ALPHA,
    DEFAULT_KEEP_PAIRS_SCANS,
    DEFAULT_PRICE_SPACE,
    DEFAULT_SCAN_LOOKBACK_CANDLES,
)
from statarb.stats.space import PriceSpace

DEFAULT_MODEL_TRAIN_CANDLES = 720


class SettingsError(ValueError):
    """The `statarb` config section is invalid; the message names the key."""


class StrategySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Where the pairs come from: a fixed pairs config, or a walk-forward schedule (backtests).
    pairs_config: str = "pairs_config.json"
    pairs_schedule: str | None = None
    # Pair scans (the daily re-scan and a backtest's walk-forward schedule), in candles so one
    # config fits 1m, 5m and 1h; the spread's price space (docs/price_space.md).
    scan_lookback_candles: Annotated[int, Field(ge=100, le=1_000_000)] = (
        DEFAULT_SCAN_LOOKBACK_CANDLES
    )
    price_space: PriceSpace = DEFAULT_PRICE_SPACE
    # A pair chosen by one of the last `keep_pairs_scans` daily scans stays tradable
    # (statarb.selection.keep); 1 = only today's scan.
    keep_pairs_scans: Annotated[int, Field(ge=1, le=30)] = DEFAULT_KEEP_PAIRS_SCANS
    # False Benjamini-Hochberg discovery rate of the pair scans.
    fdr_alpha: Annotated[float, Field(gt=0, lt=1)] = DEFAULT_FDR_ALPHA
    # FreqAI's training window in candles; a backtest turns it into train_period_days.
    model_train_candles: Annotated[int, Field(ge=100)] = DEFAULT_MODEL_TRAIN_CANDLES
    # Risk: at most this many spreads (each spread is two FreqTrade trades).
    max_open_spreads: Annotated[int, Field(ge=1, le=50)] = 2
    # Margin committed to one spread (both legs), as % of the account's total stake balance.
    max_risk_percent: Annotated[float, Field(gt=0, le=100)] = 10.0
    leverage: Annotated[float, Field(ge=1, le=125)] = 2.0
    # Largest relative miss of the hedge ratio accepted after rounding to the lot grid.
    max_hedge_error: Annotated[float, Field(gt=0, le=0.2)] = 0.01
    # Close only once z is inside the exit band AND its move towards zero has stalled.
    require_turn: bool = True
    # Trailing stationarity re-test of the traded spread (ADF with constant, fixed lag).
    retest_window: Annotated[int, Field(ge=30)] = 500
    retest_every: Annotated[int, Field(ge=1)] = 60
    retest_max_pvalue: Annotated[float, Field(gt=0, le=1)] = 0.10
    # After a z-stop the pair is locked for this many candles: a broken spread is not re-entered.
    stop_cooldown_candles: Annotated[int, Field(ge=0)] = 60
    # FreqAI gate: the model must predict at least this reversion (z units) with this confidence.
    model_gate: bool = False  # off: it did not beat the rules on the fit months (README)
    min_model_reversion: float = 0.0
    min_model_confidence: float = 0.0
    # Cost-aware entry (statarb.costs.entry_cost): a spread opens only when its expected
    # reversion pays its round trip (4 fills, funding over the expected hold, slippage) times
    # the strategy's hyperoptable `cost_margin`.
    cost_gate: bool = True
    # Fee rate per fill the estimate assumes; None = what FreqTrade charges (the config's `fee`
    # in backtests and dry runs, else the exchange's taker fee, or maker fee for maker-first).
    fee_rate: Annotated[float, Field(ge=0, lt=0.01)] | None = None
    # Expected slippage per fill against the signal candle's close, in basis points.
    expected_slippage_bps: Annotated[float, Field(ge=0, le=100)] = DEFAULT_SLIPPAGE_BPS
    # Maker-first orders (config order_types entry/exit "limit", pricing side "same"): seconds a
    # limit rests at the touch; then it is cancelled and the crossing goes at market (a lone
    # leg's twin from the hedging plan, an exit as FreqTrade's emergency exit). Must be below
    # unfilledtimeout (FreqTrade's own backstop), with exit_timeout_count 1.
    maker_timeout_s: Annotated[int, Field(ge=1, le=3600)] = DEFAULT_MAKER_TIMEOUT_S
    # An order that must fill now (a stop, a lone leg's exit, a maker order that waited out) is
    # a limit this many basis points past the opposite touch: it fills at the book's prices even
    # when the book moved while the order travelled, and never further than this from the touch.
    crossing_slippage_bps: Annotated[float, Field(ge=0, le=100)] = DEFAULT_CROSSING_SLIPPAGE_BPS
    # Durable manual-review flag, relative to user_data_dir unless absolute.
    review_flag: str = "state/manual_review.json"

    @model_validator(mode="after")
    def _sources(self) -> StrategySettings:
        if not self.pairs_config and not self.pairs_schedule:
            raise ValueError("set pairs_config or pairs_schedule")
        return self

    def resolve(self, path: str, base: Path) -> Path:
        candidate = Path(path)
        return candidate if candidate.is_absolute() else base / candidate

    def review_flag_path(self, user_data: Path, *, dry_run: bool) -> Path:
        """The manual-review flag of a live run, or of a dry run (its own file: a paper run's
        review must never lock the live bot's entries, nor a live review a paper run's)."""
        return state_file(self.resolve(self.review_flag, user_data), dry_run=dry_run)


INTENT_JOURNAL = Path("state") / "order_intents.json"  # relative to user_data


def state_file(path: Path, *, dry_run: bool) -> Path:
    """A durable state file's path; a dry run keeps its own beside it (`x.json` becomes
    `x.dry_run.json`)."""
    return path.with_name(f"{path.stem}.dry_run{path.suffix}") if dry_run else path


def startup_candles(settings: StrategySettings, longest_z_window: int) -> int:
    """Candles the strategy needs before its first decision (FreqTrade's startup_candle_count).

    The trailing re-test window, the longest z window (+1 for the previous candle's z), and the
    60-candle model features, plus a margin of 10.
    """
    return max(settings.retest_window, longest_z_window + 1, 61) + 10


def parse_settings(config: dict[str, Any]) -> StrategySettings:
    """Validate `config["statarb"]` (absent = all defaults)."""
    section = config.get("statarb", {})
    if not isinstance(section, dict):
        raise SettingsError("config key 'statarb' must be an object")
    try:
        return StrategySettings.model_validate(section)
    except ValidationError as exc:
        problems = [
            f"statarb.{'.'.join(str(p) for p in err['loc']) or '(section)'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        ]
        raise SettingsError("invalid 'statarb' config:\n  - " + "\n  - ".join(problems)) from None

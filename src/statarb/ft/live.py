"""The strategy's live duties (dry_run false, and rehearsed in dry-run): `LiveDesk`, made by
`CointPairsStrategy.__init__`, started by its `bot_start`.

FreqTrade 2026.9 offers per-pair callbacks only; a spread needs both legs handled together.
- at start (live and dry-run): the loop guards — order-book answers checked, a re-price that
  cannot read the book keeps its order (statarb.ft.loop_guard);
- every loop (`bot_loop_start`, not under FreqTrade's exit lock): the manual-review flag as a
  global FreqTrade lock (visible in `/api/v1/locks`), the ghost check of every order 5 s after it
  was placed, the hedging plan of each spread (opening a missing twin directly through the bot:
  FreqTrade has no signal-free way to enter another pair), the live z-score of each open spread
  from current prices (the 5-second stop check), and the 5-second monitor against the exchange;
- `adjust_trade_position`: the hedging plan's reduce / top-up for this leg, as FreqTrade's own
  partial exit / position adjustment;
- `confirm_trade_exit`: the exit intent's client order id;
- `check_entry_timeout`: a leg's working entry is cancelled once its spread is leaving.

What it reads from the strategy is `statarb.ft.host.StrategyHost`; it owns the live execution
(`live`, None in backtests and until started) and the FreqTrade internals it was reached with.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freqtrade.enums import RunMode
from freqtrade.persistence import Order, PairLocks, Trade

from statarb.execution.hedging import MAX_RETRIES, HedgeAction, HedgeKind, hedging_budget_ms
from statarb.execution.journal import IntentJournal, IntentStatus
from statarb.ft.candles import prices_of
from statarb.ft.companion import prepare as prepare_companion
from statarb.ft.freqtrade_internals import FreqtradeInternals, FreqtradeInternalsError, reach
from statarb.ft.loop_guard import guard_replace_order
from statarb.ft.simulated_orders import (
    NOT_SIMULATED,
    SIMULATED_RECV_WINDOW_MS,
    SimulatedOrders,
    install_simulated_order_seam,
    simulated_positions,
)
from statarb.ft.trades import LIVE_MODES, market_of
from statarb.live.book_reads import install_book_read_guard
from statarb.live.execution import LegSnapshot, LiveExecution, exchange_execution, now_ms
from statarb.pairs_config import PairsConfigError, describe_pairs_change, load_pairs_config
from statarb.safety.log import Category, log
from statarb.settings import INTENT_JOURNAL, state_file
from statarb.spread.client_ids import Leg, Purpose
from statarb.spread.features import tag_spread_z
from statarb.spread.history import common_closes
from statarb.spread.legs import LegTag, SpreadKey, group_by_spread, leg_is_short
from statarb.spread.sizing import stake_for_qty

if TYPE_CHECKING:
    from statarb.ft.host import StrategyHost

logger = logging.getLogger(__name__)

# A companion's own turn comes in the same FreqTrade loop as its partner's (the next one at
# the latest); one not taken up after this long never will be.
COMPANION_GRACE_MS = 10_000
# Still unknown to FreqTrade this long after it was sent (every loop tried to record it): a
# person looks. The ghost check leaves such a leg to this path instead of raising at 5 s.
COMPANION_REVIEW_MS = 3 * COMPANION_GRACE_MS

REVIEW_LOCK_REASON = "statarb manual review"
FAR_FUTURE = timedelta(days=3650)


class LiveDesk:
    def __init__(self, host: StrategyHost) -> None:
        self.host = host
        self.live: LiveExecution | None = None  # set at start in live and dry-run
        self.internals: FreqtradeInternals | None = None  # reached and checked at start

    # ------------------------------------------------------------------ set-up
    def start(self) -> None:
        """Live and dry-run: the guarded order seam, the intent journal, the loop guards.

        Dry-run runs the same execution path on FreqTrade's simulated orders (twins, ghost
        checks, monitor, review flag and lock); what it cannot simulate is said once here.
        """
        if self.host.dp.runmode not in LIVE_MODES:
            return
        try:
            self.internals = reach(self.host.dp)
        except FreqtradeInternalsError as exc:
            # No safe way to send a twin or guard an order: no new spread; open ones are
            # still closed by their own exit rules, and a person looks.
            self._safety_line(f"refusing to open spreads: {exc}")
            self.host.review_flag.raise_flag(source="strategy", message=str(exc), spread_id=None)
            return
        self._guard_the_loop()
        dry_run = self.host.dp.runmode is RunMode.DRY_RUN
        user_data = Path(self.host.config.get("user_data_dir", "user_data"))
        journal_path = state_file(user_data / INTENT_JOURNAL, dry_run=dry_run)
        callbacks: dict[str, Any] = {
            "notify": self.notify,
            "raise_review": lambda message, spread: self.host.review_flag.raise_flag(
                source="strategy", message=message, spread_id=spread
            ),
            "order_known": lambda order_id: Order.order_by_id(order_id) is not None,
        }
        if dry_run:
            exchange = self.internals.exchange
            journal = IntentJournal(journal_path)
            port = SimulatedOrders(exchange, self._simulated_positions, journal)
            self.live = LiveExecution(
                journal=journal, port=port, recv_window_ms=SIMULATED_RECV_WINDOW_MS, **callbacks
            )
            install_simulated_order_seam(
                exchange, self.live.guard, self.live.registry, port, now_ms
            )
            self._once_safety(NOT_SIMULATED)
        else:
            self.live = exchange_execution(
                self.internals.ccxt_api,
                journal_path=journal_path,
                prepare=prepare_companion(self.internals.exchange),
                **callbacks,
            )
        self.live.start_budget_watch()
        log(
            logger,
            Category.EXECUTION,
            None,
            "guarded order seam installed",
            journal=str(self.live.journal.path),
            orders="simulated (dry-run)" if dry_run else "exchange",
        )

    def _simulated_positions(self, symbols: list[str]) -> list[dict[str, Any]]:
        """A dry run's positions: FreqTrade's filled simulated orders of the open trades."""
        wanted = set(symbols)
        trades = [t for t in Trade.get_trades_proxy(is_open=True) if t.pair in wanted]
        return simulated_positions(trades, lambda symbol: prices_of(self.host.dp, [symbol])[symbol])

    def _guard_the_loop(self) -> None:
        """A garbage answer from the exchange must not stop FreqTrade's loop (dry-run reads
        the real exchange's book too): checked book reads, a re-price that fails keeps its
        order (statarb.ft.loop_guard)."""
        assert self.internals is not None
        install_book_read_guard(self.internals.ccxt_api)
        guard_replace_order(self.internals.bot)

    def notify(self, line: str) -> None:
        """Send a [SAFETY] line through FreqTrade's messaging (Telegram/webhook if set up)."""
        if self.host.dp is not None and self.host.dp.runmode in LIVE_MODES:
            try:
                self.host.dp.send_msg(line)
            except Exception as exc:  # a failing chat must never stop the bot
                logger.warning("could not send message: %s", exc)

    # ------------------------------------------------------------------ pairs hot reload
    def reload_pairs_if_changed(self, current_time: datetime) -> None:
        """Pick up a replaced pairs_config.json (the daily re-scan) without a restart.

        The new file is validated like at start; if it is unusable the old pairs stay and a
        [SAFETY] line says why. Open spreads are never dropped or re-sized: each is managed
        from its own tag (legs, hedge ratio, thresholds as entered).
        """
        if self.host.settings.pairs_schedule:
            return  # a backtest's walk-forward schedule is fixed
        path = Path(self.host.settings.pairs_config)
        try:
            stat = path.stat()
        except OSError as exc:
            self._once_safety(f"pairs config unreadable ({exc.strerror}): keeping the loaded pairs")
            return
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        previous = self.host.state.pairs_signature
        self.host.state.pairs_signature = signature
        if previous is None or signature == previous:
            return
        try:
            new = load_pairs_config(path)
        except PairsConfigError as exc:
            self._safety_line(f"new pairs config rejected, keeping the old one: {exc}")
            return
        if new.timeframe and new.timeframe != self.host.config.get("timeframe"):
            self._safety_line(
                f"new pairs config rejected, keeping the old one: chosen on {new.timeframe} "
                f"candles, the bot trades {self.host.config.get('timeframe')}"
            )
            return
        whitelist = set(self.host.config.get("exchange", {}).get("pair_whitelist", []))
        outside = [s for s in new.symbols if s not in whitelist or self.host.dp.market(s) is None]
        if outside:
            self._safety_line(
                "new pairs config rejected, keeping the old one: legs not tradeable here "
                "(not in exchange.pair_whitelist or unknown to the exchange): " + ", ".join(outside)
            )
            return
        old = self.host.book.configs[-1]
        for line in describe_pairs_change(old, new):
            log(logger, Category.STRATEGY, None, line)
        # The new pairs apply from the first candle their scan did not see (the scan window's
        # end), so the signal candle that just closed may already use them, never earlier.
        now = current_time.astimezone(UTC)
        takes_over = min(now, new.scan_window.end) if new.scan_window else now
        takes_over = max(takes_over, self.host.book.periods[-1].valid_from + timedelta(seconds=1))
        self.host.book = self.host.book.with_config(new, takes_over)
        self.host.tags.book = self.host.book

    def _safety_line(self, message: str) -> None:
        one_line = " ".join(part.strip() for part in message.splitlines() if part.strip())
        self.notify(log(logger, Category.SAFETY, None, one_line))

    def _once_safety(self, message: str) -> None:
        if message not in self.host.state.said_once:
            self.host.state.said_once.add(message)
            self._safety_line(message)

    # ------------------------------------------------------------------ every loop
    def loop(self, current_time: datetime) -> None:
        self.reload_pairs_if_changed(current_time)
        self._sync_review_lock(current_time)
        trades = Trade.get_trades_proxy(is_open=True)
        legs = self.host.tags.open_legs()
        spreads = group_by_spread(legs)
        self.host.state.exiting = {k: v for k, v in self.host.state.exiting.items() if k in spreads}
        self._update_live_z(spreads)
        if self.live is None:
            return
        self.live.check_ghosts()
        self._adopt_left_behind()
        by_id = {t.id: t for t in trades}
        snapshots = {
            key: {
                leg: self._snapshot(by_id[member.trade_id], member.tag)
                for leg, member in members.items()
                if member.trade_id in by_id
            }
            for key, members in spreads.items()
        }
        self._watch_budget(snapshots)
        self.host.state.hedge_plans = {}
        for key, legs_of in snapshots.items():
            if key in self.host.state.exiting or key in self.live.flatten:
                continue
            tag = next(iter(legs_of.values())).tag
            # Durable, unlike `_exiting`: after a restart halfway through closing a spread,
            # the leg left open must follow its closed twin out, not get a new twin.
            twin_closed = len(legs_of) == 1 and self.host.tags.twin_closed(tag)
            action = self.live.plan(
                key, tag, legs_of, self._markets(tag), self._prices(tag), twin_closed
            )
            self.host.state.hedge_plans[key] = action
            self._act(key, tag, action, legs_of)
        if self.live.monitor_due():
            # A spread missing a leg is the hedging plan's business (twin or flatten); so is a
            # leg whose order is still working (a maker order rests up to maker_timeout_s):
            # mid-order the positions are in flux, and a [SAFETY] alarm there is a false one.
            rows = [
                (key, legs_of[Leg.A].tag.hedge_ratio, legs_of[Leg.A], legs_of[Leg.B])
                for key, legs_of in snapshots.items()
                if Leg.A in legs_of
                and Leg.B in legs_of
                and not any(leg.has_open_order for leg in legs_of.values())
            ]
            tolerance = {
                s: market_of(self.host.dp, s).qty_step * 1.01 for row in rows for s in _symbols(row)
            }
            self.live.live_z = self.host.state.live_z
            self.live.monitor(rows, tolerance)

    def _watch_budget(self, snapshots: dict[SpreadKey, dict[Leg, LegSnapshot]]) -> None:
        """Every open spread, exiting ones included, against the hedging budget (one loop of
        FreqTrade, `process_throttle_secs`, is how late this check can see a change)."""
        assert self.live is not None
        throttle_s = float(self.host.config.get("internals", {}).get("process_throttle_secs", 5))
        steps = {
            symbol: market_of(self.host.dp, symbol).qty_step
            for legs_of in snapshots.values()
            for leg in legs_of.values()
            for symbol in (leg.tag.leg_a, leg.tag.leg_b)
        }
        self.live.watch_hedging_budget(
            {key: legs_of for key, legs_of in snapshots.items() if legs_of},
            steps,
            budget_ms=hedging_budget_ms(self.host.settings.maker_timeout_s),
            observe_lag_ms=int(throttle_s * 1000),
        )

    def _snapshot(self, trade: Trade, tag: LegTag) -> LegSnapshot:
        entries = [
            order.order_date_utc
            for order in trade.orders
            if order.ft_order_side == trade.entry_side and order.order_date is not None
        ]
        first_order = min(entries) if entries else trade.open_date_utc
        return LegSnapshot(
            trade_id=trade.id,
            symbol=trade.pair,
            is_short=trade.is_short,
            qty_base=float(trade.amount or 0.0),
            open_rate=float(trade.open_rate or 0.0),
            has_open_order=bool(trade.has_open_orders),
            tag=tag,
            first_order_ms=int(first_order.timestamp() * 1000),
        )

    def _markets(self, tag: LegTag) -> dict[str, tuple[float, float]]:
        out = {}
        for symbol in (tag.leg_a, tag.leg_b):
            market = market_of(self.host.dp, symbol)
            out[symbol] = (market.qty_step, market.min_notional_usdt)
        return out

    def _prices(self, tag: LegTag) -> dict[str, float]:
        return prices_of(self.host.dp, [tag.leg_a, tag.leg_b])

    def _act(
        self, key: SpreadKey, tag: LegTag, action: HedgeAction, legs: dict[Leg, LegSnapshot]
    ) -> None:
        assert self.live is not None
        if action.kind is HedgeKind.OPEN_TWIN and action.leg is not None:
            self._open_twin(key, tag, action.leg, action.qty_for(action.leg))
        elif action.kind is HedgeKind.FLATTEN:
            self.live.flatten[key] = action.reason
            self.live.safety(
                key.pair_id,
                f"hedging failed: {action.reason}; closing the spread's open legs",
                review=True,
                spread=str(key),
            )
        elif action.kind is HedgeKind.HEDGED and legs.get(Leg.A) and legs.get(Leg.B):
            if key not in self.host.state.hedged_logged:
                self.host.state.hedged_logged.add(key)
                log(
                    logger,
                    Category.EXECUTION,
                    key.pair_id,
                    "hedged",
                    spread=str(key),
                    qty_a=legs[Leg.A].qty_base,
                    qty_b=legs[Leg.B].qty_base,
                )
        elif action.kind is HedgeKind.HEDGED_REDUCED:
            self.live.safety(
                key.pair_id, f"hedged at reduced size: {action.reason}", spread=str(key)
            )

    def _open_twin(self, key: SpreadKey, tag: LegTag, missing: Leg, qty: float) -> None:
        """Enter the missing leg through FreqTrade's own entry path (journal + guard apply)."""
        symbol = tag.leg_a if missing is Leg.A else tag.leg_b
        twin_tag = tag.twin(qty)
        if twin_tag.leg is not missing:  # `tag` is the lone leg's: its twin is the missing one
            return
        price = self._prices(tag).get(symbol, math.nan)
        if not (qty > 0 and math.isfinite(price)):
            return
        log(
            logger,
            Category.EXECUTION,
            key.pair_id,
            "opening the missing leg",
            spread=str(key),
            leg=str(missing),
            symbol=symbol,
            qty=qty,
        )
        present = tag.leg_b if missing is Leg.A else tag.leg_a
        # A market order even when entries are maker-first: a lone leg is naked exposure, it
        # does not wait in the queue.
        self._enter_leg(
            key,
            twin_tag,
            qty,
            stake_for_qty(qty, price, self.host.settings.leverage),
            ordertype="market",
            partner=present,
            what="missing leg",
        )

    def _adopt_left_behind(self) -> None:
        """A companion placed with its partner whose own FreqTrade turn never came (the pair
        was locked, the review flag went up, an entry check refused it) is an order FreqTrade
        does not know: it would rest and fill unmanaged, a leg nobody hedges or exits. It is
        recorded through FreqTrade's entry with its own price and leverage; the guard hands
        back the order already placed (same client id), nothing is sent again."""
        assert self.live is not None
        for tag, record in self.live.companions_left_behind(COMPANION_GRACE_MS):
            key = tag.key
            if now_ms() - record.created_ms >= COMPANION_REVIEW_MS:
                self.live.safety(
                    key.pair_id,
                    "a leg sent with its partner is still unknown to FreqTrade",
                    review=True,
                    spread=str(key),
                    client_order_id=record.client_order_id,
                    symbol=record.symbol,
                    order_id=record.exchange_order_id,
                )
            companion = self.live.companion_of(tag)
            price = companion.price if companion is not None else None
            if price is None:  # a market companion: sized at today's price, handed back as is
                price = self._prices(tag).get(record.symbol, math.nan)
            if companion is None or not math.isfinite(price):
                continue
            self.live.safety(
                key.pair_id,
                "a leg sent with its partner was not recorded by FreqTrade: recording it",
                spread=str(key),
                client_order_id=record.client_order_id,
                symbol=record.symbol,
            )
            self._enter_leg(
                key,
                tag,
                record.qty_base,
                stake_for_qty(record.qty_base, price, companion.leverage),
                ordertype=companion.order_type,
                price=price,
                leverage=companion.leverage,
                what="leg sent with its partner",
            )

    def _enter_leg(
        self,
        key: SpreadKey,
        tag: LegTag,
        qty: float,
        stake: float,
        *,
        ordertype: str,
        what: str,
        partner: str | None = None,
        price: float | None = None,
        leverage: float | None = None,
    ) -> None:
        """One leg through FreqTrade's own entry (journal and guard apply); `partner`: a
        symbol that must still hold an open trade, or the entry is moot."""
        assert self.live is not None
        symbol = tag.leg_a if tag.leg is Leg.A else tag.leg_b
        self.host.state.completing[symbol] = (tag, qty)
        try:
            assert self.internals is not None  # self.live exists only with them
            bot = self.internals.bot
            with self.internals.exit_lock:
                # The plan was made at the start of the loop; a REST force-exit may have
                # closed the partner since. Under the exit lock the state is settled.
                if partner is not None and not Trade.get_trades_proxy(pair=partner, is_open=True):
                    return
                # FreqTrade holds one trade per pair: a trade already open on this symbol
                # means this spread's view is wrong, and a second entry there would double
                # the leg. Never send it; a human looks.
                if Trade.get_trades_proxy(pair=symbol, is_open=True):
                    self.live.safety(
                        key.pair_id,
                        f"{what} not entered: its symbol already has an open trade",
                        review=True,
                        spread=str(key),
                        symbol=symbol,
                    )
                    return
                bot.execute_entry(
                    symbol,
                    stake,
                    price,
                    is_short=leg_is_short(tag.leg, tag.direction),
                    ordertype=ordertype,
                    enter_tag=tag.pair_id,
                    leverage_=leverage,
                )
        except Exception as exc:  # counted as a try; the planner retries or flattens
            log(
                logger,
                Category.EXECUTION,
                key.pair_id,
                f"{what} not entered",
                spread=str(key),
                error=str(exc)[:160],
            )
        finally:
            self.host.state.completing.pop(symbol, None)

    # ------------------------------------------------------------------ adjust / exit
    def adjust_trade_position(
        self, trade: Trade, current_rate: float, current_entry_rate: float
    ) -> float | tuple[float | None, str | None] | None:
        if self.live is None:  # a backtest's maker-first leg may need a top-up (statarb.ft.costs)
            return self.host.costs.backtest_top_up(trade, current_rate)
        tag = self.host.tags.tag_of(trade)
        action = self.host.state.hedge_plans.get(tag.key) if tag else None
        if tag is None or action is None or action.kind not in (HedgeKind.REDUCE, HedgeKind.TOP_UP):
            return None
        qty = action.qty_for(tag.leg)
        if qty <= 0 or (action.kind is HedgeKind.REDUCE and action.leg is not tag.leg):
            return None
        if action.kind is HedgeKind.REDUCE:
            stake = -qty * trade.stake_amount / trade.amount * (1 + 1e-9)
            side = "buy" if trade.is_short else "sell"
            self.live.announce(
                tag=tag,
                symbol=trade.pair,
                side=side,
                reduce_only=True,
                purpose=Purpose.REDUCE,
                qty_base=qty,
            )
            log(
                logger,
                Category.EXECUTION,
                tag.pair_id,
                "hedge: reducing the leg ahead",
                spread=str(tag.key),
                pair=trade.pair,
                qty=qty,
            )
            return stake, "hedge_reduce"
        # The top-up crosses (maker-first or not): its stake is computed at the very price the
        # order will carry, or FreqTrade's stake -> amount truncation orders a step short.
        price = self.host.costs.top_up_price(trade.pair, current_entry_rate, buy=not trade.is_short)
        stake = stake_for_qty(qty, price, trade.leverage or 1.0)
        side = "sell" if trade.is_short else "buy"
        self.live.announce(
            tag=tag,
            symbol=trade.pair,
            side=side,
            reduce_only=False,
            purpose=Purpose.TOP_UP,
            qty_base=qty,
        )
        log(
            logger,
            Category.EXECUTION,
            tag.pair_id,
            "hedge: re-ordering the missing part",
            spread=str(tag.key),
            pair=trade.pair,
            qty=qty,
        )
        return stake, "hedge_top_up"

    def confirm_trade_exit(
        self, pair: str, trade: Trade, amount: float, rate: float, exit_reason: str
    ) -> bool:
        tag = self.host.tags.tag_of(trade)
        if tag is not None:
            self.host.state.exiting.setdefault(tag.key, exit_reason)
        if self.live is not None and tag is not None:
            side = "buy" if trade.is_short else "sell"
            self.live.announce(
                tag=tag,
                symbol=pair,
                side=side,
                reduce_only=True,
                purpose=Purpose.EXIT,
                qty_base=amount,
            )
        log(
            logger,
            Category.EXECUTION,
            tag.pair_id if tag else None,
            "closing leg",
            pair=pair,
            reason=exit_reason,
            qty=amount,
            rate=rate,
        )
        return True

    def check_entry_timeout(
        self, pair: str, trade: Trade, order: Order, current_time: datetime
    ) -> bool:
        """Cancel a leg's working entry once its spread is leaving; otherwise the maker timeout.

        A maker entry rests up to `maker_timeout_s`. If the twin filled meanwhile and the
        spread then exited (z reverted or stopped before the entry was complete), this order
        must not fill: it would open a naked leg that only follows the twin out, a needless
        round trip. FreqTrade's entry-timeout check is the one place that cancels an entry
        through its own flow (trade deleted if unfilled, kept at its partial fill otherwise).
        """
        why = self._entry_unwanted(trade)
        if why is None:
            # Otherwise the maker timeout (statarb.ft.costs).
            return self.host.costs.check_entry_timeout(pair, trade, order, current_time)
        if self.live is not None and order.order_id and not order.safe_filled:
            self.live.cancelled_unfilled(str(order.order_id), why)
        log(
            logger,
            Category.EXECUTION,
            trade.enter_tag,
            "spread is closing: cancelling this leg's working entry",
            pair=pair,
            reason=why,
            filled=order.safe_filled,
        )
        return True

    def _entry_unwanted(self, trade: Trade) -> str | None:
        """Why a live leg must stop entering: its spread is exiting, flattening, or its twin
        has closed (durable: also after a restart). None while the spread still wants it."""
        if self.host.dp.runmode not in LIVE_MODES:
            return None
        tag = self.host.tags.tag_of(trade)
        if tag is None:
            return None
        if tag.key in self.host.state.exiting:
            return f"spread exiting ({self.host.state.exiting[tag.key]})"
        if self.live is not None and tag.key in self.live.flatten:
            return "hedging failed: flattening the spread"
        if self.host.tags.twin_closed(tag):
            return "twin leg already closed"
        return None

    def exit_gate(self, tag: LegTag, twin_open: bool) -> str | None:
        """Live rules around a leg's exit; returns a forced reason, "" to hold, None to go on.

        - a spread whose hedging failed closes its open legs;
        - a leg whose twin has closed closes too, up to the retry budget, then holds for
          manual review;
        - a leg whose open twin cannot close is held, so the pair stays hedged.
        """
        if self.live is None:
            return None
        key = tag.key
        if key in self.live.flatten:
            return "hedge_failed"
        spread, leg = str(key), str(tag.leg)
        exits = self.live.journal.attempts(spread, leg, str(Purpose.EXIT))
        # A person's acknowledgment of the review starts a new budget of retries.
        since = self.host.review_flag.last_acknowledged_ms() or 0
        failed = [
            r
            for r in exits
            if r.status in (IntentStatus.REJECTED, IntentStatus.NOT_PLACED) and r.created_ms > since
        ]
        if len(failed) > MAX_RETRIES:
            self.live.safety(
                key.pair_id,
                f"leg {leg} could not close after {len(failed)} tries",
                review=True,
                spread=spread,
            )
            return ""
        twin = "B" if tag.leg is Leg.A else "A"
        twin_exits = self.live.journal.attempts(spread, twin, str(Purpose.EXIT))
        twin_failing = bool(twin_exits) and twin_exits[-1].status in (
            IntentStatus.REJECTED,
            IntentStatus.NOT_PLACED,
        )
        if twin_open and twin_failing and not exits:
            self.live.safety(
                key.pair_id, f"not closing leg {leg} while leg {twin} cannot close", spread=spread
            )
            return ""
        return None

    # ------------------------------------------------------------------ review flag, live z
    def _sync_review_lock(self, current_time: datetime) -> None:
        raised = self.host.review_flag.is_raised()
        locked = any(lock.reason == REVIEW_LOCK_REASON for lock in self._global_locks(current_time))
        if raised and not locked:
            self.host.lock_pair("*", current_time + FAR_FUTURE, reason=REVIEW_LOCK_REASON)
            line = log(
                logger,
                Category.SAFETY,
                None,
                "manual review flag up: entries locked",
                reasons=self.host.review_flag.status().summary,
            )
            self.notify(line)
        elif not raised and locked:
            self.host.unlock_reason(REVIEW_LOCK_REASON)
            log(logger, Category.SAFETY, None, "manual review acknowledged: entries unlocked")

    def _global_locks(self, current_time: datetime) -> list[Any]:
        return list(PairLocks.get_pair_locks("*", current_time))

    def _update_live_z(self, spreads: dict[SpreadKey, dict[Leg, Any]]) -> None:
        """z of each open spread with current prices against its closed-candle window."""
        self.host.state.live_z.clear()
        for key, members in spreads.items():
            tag = next(iter(members.values())).tag
            hist_a, hist_b = (
                self.host.candles.candles_of(tag.leg_a),
                self.host.candles.candles_of(tag.leg_b),
            )
            prices = self._prices(tag)
            if hist_a is None or hist_b is None:
                continue
            now = datetime.now(tag.opened_at.tzinfo)
            count = tag.window + 1
            close_a, close_b = common_closes(hist_a, hist_b, now, count)
            # z_now: the live prices against the window of closed candles; z_prev: last close.
            self.host.state.live_z[key] = tag_spread_z(
                tag,
                close_a,
                close_b,
                live_price_a=prices.get(tag.leg_a),
                live_price_b=prices.get(tag.leg_b),
            )


def _symbols(row: tuple[Any, ...]) -> list[str]:
    return [leg.symbol for leg in row[2:] if leg is not None]

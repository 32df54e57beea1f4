"""Live execution safety for the strategy: intents, the guarded seam, ghost checks, hedging,
coordinated exits and the 5-second monitor. The strategy gathers FreqTrade's state (trades,
orders, tags) into plain values and calls in here; decisions come from `statarb.execution`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from statarb.execution.guard import DEFAULT_RECV_WINDOW_MS, OrderGuard
from statarb.execution.hedging import (
    MAX_RETRIES,
    HedgeAction,
    HedgeInputs,
    LegState,
    legs_hedged,
    plan_hedge,
    unhedged_for_ms,
)
from statarb.execution.journal import IntentJournal, IntentRecord, IntentStatus
from statarb.execution.monitor import LegView, PositionView, SpreadReport, monitor_spread
from statarb.live.ccxt_port import CcxtPort
from statarb.live.seam import CompanionOrder, IntentRegistry, install_guarded_create_order
from statarb.safety.log import Category, log
from statarb.spread.client_ids import Leg, OrderIntent, Purpose
from statarb.spread.legs import LegTag, SpreadKey

logger = logging.getLogger(__name__)

GHOST_CHECK_AFTER_MS = 5_000  # docs/design.md §2.4: query an order 5 s after placing it
MONITOR_EVERY_MS = 5_000
REPORT_EVERY_MS = 60_000


def now_ms() -> int:
    return int(time.time() * 1000)


class ExecutionPort(Protocol):
    """Where orders are looked up and positions read: the exchange, or a dry run's simulation."""

    def fetch_by_client_id(self, symbol: str, client_order_id: str) -> dict[str, Any] | None: ...

    def positions(self, symbols: list[str]) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class LegSnapshot:
    """One open leg as FreqTrade's database has it, in plain values."""

    trade_id: int
    symbol: str
    is_short: bool
    qty_base: float
    open_rate: float
    has_open_order: bool
    tag: LegTag
    first_order_ms: int = 0  # when this leg's first entry order was placed (epoch ms)


@dataclass(frozen=True)
class _LoneSpread:
    """An unhedged spread under watch: since when, when a person must be told, and what the
    last loop saw of its legs."""

    since_ms: int
    deadline_ms: int
    budget_ms: int
    qty_a: float
    qty_b: float


class LiveExecution:
    def __init__(
        self,
        *,
        journal: IntentJournal,
        port: ExecutionPort,
        recv_window_ms: int,
        notify: Callable[[str], None],
        raise_review: Callable[[str, str | None], None],
        order_known: Callable[[str], bool],
    ) -> None:
        """`port`: the exchange (live) or FreqTrade's simulated orders (dry-run); the caller
        installs the matching order seam on `guard` and `registry`."""
        self.port = port
        self.journal = journal
        self.guard = OrderGuard(self.journal, self.port, now_ms, time.sleep, recv_window_ms)
        self.registry = IntentRegistry(now_ms)
        self._notify = notify
        self._raise_review = raise_review
        self._order_known = order_known  # is this exchange order id in FreqTrade's database?
        self._requests: Counter[tuple[str, str, str]] = Counter()
        self._last_monitor_ms = 0
        self._last_report_ms: dict[str, int] = {}
        self._said: dict[str, int] = {}
        self.flatten: dict[SpreadKey, str] = {}
        # (spread, leg) whose entry was built to leave with its partner's: its own turn
        # (FreqTrade's, a moment later) is let through once to record the order placed.
        self._with_partner: dict[tuple[str, str], tuple[LegTag, CompanionOrder]] = {}
        self.live_z: dict[SpreadKey, tuple[float, float]] = {}
        self._last_hedged_ms: dict[SpreadKey, int] = {}
        self._past_budget: set[SpreadKey] = set()
        self._deadlines: dict[SpreadKey, _LoneSpread] = {}
        self._budget_lock = threading.RLock()  # the loop and the budget thread

    # ------------------------------------------------------------------ intents
    def next_attempt(self, spread: str, leg: str, purpose: str) -> int:
        """Same id while the last attempt's fate is open or FreqTrade does not know its order
        (so the guard finds and returns it); a new id once the last one is settled."""
        attempts = self.journal.attempts(spread, leg, purpose)
        if not attempts:
            return 0
        last = attempts[-1]
        if last.status is IntentStatus.PENDING:
            return last.attempt
        if (
            last.status in (IntentStatus.ACKNOWLEDGED, IntentStatus.VERIFIED)
            and not (last.exchange_order_id and self._order_known(last.exchange_order_id))
            and (self.went_with_partner(spread, leg) or not self._dead_on_exchange(last))
        ):
            return last.attempt
        return min(last.attempt + 1, 99)

    def _dead_on_exchange(self, record: IntentRecord) -> bool:
        """The exchange holds this order cancelled (or expired) with nothing filled; its intent
        is settled as CANCELLED. A cancel the strategy did not make (a REST force-exit of a
        working entry, the exchange's own) leaves it dead but VERIFIED: handing its id to the
        next send would make the guard return the dead order instead of sending one. Unknown
        (the exchange unreadable) counts as alive: the same id is the safe choice."""
        try:
            found = self.port.fetch_by_client_id(record.symbol, record.client_order_id)
        except Exception:
            return False
        if found is None or not dead_unfilled(found):
            return False
        self._settle_dead(record, found, now_ms())
        return True

    def _settle_dead(self, record: IntentRecord, found: dict[str, Any], now: int) -> None:
        self.journal.update(
            record.client_order_id,
            status=IntentStatus.CANCELLED,
            now_ms=now,
            exchange_order_id=str(found.get("id")),
            filled_qty=0.0,
            note=f"{found.get('status')} on the exchange with nothing filled",
        )
        log(
            logger,
            Category.EXECUTION,
            record.spread or None,
            "order dead on the exchange with nothing filled: its leg's next send gets a new id",
            client_order_id=record.client_order_id,
            status=found.get("status"),
        )

    def cancelled_unfilled(self, exchange_order_id: str, reason: str) -> None:
        """The strategy cancels this order before any fill: its intent is settled, so the next
        send of the same leg gets a new client id (the guard would otherwise hand back the
        dead order, and FreqTrade would create a trade that is already cancelled)."""
        for record in self.journal.records():
            if record.exchange_order_id == exchange_order_id:
                self.journal.update(
                    record.client_order_id,
                    status=IntentStatus.CANCELLED,
                    now_ms=now_ms(),
                    note=reason,
                )

    def announce(
        self,
        *,
        tag: LegTag,
        symbol: str,
        side: str,
        reduce_only: bool,
        purpose: Purpose,
        qty_base: float,
        companion: CompanionOrder | None = None,
    ) -> IntentRecord:
        """Register the order FreqTrade is about to send; `companion`: the spread's other leg,
        to go out in the same request (see `companion`)."""
        record = self._record(tag, symbol, side, reduce_only, purpose, qty_base)
        self.registry.announce(record, companion)
        self._requests[(str(tag.key), str(tag.leg), str(purpose))] += 1
        if purpose is Purpose.ENTRY:
            self._with_partner.pop((str(tag.key), str(tag.leg)), None)
        return record

    def went_with_partner(self, spread: str, leg: str) -> bool:
        """This leg's entry was built as its partner's companion and its own turn has not come
        yet: that turn records the order already placed (the guard hands it back), it is not a
        second send. Forgotten on restart: the hedging plan's twin then records it."""
        return (spread, leg) in self._with_partner

    def companion(
        self,
        *,
        tag: LegTag,
        symbol: str,
        side: str,
        qty_base: float,
        order_type: str,
        price: float | None,
        leverage: float,
    ) -> CompanionOrder:
        """The entry of `tag`'s leg, to be sent with its partner's; its own announce later
        (FreqTrade's turn for this leg) gets the same client id, so the guard hands the order
        back instead of sending it again."""
        record = self._record(tag, symbol, side, False, Purpose.ENTRY, qty_base)
        order = CompanionOrder(record, order_type, price, leverage)
        self._with_partner[(str(tag.key), str(tag.leg))] = (tag, order)
        return order

    def companion_of(self, tag: LegTag) -> CompanionOrder | None:
        """The companion built for this leg, while its own turn has not come."""
        found = self._with_partner.get((str(tag.key), str(tag.leg)))
        return None if found is None else found[1]

    def companions_left_behind(self, grace_ms: int) -> list[tuple[LegTag, IntentRecord]]:
        """Companions placed on the exchange whose own FreqTrade turn has not come `grace_ms`
        after they were sent (the pair was locked meanwhile, the review flag went up, the
        bot's entry checks refused it): unknown to FreqTrade, such an order would rest and
        fill unmanaged. The caller records each through FreqTrade's entry (the guard hands
        the placed order back)."""
        now, out = now_ms(), []
        for tag, companion in list(self._with_partner.values()):
            record = self.journal.get(companion.record.client_order_id)
            if (
                record is not None
                and record.status in (IntentStatus.ACKNOWLEDGED, IntentStatus.VERIFIED)
                and record.exchange_order_id
                and not self._order_known(record.exchange_order_id)
                and now - record.created_ms >= grace_ms
            ):
                out.append((tag, record))
        return out

    def _record(
        self,
        tag: LegTag,
        symbol: str,
        side: str,
        reduce_only: bool,
        purpose: Purpose,
        qty_base: float,
    ) -> IntentRecord:
        spread = str(tag.key)
        attempt = self.next_attempt(spread, str(tag.leg), str(purpose))
        intent = OrderIntent(tag.pair_id, tag.opened_at, tag.leg, purpose, attempt)
        return IntentRecord(
            client_order_id=intent.client_order_id,
            symbol=symbol,
            side=side,
            qty_base=qty_base,
            reduce_only=reduce_only,
            purpose=str(purpose),
            spread=spread,
            leg=str(tag.leg),
            attempt=attempt,
            created_ms=now_ms(),
        )

    def sends(self, spread: str, leg: str, purpose: str) -> int:
        """Orders of this kind requested so far: the journal's, or the requests FreqTrade
        dropped before sending (e.g. below a minimum) — whichever is larger."""
        journaled = len(self.journal.attempts(spread, leg, purpose))
        return max(journaled, self._requests[(spread, leg, purpose)])

    def last_action_ms(self, spread: str) -> int | None:
        times = [r.created_ms for r in self.journal.for_spread(spread)]
        return max(times) if times else None

    # ------------------------------------------------------------------ ghost check
    def check_ghosts(self) -> None:
        """Verify every order 5 s after it was placed; settle every unanswered one."""
        now = now_ms()
        for record in self.journal.records():
            due = (
                record.status is IntentStatus.ACKNOWLEDGED
                and now - record.updated_ms >= GHOST_CHECK_AFTER_MS
            ) or (
                record.status is IntentStatus.PENDING
                and now - record.created_ms >= self.guard.settle_ms
            )
            if not due:
                continue
            try:
                found = self.port.fetch_by_client_id(record.symbol, record.client_order_id)
            except Exception as error:  # ask again next loop
                log(
                    logger,
                    Category.EXECUTION,
                    record.spread or None,
                    "ghost check failed",
                    client_order_id=record.client_order_id,
                    error=str(error)[:120],
                )
                continue
            self._settle(record, found, now)
        self.journal.prune(now)

    def _settle(
        self,
        record: IntentRecord,
        found: dict[str, Any] | None,
        now: int,
    ) -> None:
        cid = record.client_order_id
        if found is None and record.status is IntentStatus.PENDING:
            self.journal.update(
                cid, status=IntentStatus.NOT_PLACED, now_ms=now, note="absent at the ghost check"
            )
            return
        if found is None:
            self.journal.update(
                cid,
                status=IntentStatus.GHOST,
                now_ms=now,
                note="acknowledged but unknown to the exchange",
            )
            self.safety(
                record.spread or None,
                "ghost order: acknowledged, but the exchange does not know it",
                review=True,
                client_order_id=cid,
                symbol=record.symbol,
                order_id=record.exchange_order_id,
            )
            return
        if dead_unfilled(found):
            self._settle_dead(record, found, now)
            return
        order_id = str(found.get("id"))
        filled = _float(found.get("filled"))
        self.journal.update(
            cid,
            status=IntentStatus.VERIFIED,
            now_ms=now,
            exchange_order_id=order_id,
            filled_qty=filled,
        )
        log(
            logger,
            Category.EXECUTION,
            record.spread or None,
            "order verified on the exchange",
            client_order_id=cid,
            order_id=order_id,
            status=found.get("status"),
            filled=found.get("filled"),
        )
        if not self._order_known(order_id) and filled > 0:
            if self.went_with_partner(record.spread, record.leg):
                # Its own FreqTrade turn has not come: the left-behind path records it
                # (companions_left_behind), and raises the review if it cannot.
                log(
                    logger,
                    Category.EXECUTION,
                    record.spread or None,
                    "a leg sent with its partner filled before FreqTrade recorded it",
                    client_order_id=cid,
                    order_id=order_id,
                    filled=found.get("filled"),
                )
                return
            self.safety(
                record.spread or None,
                "order filled on the exchange but unknown to the bot's database",
                review=True,
                client_order_id=cid,
                symbol=record.symbol,
                order_id=order_id,
                filled=found.get("filled"),
            )

    # ------------------------------------------------------------------ hedging
    def plan(
        self,
        key: SpreadKey,
        tag: LegTag,
        legs: dict[Leg, LegSnapshot],
        markets: dict[str, tuple[float, float]],
        prices: dict[str, float],
        twin_closed: bool = False,
    ) -> HedgeAction:
        """The next hedging step for one spread from the legs' confirmed fills;
        `twin_closed`: the leg missing now was open and has been closed (the spread exits)."""
        spread = str(key)
        planned_a = tag.planned_qty if tag.leg is Leg.A else tag.planned_qty / tag.hedge_ratio
        planned_b = tag.planned_qty if tag.leg is Leg.B else tag.planned_qty * tag.hedge_ratio

        def state(leg: Leg, symbol: str) -> LegState:
            held = legs.get(leg)
            step, min_notional = markets.get(symbol, (1e-8, 0.0))
            return LegState(
                qty_base=held.qty_base if held else 0.0,
                has_open_order=held.has_open_order if held else False,
                qty_step=step,
                price=prices.get(symbol, math.nan),
                min_notional_usdt=min_notional,
            )

        leg_a, leg_b = state(Leg.A, tag.leg_a), state(Leg.B, tag.leg_b)
        missing = Leg.B if leg_a.exists and not leg_b.exists else Leg.A
        twin_sends = self.sends(spread, str(missing), str(Purpose.ENTRY))
        action = plan_hedge(
            HedgeInputs(
                hedge_ratio=tag.hedge_ratio,
                planned_qty_a=planned_a,
                planned_qty_b=planned_b,
                leg_a=leg_a,
                leg_b=leg_b,
                twin_retries=max(0, twin_sends - 1),
                twin_attempted=twin_sends > 0,
                reduce_attempts=self.sends(spread, "A", str(Purpose.REDUCE))
                + self.sends(spread, "B", str(Purpose.REDUCE)),
                top_up_rounds=self.sends(spread, "A", str(Purpose.TOP_UP)),
                last_action_ms=self.last_action_ms(spread),
                now_ms=now_ms(),
                twin_closed=twin_closed,
            ),
            max_retries=MAX_RETRIES,
        )
        return action

    # ------------------------------------------------------------------ hedging budget
    def watch_hedging_budget(
        self,
        spreads: dict[SpreadKey, dict[Leg, LegSnapshot]],
        qty_step: dict[str, float],
        *,
        budget_ms: int,
        observe_lag_ms: int,
    ) -> list[SpreadKey]:
        """Raise the review for a spread unhedged past the hedging budget; returns those newly
        flagged.

        Whatever the hedging plan is doing (waiting on an order whose answer was lost, retrying
        a refused twin, following an exit), a person is told once a leg has been alone or off
        its ratio for the budget. This check runs once a loop, so it fires `observe_lag_ms`
        (one loop) early: counted from the exchange's own fill, the flag is up by the budget.
        A spread not yet due gets a deadline that `fire_due_deadlines` keeps from another
        thread: a loop held up (a request the guard is still settling) does not hold the flag
        back. Exiting and flattening spreads are watched too: a lone leg is naked either way.
        """
        now = now_ms()
        threshold_ms = budget_ms - observe_lag_ms
        with self._budget_lock:
            for key in list(self._last_hedged_ms):
                if key not in spreads:
                    del self._last_hedged_ms[key]
            self._past_budget &= set(spreads)
            self._deadlines = {k: v for k, v in self._deadlines.items() if k in spreads}
            flagged = []
            for key, legs in spreads.items():
                leg_a, leg_b = legs.get(Leg.A), legs.get(Leg.B)
                tag = next(iter(legs.values())).tag
                qty_a = leg_a.qty_base if leg_a else 0.0
                qty_b = leg_b.qty_base if leg_b else 0.0
                hedged = legs_hedged(tag.hedge_ratio, qty_a, qty_b, qty_step.get(tag.leg_b, 1e-8))
                alone_ms = unhedged_for_ms(
                    hedged=hedged,
                    first_order_ms=min(leg.first_order_ms for leg in legs.values()),
                    last_hedged_ms=self._last_hedged_ms.get(key),
                    now_ms=now,
                )
                if alone_ms is None:
                    self._last_hedged_ms[key] = now
                    self._past_budget.discard(key)
                    self._deadlines.pop(key, None)
                    continue
                if key in self._past_budget:
                    continue
                lone = _LoneSpread(now - alone_ms, now - alone_ms + threshold_ms, budget_ms,
                                   qty_a, qty_b)  # fmt: skip
                if alone_ms >= threshold_ms:
                    self._flag_past_budget(key, lone, now)
                    flagged.append(key)
                else:
                    self._deadlines[key] = lone
            return flagged

    def fire_due_deadlines(self) -> list[SpreadKey]:
        """Flag every watched spread whose deadline has passed since the last loop saw it
        (called from the budget thread, `start_budget_watch`)."""
        now = now_ms()
        with self._budget_lock:
            due = [k for k, lone in self._deadlines.items() if now >= lone.deadline_ms]
            for key in due:
                self._flag_past_budget(key, self._deadlines.pop(key), now)
            return due

    def start_budget_watch(self, every_s: float = 0.5) -> None:
        """Keep the deadlines from a daemon thread, independent of FreqTrade's loop."""

        def run() -> None:
            while True:
                time.sleep(every_s)
                try:
                    self.fire_due_deadlines()
                except Exception:  # a failing check must never stop the thread
                    logger.exception("hedging budget check failed")

        threading.Thread(target=run, name="statarb-hedging-budget", daemon=True).start()

    def _flag_past_budget(self, key: SpreadKey, lone: _LoneSpread, now: int) -> None:
        self._past_budget.add(key)
        self._deadlines.pop(key, None)
        self.safety(
            key.pair_id,
            f"spread unhedged for {(now - lone.since_ms) / 1000:.0f} s, past the hedging "
            f"budget ({lone.budget_ms / 1000:.0f} s): a person must look; its legs are still "
            "managed",
            review=True,
            spread=str(key),
            qty_a=lone.qty_a,
            qty_b=lone.qty_b,
        )

    # ------------------------------------------------------------------ monitor
    def monitor_due(self) -> bool:
        return now_ms() - self._last_monitor_ms >= MONITOR_EVERY_MS

    def monitor(
        self,
        spreads: Iterable[tuple[SpreadKey, float, LegSnapshot | None, LegSnapshot | None]],
        qty_tolerance: dict[str, float],
    ) -> list[SpreadReport]:
        """Compare every open spread with the exchange's positions; report and alert."""
        self._last_monitor_ms = now_ms()
        spreads = list(spreads)
        symbols = sorted({leg.symbol for _, _, a, b in spreads for leg in (a, b) if leg})
        if not symbols:
            return []
        try:
            raw = self.port.positions(symbols)
        except Exception as error:
            log(
                logger,
                Category.SAFETY,
                None,
                "monitor: positions unavailable",
                error=str(error)[:160],
            )
            return []
        positions = {p.symbol: p for p in (_position_view(r) for r in raw) if p is not None}
        reports = []
        for key, hedge_ratio, leg_a, leg_b in spreads:
            z_now = self.live_z.get(key, (math.nan, math.nan))[0]
            report = monitor_spread(
                str(key),
                hedge_ratio,
                _leg_view(leg_a),
                _leg_view(leg_b),
                positions,
                z=z_now,
                qty_tolerance=qty_tolerance,
            )
            reports.append(report)
            if now_ms() - self._last_report_ms.get(report.spread, 0) >= REPORT_EVERY_MS:
                self._last_report_ms[report.spread] = now_ms()
                log(
                    logger,
                    Category.STRATEGY,
                    key.pair_id,
                    "spread monitor",
                    spread=str(key),
                    pnl_usdt=round(report.pnl_usdt, 4),
                    exchange_pnl_usdt=round(report.exchange_pnl_usdt, 4),
                    net_delta_usdt=round(report.net_delta_usdt, 4),
                    z=report.z,
                )
            for finding in report.findings:
                self.safety(key.pair_id, f"monitor: {finding}", spread=str(key))
        return reports

    # ------------------------------------------------------------------ alerts
    def safety(
        self, spread_id: str | None, message: str, *, review: bool = False, **fields: Any
    ) -> None:
        """A [SAFETY] line (repeated at most once a minute), a message out, maybe a review."""
        key = f"{spread_id}|{message}"
        now = now_ms()
        if now - self._said.get(key, 0) < REPORT_EVERY_MS:
            return
        self._said[key] = now
        line = log(logger, Category.SAFETY, spread_id, message, **fields)
        self._notify(line)
        if review:
            self._raise_review(message, spread_id)


def exchange_execution(
    api: Any,
    *,
    journal_path: Path,
    notify: Callable[[str], None],
    raise_review: Callable[[str, str | None], None],
    order_known: Callable[[str], bool],
    prepare: Callable[[CompanionOrder], None] | None = None,
) -> LiveExecution:
    """Live: the exchange behind FreqTrade's ccxt object, whose `create_order` is guarded;
    `prepare` sets a companion leg's margin mode and leverage before its batch goes."""
    execution = LiveExecution(
        journal=IntentJournal(journal_path),
        port=CcxtPort(api),
        recv_window_ms=int(getattr(api, "options", {}).get("recvWindow", DEFAULT_RECV_WINDOW_MS)),
        notify=notify,
        raise_review=raise_review,
        order_known=order_known,
    )
    install_guarded_create_order(api, execution.guard, execution.registry, now_ms, prepare)
    return execution


def _leg_view(leg: LegSnapshot | None) -> LegView | None:
    return LegView(leg.symbol, leg.is_short, leg.qty_base, leg.open_rate) if leg else None


DEAD_STATUSES = frozenset({"canceled", "cancelled", "expired", "rejected"})


def dead_unfilled(order: dict[str, Any]) -> bool:
    """A ccxt order that can never fill and filled nothing."""
    status = str(order.get("status") or "").lower()
    return status in DEAD_STATUSES and _float(order.get("filled")) <= 0


def _float(value: Any) -> float:
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


def _position_view(raw: dict[str, Any]) -> PositionView | None:
    """ccxt position → signed quantity; the side comes from `side` (contracts is positive for
    shorts too, docs/design.md §6.5) or, failing that, from Binance's signed positionAmt."""
    contracts = _float(raw.get("contracts"))
    size = contracts * (_float(raw.get("contractSize")) or 1.0)
    side = raw.get("side")
    if side not in ("long", "short"):
        amount = _float((raw.get("info") or {}).get("positionAmt"))
        side = "short" if amount < 0 else "long"
        size = abs(amount)
    signed = -size if side == "short" else size
    return PositionView(
        symbol=str(raw.get("symbol")),
        qty_signed=signed,
        entry_price=_float(raw.get("entryPrice")),
        mark_price=_float(raw.get("markPrice")),
        unrealized_pnl=_float(raw.get("unrealizedPnl")),
    )

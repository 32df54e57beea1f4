"""Read the exchange for recovery: raw Binance USDT-M endpoints through ccxt, retried and checked.

ccxt is configured from the same config FreqTrade loads (keys, `ccxt_config` URL overrides,
options), with two deliberate differences for this one-shot read:
- ccxt's client-side rate limiter is off: it spaces calls by their weight (50 ms x 5 for
  `userTrades`), which alone would take seconds for 10 symbols. The whole read weighs about
  30 + 6 per symbol against Binance's 2,400 per minute; a 429 is retried with backoff.
- each call is retried with bounded exponential backoff on network errors, timeouts, 5xx,
  429/418 and garbage bodies, within one overall deadline; then `ExchangeReadError` (the
  report says ERROR). Authentication and other refusals are not retried.

What is read: server time (the 24 h window is the EXCHANGE's last 24 h), symbols
(exchangeInfo, to name positions as FreqTrade does), positions (`/fapi/v3/positionRisk`, the
sign of `positionAmt`), checked against `/fapi/v3/account` (balance and its own position
list: two answers that disagree are retried, not trusted), leverage and margin mode
(`/fapi/v1/symbolConfig`), mark prices, then PER SYMBOL (never the symbol-less call) open
orders and the user trades of the last 24 h, paged. Symbols read = the ones asked for (config
whitelist, DB pairs) + every symbol v3 positionRisk lists (it lists any symbol with a position
OR an open order, so no foreign open order is missed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ccxt

from statarb.recovery import binance_parse as parse
from statarb.recovery.binance_parse import GarbageResponseError
from statarb.recovery.snapshots import (
    Balance,
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    ExchangeSnapshot,
)

DAY_MS = 86_400_000
TRADES_PAGE = 1000  # Binance's maximum `limit` for userTrades
MAX_TRADE_PAGES = 50  # per symbol: 50,000 fills a day is far beyond this bot
MAX_ORDER_LOOKUPS = 50
PARALLEL_CALLS = 4
DEFAULT_TIMEOUT_MS = 10_000
T = TypeVar("T")


class ExchangeReadError(RuntimeError):
    """The exchange could not be read completely; the message names the call and the cause."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded: at most `attempts` tries per call, and nothing starts after `deadline_s`."""

    attempts: int = 5
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0
    deadline_s: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.first_delay_s < 0 or self.deadline_s <= 0:
            raise ValueError("retry policy needs attempts >= 1, delays >= 0, a deadline > 0")


RETRYABLE = (ccxt.OperationFailed, GarbageResponseError, OSError)  # network, 5xx, 429, timeouts


def make_client(ccxt_params: Mapping[str, Any], exchange_name: str = "binance") -> ccxt.Exchange:
    """The sync ccxt client FreqTrade would build, minus client-side rate limiting (see above)."""
    params = dict(ccxt_params)
    params["enableRateLimit"] = False
    params.setdefault("timeout", DEFAULT_TIMEOUT_MS)
    try:
        return getattr(ccxt, exchange_name)(params)
    except (AttributeError, ccxt.BaseError) as exc:
        raise ExchangeReadError(f"cannot set up ccxt {exchange_name!r}: {exc}") from None


def binance_code(exc: BaseException) -> int | None:
    """The Binance error code in a ccxt error's message (`{"code":-2013,...}`), if any."""
    message = str(exc)
    marker = '"code":'
    if marker not in message:
        return None
    tail = message.split(marker, 1)[1].lstrip()
    digits = ""
    for char in tail:
        if (char == "-" and not digits) or char.isdigit():
            digits += char
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return None


class ExchangeReader:
    def __init__(self, client: ccxt.Exchange, policy: RetryPolicy | None = None) -> None:
        self.client = client
        self.policy = policy or RetryPolicy()
        self.calls = 0
        self.retries = 0
        self._deadline = self.policy.clock() + self.policy.deadline_s  # renewed by read()
        self._symbols: dict[str, str] = {}  # Binance id → FreqTrade pair
        self._ids: dict[str, str] = {}  # FreqTrade pair → Binance id

    # ---------------------------------------------------------------------- calls
    def call(self, name: str, fn: Callable[[], Any], convert: Callable[[Any], T]) -> T:
        """One request, converted; retried on transient trouble within the deadline."""
        policy = self.policy
        delay = policy.first_delay_s
        last: BaseException | None = None
        for attempt in range(policy.attempts):
            if attempt and policy.clock() + delay > self._deadline:
                break
            if attempt:
                self.retries += 1
                policy.sleep(delay)
                delay = min(delay * 2, policy.max_delay_s)
            self.calls += 1
            try:
                return convert(fn())
            except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as exc:
                raise ExchangeReadError(
                    f"{name}: the exchange refused the API key ({exc})"
                ) from None
            except RETRYABLE as exc:
                last = exc
            except ccxt.BaseError as exc:
                raise ExchangeReadError(f"{name}: {type(exc).__name__}: {exc}") from None
        assert last is not None
        raise ExchangeReadError(
            f"{name}: {type(last).__name__}: {_short(last)} (gave up: at most "
            f"{policy.attempts} attempts within {policy.deadline_s:g} s)"
        )

    def _parallel(self, jobs: Iterable[Callable[[], T]]) -> list[T]:
        jobs = list(jobs)
        if len(jobs) <= 1:
            return [job() for job in jobs]
        with ThreadPoolExecutor(max_workers=PARALLEL_CALLS) as pool:
            futures = [pool.submit(job) for job in jobs]
            try:
                return [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    # ---------------------------------------------------------------------- symbols
    def symbol_of(self, exchange_symbol: str) -> str:
        return self._symbols.get(exchange_symbol, exchange_symbol)

    def exchange_id(self, symbol: str) -> str | None:
        return self._ids.get(symbol)

    def _load_symbols(self) -> None:
        body = self.call(
            "exchangeInfo",
            self.client.fapiPublicGetExchangeInfo,
            lambda b: parse.rows(parse.obj(b, "exchangeInfo").get("symbols"), "exchangeInfo"),
        )
        for raw in body:
            try:
                market = self.client.parse_market(raw)
            except (KeyError, TypeError, ValueError, ccxt.BaseError) as exc:
                raise ExchangeReadError(
                    f"exchangeInfo: unreadable symbol {raw!r:.80}: {exc}"
                ) from None
            self._symbols[market["id"]] = market["symbol"]
            self._ids[market["symbol"]] = market["id"]

    # ---------------------------------------------------------------------- the read
    def read(
        self,
        wanted_symbols: Iterable[str],
        *,
        window_ms: int = DAY_MS,
        lookup_order: Callable[[str], bool] = lambda order_id: True,
        warnings: list[str] | None = None,
    ) -> ExchangeSnapshot:
        """Everything recovery needs, or ExchangeReadError. `lookup_order(order_id)` says which
        filled orders to fetch by id (those the DB does not know), for their client order id."""
        warnings = warnings if warnings is not None else []
        self._deadline = self.policy.clock() + self.policy.deadline_s
        now_ms = self.call("time", self.client.fapiPublicGetTime, parse.server_time_ms)
        since_ms = now_ms - window_ms
        self._load_symbols()
        (positions, active), settings, marks, (balance, account_amounts) = self._parallel(
            [
                lambda: self.call(
                    "positionRisk",
                    self.client.fapiPrivateV3GetPositionRisk,
                    lambda b: (parse.positions(b, self.symbol_of), parse.active_symbols(b)),
                ),
                lambda: self.call(
                    "symbolConfig",
                    self.client.fapiPrivateGetSymbolConfig,
                    lambda b: parse.symbol_settings(b, self.symbol_of),
                ),
                lambda: self.call(
                    "premiumIndex",
                    self.client.fapiPublicGetPremiumIndex,
                    lambda b: parse.mark_prices(b, self.symbol_of),
                ),
                lambda: self.call("account", self.client.fapiPrivateV3GetAccount, parse.account),
            ]
        )
        risk_amounts = {p.exchange_symbol: p.qty_base for p in positions}
        if risk_amounts != account_amounts:
            # Two endpoints disagree about what is held: a fill in between or a broken answer.
            positions, active, balance = self._positions_agreeing()
        held = [p.exchange_symbol for p in positions]
        symbols = self._symbols_to_check(wanted_symbols, [*active, *held], warnings)
        per_symbol = self._parallel(
            [lambda s=s: self._orders_and_fills(s, since_ms, now_ms) for s in symbols]
        )
        open_orders = [o for orders, _ in per_symbol for o in orders]
        fills = [f for _, found in per_symbol for f in found]
        lookups = self._lookup_orders(fills, lookup_order, warnings)
        return ExchangeSnapshot(
            server_time_ms=now_ms,
            positions=tuple(positions),
            settings=tuple(settings),
            open_orders=tuple(open_orders),
            fills=tuple(fills),
            fills_since_ms=since_ms,
            balance=balance,
            symbols_checked=tuple(self.symbol_of(s) for s in symbols),
            mark_prices=marks,
            order_lookups=lookups,
        )

    def _positions_agreeing(self) -> tuple[list[ExchangePosition], list[str], Balance]:
        """Read both again until they agree (a fill in between settles; garbage does not)."""
        for _ in range(max(1, self.policy.attempts - 1)):
            risk, active = self.call(
                "positionRisk",
                self.client.fapiPrivateV3GetPositionRisk,
                lambda b: (parse.positions(b, self.symbol_of), parse.active_symbols(b)),
            )
            balance, amounts = self.call(
                "account", self.client.fapiPrivateV3GetAccount, parse.account
            )
            if {p.exchange_symbol: p.qty_base for p in risk} == amounts:
                return risk, active, balance
            self.policy.sleep(self.policy.first_delay_s)
        raise ExchangeReadError(
            "positionRisk and account disagree about the open positions on every attempt"
        )

    def _symbols_to_check(
        self, wanted: Iterable[str], active_ids: Iterable[str], warnings: list[str]
    ) -> list[str]:
        ids = set(active_ids)
        for symbol in wanted:
            ex_id = self.exchange_id(symbol)
            if ex_id is None:
                warnings.append(f"{symbol}: not listed by the exchange, not checked")
            else:
                ids.add(ex_id)
        return sorted(ids)

    def _orders_and_fills(
        self, ex_symbol: str, since_ms: int, until_ms: int
    ) -> tuple[list[ExchangeOrder], list[ExchangeFill]]:
        orders = self.call(
            f"openOrders {ex_symbol}",
            lambda: self.client.fapiPrivateGetOpenOrders({"symbol": ex_symbol}),
            lambda b: parse.orders(b, self.symbol_of),
        )
        return orders, self._fills(ex_symbol, since_ms, until_ms)

    def _fills(self, ex_symbol: str, since_ms: int, until_ms: int) -> list[ExchangeFill]:
        """The last 24 h of user trades: one time-window page, then by trade id (Binance
        does not take fromId together with a time window)."""
        name = f"userTrades {ex_symbol}"
        params: dict[str, Any] = {
            "symbol": ex_symbol, "startTime": since_ms, "endTime": until_ms, "limit": TRADES_PAGE,
        }  # fmt: skip
        out: dict[str, ExchangeFill] = {}
        for _ in range(MAX_TRADE_PAGES):
            page = self.call(
                name,
                lambda p=dict(params): self.client.fapiPrivateGetUserTrades(p),
                lambda b: parse.fills(b, self.symbol_of),
            )
            for fill in page:
                if since_ms <= fill.time_ms <= until_ms:
                    out[fill.trade_id] = fill
            if len(page) < TRADES_PAGE or any(f.time_ms > until_ms for f in page):
                return sorted(out.values(), key=lambda f: (f.time_ms, f.trade_id))
            last_id = max(int(f.trade_id) for f in page)
            params = {"symbol": ex_symbol, "fromId": last_id + 1, "limit": TRADES_PAGE}
        raise ExchangeReadError(f"{name}: more than {MAX_TRADE_PAGES * TRADES_PAGE} fills in 24 h")

    def _lookup_orders(
        self, fills: list[ExchangeFill], wanted: Callable[[str], bool], warnings: list[str]
    ) -> dict[str, ExchangeOrder]:
        unknown = sorted({(f.exchange_symbol, f.order_id) for f in fills if wanted(f.order_id)})
        if len(unknown) > MAX_ORDER_LOOKUPS:
            warnings.append(
                f"{len(unknown)} filled orders unknown to the DB: looked up the first "
                f"{MAX_ORDER_LOOKUPS} only"
            )
            unknown = unknown[:MAX_ORDER_LOOKUPS]
        found = self._parallel(
            [
                lambda s=s, o=o: self.call(
                    f"order {s} {o}",
                    lambda: self.client.fapiPrivateGetOrder({"symbol": s, "orderId": o}),
                    lambda b: parse.order(b, self.symbol_of, "order"),
                )
                for s, o in unknown
            ]
        )
        return {order.order_id: order for order in found}


def _short(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    return text[:200] + ("…" if len(text) > 200 else "")

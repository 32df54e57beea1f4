"""Binance's wire rules: error codes and bodies, request signing, parameter and filter checks.

A client learns about trouble only through these codes, so they follow Binance's USDT-M docs:
the code, the message text and the HTTP status (ccxt picks its exception class from the code, and
in a few cases from the status or the message).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from statarb.exchange.specs import SymbolSpec

# A documented test key pair: the exchange uses it when none is given on the command line. It is a
# local simulator, but private endpoints still demand a correct signature with these keys.
DEFAULT_API_KEY = "LocalExchangeTestApiKey000000000000000000000000000000000000000001"
DEFAULT_API_SECRET = "LocalExchangeTestApiSecret00000000000000000000000000000000000001"

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000
MAX_AHEAD_MS = 1_000  # Binance rejects timestamps more than 1 s ahead of its clock

_NUMBER_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")


class ApiError(Exception):
    """A Binance error answer: ``{"code": code, "msg": msg}`` with an HTTP status."""

    def __init__(self, code: int, msg: str, http_status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


# ---- the error catalogue (code, message, HTTP status as Binance sends them) -------------------


def err_internal() -> ApiError:
    return ApiError(-1000, "An unknown error occured while processing the request.", 500)


def err_unknown_execution() -> ApiError:
    """503 whose outcome is unknown: Binance says the request may have been executed."""
    return ApiError(-1001, "Unknown error, please check your request or try again later.", 503)


def err_too_many_requests() -> ApiError:
    return ApiError(
        -1003,
        "Too many requests; current limit of IP(127.0.0.1) is 2400 requests per minute. "
        "Please use the websocket for live updates to avoid polling the API.",
        429,
    )


def err_banned(until_ms: int) -> ApiError:
    return ApiError(
        -1003,
        f"Way too many requests; IP(127.0.0.1) banned until {until_ms}. "
        "Please use the websocket for live updates to avoid bans.",
        418,
    )


def err_timestamp_outside_window() -> ApiError:
    return ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")


def err_timestamp_ahead() -> ApiError:
    return ApiError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def err_bad_signature() -> ApiError:
    return ApiError(-1022, "Signature for this request is not valid.")


def err_illegal_chars(name: str) -> ApiError:
    return ApiError(
        -1100,
        f"Illegal characters found in parameter '{name}'; "
        "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
    )


def err_mandatory(name: str) -> ApiError:
    return ApiError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def err_mandatory_either(first: str, second: str) -> ApiError:
    return ApiError(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def err_precision() -> ApiError:
    return ApiError(-1111, "Precision is over the maximum defined for this asset.")


def err_invalid_tif() -> ApiError:
    return ApiError(-1115, "Invalid timeInForce.")


def err_invalid_order_type() -> ApiError:
    return ApiError(-1116, "Invalid orderType.")


def err_invalid_side() -> ApiError:
    return ApiError(-1117, "Invalid side.")


def err_invalid_symbol() -> ApiError:
    return ApiError(-1121, "Invalid symbol.")


def err_invalid_param(name: str) -> ApiError:
    return ApiError(-1130, f"Data sent for parameter '{name}' is not valid.")


def err_recv_window() -> ApiError:
    return ApiError(-1131, "recvWindow must be less than 60000")


def err_unknown_order() -> ApiError:
    return ApiError(-2011, "Unknown order sent.")


def err_order_not_found() -> ApiError:
    return ApiError(-2013, "Order does not exist.")


def err_api_key_format() -> ApiError:
    return ApiError(-2014, "API-key format invalid.", 401)


def err_invalid_key() -> ApiError:
    return ApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def err_margin_insufficient() -> ApiError:
    return ApiError(-2019, "Margin is insufficient.")


def err_reduce_only_rejected() -> ApiError:
    return ApiError(-2022, "ReduceOnly Order is rejected.")


def err_max_open_orders() -> ApiError:
    return ApiError(-2025, "Reach max open order limit.")


def err_max_position() -> ApiError:
    return ApiError(-2027, "Exceeded the maximum allowable position at current leverage.")


def err_price_below_zero() -> ApiError:
    return ApiError(-4001, "Price less than 0.")


def err_price_above_max() -> ApiError:
    return ApiError(-4002, "Price greater than max price.")


def err_price_below_min() -> ApiError:
    return ApiError(-4013, "Price less than min price.")


def err_qty_not_positive() -> ApiError:
    return ApiError(-4003, "Quantity less than or equal to zero.")


def err_qty_below_min() -> ApiError:
    return ApiError(-4004, "Quantity less than min quantity.")


def err_qty_above_max() -> ApiError:
    return ApiError(-4005, "Quantity greater than max quantity.")


def err_price_tick() -> ApiError:
    return ApiError(-4014, "Price not increased by tick size.")


def err_price_above_cap(cap: Decimal) -> ApiError:
    return ApiError(-4016, f"Limit price can't be higher than {cap}.")


def err_qty_step() -> ApiError:
    return ApiError(-4023, "Qty not increased by step size.")


def err_price_below_floor(floor: Decimal) -> ApiError:
    return ApiError(-4024, f"Limit price can't be lower than {floor}.")


def err_invalid_leverage(leverage: str) -> ApiError:
    return ApiError(-4028, f"Leverage {leverage} is not valid")


def err_no_need_margin_type() -> ApiError:
    return ApiError(-4046, "No need to change margin type.")


def err_margin_type_open_orders() -> ApiError:
    return ApiError(-4047, "Margin type cannot be changed if there exists open orders.")


def err_margin_type_position() -> ApiError:
    return ApiError(-4048, "Margin type cannot be changed if there exists position.")


def err_no_need_position_side() -> ApiError:
    return ApiError(-4059, "No need to change position side.")


def err_position_side_mismatch() -> ApiError:
    return ApiError(-4061, "Order's position side does not match user's setting.")


def err_position_side_with_orders() -> ApiError:
    return ApiError(-4067, "Position side cannot be changed if there exists open orders.")


def err_position_side_with_position() -> ApiError:
    return ApiError(-4068, "Position side cannot be changed if there exists position.")


def err_duplicate_client_id() -> ApiError:
    return ApiError(-4116, "ClientOrderId is duplicated.")


def err_leverage_reduce_isolated() -> ApiError:
    return ApiError(
        -4161, "Leverage reduction is not supported in Isolated Margin Mode with open positions."
    )


def err_min_notional(min_notional: Decimal) -> ApiError:
    return ApiError(
        -4164,
        f"Order's notional must be no smaller than {min_notional} (unless you choose reduce only).",
    )


def err_fok_rejected() -> ApiError:
    return ApiError(
        -5021,
        "Due to the order could not be filled immediately, the FOK order has been rejected. "
        "The order will not be recorded in the order history",
    )


def err_post_only_rejected() -> ApiError:
    return ApiError(
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. "
        "The order will not be recorded in the order history",
    )


def err_invalid_path(method: str, path: str) -> ApiError:
    return ApiError(-5000, f"Path {path}, Method {method} is invalid", 404)


# ---- signing ---------------------------------------------------------------------------------


def sign(secret: str, payload: str) -> str:
    """HMAC-SHA256 of ``payload`` keyed with ``secret``, lowercase hex (Binance's scheme)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _split_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` without its ``signature=`` parameter, and that parameter's value."""
    if not raw:
        return raw, None
    parts = raw.split("&")
    kept = [p for p in parts if not p.startswith("signature=")]
    found = [p[len("signature=") :] for p in parts if p.startswith("signature=")]
    return "&".join(kept), (found[0] if found else None)


def check_signature(secret: str, raw_query: str, raw_body: str) -> None:
    """Binance signs ``totalParams`` = the query string followed by the body, as sent.

    Raises -1102 when no signature is present and -1022 when it does not match.
    """
    query, sig_q = _split_signature(raw_query)
    body, sig_b = _split_signature(raw_body)
    signature = sig_q if sig_q is not None else sig_b
    if not signature:
        raise err_mandatory("signature")
    expected = sign(secret, query + body)
    if not hmac.compare_digest(expected, signature.lower()):
        raise err_bad_signature()


def check_timestamp(params: dict[str, str], server_ms: int) -> None:
    """``timestamp`` must lie within ``recvWindow`` before the server clock, ≤1 s after it."""
    raw_ts = params.get("timestamp")
    if not raw_ts:
        raise err_mandatory("timestamp")
    try:
        timestamp_ms = int(raw_ts)
    except ValueError as exc:
        raise err_illegal_chars("timestamp") from exc
    window_ms = DEFAULT_RECV_WINDOW_MS
    if params.get("recvWindow"):
        try:
            window_ms = int(params["recvWindow"])
        except ValueError as exc:
            raise err_illegal_chars("recvWindow") from exc
        if window_ms > MAX_RECV_WINDOW_MS or window_ms <= 0:
            raise err_recv_window()
    if timestamp_ms > server_ms + MAX_AHEAD_MS:
        raise err_timestamp_ahead()
    if server_ms - timestamp_ms > window_ms:
        raise err_timestamp_outside_window()


# ---- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    """Request parameters (query and form body merged) with Binance's validation errors."""

    raw: dict[str, str]

    def get(self, name: str) -> str | None:
        value = self.raw.get(name)
        return value if value not in (None, "") else None

    def required(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise err_mandatory(name)
        return value

    def decimal(self, name: str) -> Decimal | None:
        value = self.get(name)
        if value is None:
            return None
        if not _NUMBER_RE.match(value):
            raise err_illegal_chars(name)
        try:
            return Decimal(value)
        except InvalidOperation as exc:
            raise err_illegal_chars(name) from exc

    def integer(self, name: str) -> int | None:
        value = self.get(name)
        if value is None:
            return None
        if not re.fullmatch(r"-?[0-9]{1,20}", value):
            raise err_illegal_chars(name)
        return int(value)

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise err_invalid_param(name)
        return lowered == "true"

    def limit(self, default: int, maximum: int) -> int:
        value = self.integer("limit")
        if value is None:
            return default
        if value <= 0:
            raise err_invalid_param("limit")
        return min(value, maximum)


# ---- symbol filters --------------------------------------------------------------------------


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -int(exponent))


def check_price(spec: SymbolSpec, price: Decimal) -> None:
    """PRICE_FILTER: precision, range and tick size."""
    if price <= 0:
        raise err_price_below_zero()
    if _decimals(price) > spec.price_precision:
        raise err_precision()
    if price < spec.min_price:
        raise err_price_below_min()
    if price > spec.max_price:
        raise err_price_above_max()
    if price % spec.tick_size != 0:
        raise err_price_tick()


def check_quantity(spec: SymbolSpec, qty: Decimal, *, is_market: bool) -> None:
    """LOT_SIZE (limit orders) or MARKET_LOT_SIZE (market orders)."""
    if qty <= 0:
        raise err_qty_not_positive()
    if _decimals(qty) > spec.quantity_precision:
        raise err_precision()
    if qty < spec.min_qty:
        raise err_qty_below_min()
    if qty > (spec.market_max_qty if is_market else spec.max_qty):
        raise err_qty_above_max()
    if qty % spec.step_size != 0:
        raise err_qty_step()


def check_percent_price(spec: SymbolSpec, side: str, price: Decimal, mark: Decimal) -> None:
    """PERCENT_PRICE: a limit buy may not sit above mark×up, a sell not below mark×down."""
    cap = (mark * spec.multiplier_up).quantize(spec.tick_size)
    floor = (mark * spec.multiplier_down).quantize(spec.tick_size)
    if side == "BUY" and price > cap:
        raise err_price_above_cap(cap)
    if side == "SELL" and price < floor:
        raise err_price_below_floor(floor)


def check_min_notional(spec: SymbolSpec, qty: Decimal, price: Decimal) -> None:
    """MIN_NOTIONAL (waived for reduce-only orders, checked by the caller)."""
    if qty * price < spec.min_notional_usdt:
        raise err_min_notional(spec.min_notional_usdt)


def fmt(value: Decimal, places: int) -> str:
    """A decimal as Binance prints it: fixed number of places, no exponent."""
    return f"{value:.{places}f}"

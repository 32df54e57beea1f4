"""What an error from the exchange says about an order: refused, or fate unknown.

ccxt's exception classes cannot be trusted for this: it picks Binance's futures error table by
URL, so behind any other address -2019 "margin insufficient" arrives as a plain ExchangeError,
and a timeout and a 503 look alike. Binance's own error code (in the message body) and the kind
of failure decide instead:

- REJECTED: Binance answered with a validation or account error; nothing was placed.
- UNKNOWN: no usable answer (timeout, reset, 5xx, -1001/-1006/-1007 "execution status
  unknown", a garbled body): the order may exist. Only the exchange can tell, by client id.
- DUPLICATE: -4116, the client order id is already in use: the intent was already placed.

An order the exchange client refused before any request left (`NotSentError`: an amount below the
symbol's precision, a missing argument) is REJECTED too: nothing can exist on the exchange, so
there is nothing to ask it about.
"""

from __future__ import annotations

import re
from enum import StrEnum

_CODE = re.compile(r'"code"\s*:\s*(-?\d+)')

# Binance says the request was not (or may not have been) executed.
UNKNOWN_CODES = {-1000, -1001, -1006, -1007}
DUPLICATE_CODES = {-4116}
ORDER_MISSING_CODES = {-2013, -2011}


class NotSentError(Exception):
    """The exchange client refused the order itself; no request was made. `error` is its
    own exception, raised again to the caller once the intent is settled."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class SendOutcome(StrEnum):
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    DUPLICATE = "duplicate"


def binance_error_code(error: BaseException) -> int | None:
    """Binance's numeric error code carried in an exception's message, if any."""
    match = _CODE.search(str(error))
    return int(match.group(1)) if match else None


def classify_send_error(error: BaseException) -> SendOutcome:
    if isinstance(error, NotSentError):
        return SendOutcome.REJECTED
    code = binance_error_code(error)
    if code in DUPLICATE_CODES:
        return SendOutcome.DUPLICATE
    if code is not None and code not in UNKNOWN_CODES:
        # 429/418 rate limits (-1003, -1015) are also refused before any processing.
        return SendOutcome.REJECTED
    return SendOutcome.UNKNOWN


def is_order_missing(error: BaseException) -> bool:
    """The exchange says it has no order with that id (-2013 / -2011)."""
    return binance_error_code(error) in ORDER_MISSING_CODES

"""Which spread, leg and purpose an exchange order belongs to, read from its client order id.

Its own module so that the reconciliation and the advice it writes both use it without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from statarb.spread.client_ids import Leg, Purpose, parse_client_order_id
from statarb.spread.legs import SpreadKey


@dataclass(frozen=True)
class Attribution:
    """Which spread, leg and purpose an exchange order belongs to, from its client order id."""

    client_order_id: str
    spread_id: str | None
    leg: Leg | None
    purpose: Purpose | None
    attempt: int | None

    @property
    def ours(self) -> bool:
        return self.spread_id is not None

    @property
    def liquidation(self) -> bool:
        # Binance names its liquidation / ADL orders "autoclose-…" (and "adl_autoclose").
        return "autoclose" in self.client_order_id


def attribute(client_order_id: str) -> Attribution:
    parsed = parse_client_order_id(client_order_id)
    if parsed is None:
        return Attribution(client_order_id, None, None, None, None)
    key = SpreadKey(str(parsed["pair_id"]), parsed["spread_opened_at"])  # type: ignore[arg-type]
    return Attribution(
        client_order_id,
        str(key),
        parsed["leg"],  # type: ignore[arg-type]
        parsed["purpose"],  # type: ignore[arg-type]
        int(parsed["attempt"]),  # type: ignore[call-overload]
    )

"""The `[CATEGORY] spread message key=value …` lines are logfmt (statarb.safety.log).

Protects against log lines an operator cannot read or a script cannot take apart: a reason
whose spaces were turned into underscores (`reason=too_small_to_pay_its_costs:_expected…`), a
value with `=` or a quote in it that splits into bogus fields, and a value with a line break
that breaks one event into two lines (`grep "\\[SAFETY\\]"` then shows half of it).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from statarb.safety.log import Category, format_line, parse_fields


def test_a_reason_with_spaces_is_quoted_and_reads_as_written() -> None:
    line = format_line(
        Category.STRATEGY,
        "SOL_ADA",
        "entry refused",
        reason="expected reversion 0.042% < 1.50 x round-trip cost 0.059%",
        signal_candle="2026-02-02T22:00:00+00:00",
    )
    assert line == (
        '[STRATEGY] SOL_ADA entry refused reason="expected reversion 0.042% < 1.50 x round-trip '
        'cost 0.059%" signal_candle=2026-02-02T22:00:00+00:00'
    )


def test_plain_values_stay_bare_and_floats_keep_six_digits() -> None:
    line = format_line(Category.EXECUTION, "SOL_ADA", "fill", pair="SOL/USDT:USDT", qty=10, p=0.1)
    assert line == "[EXECUTION] SOL_ADA fill p=0.1 pair=SOL/USDT:USDT qty=10"
    assert parse_fields(line) == {"p": "0.1", "pair": "SOL/USDT:USDT", "qty": "10"}


def test_quotes_equals_backslashes_and_line_breaks_are_escaped_inside_one_line() -> None:
    line = format_line(
        Category.SAFETY,
        None,
        "new pairs config rejected",
        error='field "hedge_ratio" = -1\nC:\\pairs.json',
        empty="",
    )
    assert line == (
        '[SAFETY] - new pairs config rejected empty="" '
        'error="field \\"hedge_ratio\\" = -1\\nC:\\\\pairs.json"'
    )
    assert "\n" not in line
    assert parse_fields(line) == {"empty": "", "error": 'field "hedge_ratio" = -1\nC:\\pairs.json'}


@settings(max_examples=300, deadline=None)
@given(
    values=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True),
        st.one_of(st.text(max_size=40), st.integers(), st.floats(allow_nan=False)),
        max_size=5,
    )
)
def test_every_value_reads_back_from_its_line(values: dict[str, object]) -> None:
    line = format_line(Category.STRATEGY, "P1", "an event: with words", **values)
    assert "\n" not in line and "\r" not in line
    expected = {k: f"{v:.6g}" if isinstance(v, float) else str(v) for k, v in values.items()}
    assert parse_fields(line) == expected

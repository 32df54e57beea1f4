"""FreqAI's time features survive a training frame whose dates are objects.

Protects against a pair that silently trains no model: in a paper run FreqAI merged its own
downloaded candles with the live ones, `date` came as objects, `.dt` raised and FreqAI logged
an ERROR and skipped the pair.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "user_data" / "strategies"))

from CointPairsStrategy import CointPairsStrategy


def test_hour_features_from_dates_held_as_objects() -> None:
    nanoseconds = pd.Series(pd.date_range("2026-01-01", periods=3, freq="h", tz="UTC"))
    milliseconds = pd.Series(
        pd.date_range("2026-01-01 03:00", periods=2, freq="h", tz="UTC").as_unit("ms")
    )
    dates = pd.concat([nanoseconds.astype(object), milliseconds.astype(object)], ignore_index=True)
    frame = pd.DataFrame({"date": dates})
    out = CointPairsStrategy.feature_engineering_standard(None, frame, {})  # type: ignore[arg-type]
    hours = np.arange(5)
    assert np.allclose(out["%-hour_sin"], np.sin(2 * np.pi * hours / 24))
    assert np.allclose(out["%-hour_cos"], np.cos(2 * np.pi * hours / 24))

"""Run the statistics with single-threaded BLAS.

Our regressions are small (tens of columns): BLAS threads add only hand-offs, and on a loaded
2-vCPU machine OpenBLAS's thread hand-off was measured to stall a 6 ms batched product, and each
QR of a single-pair test, for about 2 s. The limit is scoped (a context manager) and restored
afterwards, so FreqTrade, FreqAI and LightGBM keep their own thread settings.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    # Created on first use, after numpy and scipy have loaded their BLAS libraries; scanning the
    # loaded libraries costs ~0.3 ms, so it is done once.
    return ThreadpoolController()


def single_threaded_blas() -> Any:
    """Context manager limiting every loaded BLAS to one thread."""
    return _controller().limit(limits=1, user_api="blas")

"""The precision figures are published at: what a person reads, and no more.

Full-precision statistics are a side channel: an ICC or a p-value to sixteen digits pins down
sums of squares from which hidden groups can be solved. Means and scores keep two decimals,
other statistics three, p-values three significant digits (so that small ones stay readable).
Rounding is the second line of defence; suppression and releases are the first.
"""

from __future__ import annotations

import math
from typing import Any

TWO_DECIMALS = frozenset({
    "mean", "sd", "score", "ci_low", "ci_high", "architecture", "operating_model", "lens_gap",
    "alignment", "previous", "current", "change", "difference",
})
SIGNIFICANT = frozenset({"p_value", "p"})


def _round(key: str | None, value: float) -> float:
    if not math.isfinite(value):
        return value
    if key in SIGNIFICANT:
        return float(f"{value:.3g}")
    return round(value, 2 if key in TWO_DECIMALS else 3)


def rounded(value: Any, key: str | None = None) -> Any:
    """A copy of a JSON-ready result with every float rounded by the name of its key."""
    if isinstance(value, dict):
        return {k: rounded(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, key) for v in value]
    if isinstance(value, float):
        return _round(key, value)
    return value

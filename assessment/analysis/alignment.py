"""Alignment of the two lenses per dimension: how far the platform lags or leads the way of working.

Owns the alignment arithmetic: `lens_gap = A - O` (architecture minus operating-model score, 0-100
points; negative means the platform lags the way the business says it works),
`alignment = 100 - |lens_gap|`, the dimension-weighted overall alignment, and when a dimension's
figures are too weak to act on (low consensus or too few respondents). Maturity (the dimension
score) and consensus are reported beside alignment, never folded into it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Teams agree when mean rwg(j) >= .70 (the conventional cut-off); below it a dimension's scores
# average over people who see it differently.
CONSENSUS_THRESHOLD = 0.70
# A lens score from fewer people than two reportable groups' worth is too thin to act on.
MIN_GROUPS_WORTH = 2


def align(table: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Add `lens_gap`, `alignment` and `low_confidence` to a per-dimension table.

    Reads the columns `architecture`, `operating_model` (0-100 lens scores, NaN when the dimension
    lacks that lens), `n_architecture`, `n_operating_model`, `n` (respondents with a score) and
    `consensus` (mean rwg(j) over reportable groups). Returns a new frame.
    """
    out = table.copy()
    out["lens_gap"] = out["architecture"] - out["operating_model"]
    out["alignment"] = 100.0 - out["lens_gap"].abs()
    minimum = MIN_GROUPS_WORTH * min_group_size
    thin = (out["n"] < minimum) | (
        out["lens_gap"].notna()
        & ((out["n_architecture"] < minimum) | (out["n_operating_model"] < minimum))
    )
    weak = out["consensus"].isna() | (out["consensus"] < CONSENSUS_THRESHOLD)
    out["low_confidence"] = weak | thin
    return out


def weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    """Weight-averaged value over the entries that have one (NaN when none has)."""
    present = values.notna()
    if not present.any():
        return float("nan")
    return float(np.average(values[present], weights=weights[present]))

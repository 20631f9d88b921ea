"""Alignment of the two lenses per dimension: how far the platform lags or leads the way of working.

Owns the alignment arithmetic: `lens_gap = A - O` (architecture minus operating-model score, 0-100
points; negative means the platform lags the way the business says it works),
`alignment = 100 - |lens_gap|`, the dimension-weighted overall alignment, and when a dimension's
figures are too weak to act on (weak consensus, teams that do not agree beyond chance, or too few
respondents). Maturity (the dimension score) and consensus are reported beside alignment, never
folded into it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Consensus is the mean item-level agreement (rwg) within shown teams; read in LeBreton & Senter's
# (2008) bands: .70 and above teams agree (strong agreement), .50-.70 moderate agreement, below
# .50 weak or no agreement, where a dimension's scores average over people who see it differently.
CONSENSUS_THRESHOLD = 0.70
WEAK_CONSENSUS = 0.50
# A dimension's scores also rest on shaky ground when fewer than half the shown teams agree beyond
# what random answering gives (small teams rarely can).
MIN_BEYOND_CHANCE_SHARE = 0.5
# A team mean is read as reliable when its own Spearman-Brown reliability reaches .70.
RELIABILITY_THRESHOLD = 0.70
# A lens score from fewer people than two reportable groups' worth is too thin to act on.
MIN_GROUPS_WORTH = 2


def align(table: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Add `lens_gap`, `alignment` and `low_confidence` to a per-dimension table.

    Reads the columns `architecture`, `operating_model` (0-100 lens scores, NaN when the dimension
    lacks that lens), `n_architecture`, `n_operating_model`, `n` (respondents with a score) and
    `consensus` (mean item rwg within reportable groups) and `beyond_chance_share` (share of
    reportable groups whose rwg(j) is beyond random answering, NaN when not judged). Returns a
    new frame.
    """
    out = table.copy()
    out["lens_gap"] = out["architecture"] - out["operating_model"]
    out["alignment"] = 100.0 - out["lens_gap"].abs()
    minimum = MIN_GROUPS_WORTH * min_group_size
    thin = (out["n"] < minimum) | (
        out["lens_gap"].notna()
        & ((out["n_architecture"] < minimum) | (out["n_operating_model"] < minimum))
    )
    weak = out["consensus"].isna() | (out["consensus"] < WEAK_CONSENSUS)
    chance = out["beyond_chance_share"] < MIN_BEYOND_CHANCE_SHARE  # NaN (not judged) is False
    out["low_confidence"] = weak | chance | thin
    return out


def consensus_reading(consensus: float | None) -> str | None:
    """The band a consensus figure falls in: `agree`, `moderate` or `weak` (None when unknown)."""
    if consensus is None or pd.isna(consensus):
        return None
    if consensus >= CONSENSUS_THRESHOLD:
        return "agree"
    return "moderate" if consensus >= WEAK_CONSENSUS else "weak"


def weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    """Weight-averaged value over the entries that have one (NaN when none has)."""
    present = values.notna()
    if not present.any():
        return float("nan")
    return float(np.average(values[present], weights=weights[present]))

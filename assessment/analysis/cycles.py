"""Change between two cycles of the same assessment, per dimension and per team.

Reads only two analysis results (their `CycleFigures`), so the comparison needs no
respondent-level data and respects suppression: a team hidden in either cycle is not compared.
The test is Welch's two-sample t-test from summary statistics (means, SDs and ns of respondent
dimension scores), which does not assume equal variances; the two cycles are treated as
independent samples, since anonymous responses cannot be paired across cycles. The effect size is
the same as for role gaps, Cohen's d with the pooled SD, so the two can be compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

from .divergence import EFFECT_SIZE_NAME
from .result import AnalysisResult, Stats, Suppressed

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class CycleFigures:
    """What the comparison reads of one cycle: the scale's range, each dimension's overall
    figures and each shown team's (a suppressed team is kept as suppressed)."""

    scale_range: float
    dimensions: dict[str, Stats]
    teams: dict[str, dict[str, Stats | Suppressed]] = field(default_factory=dict)
    min_group_size: int = 0
    lenses: dict[str, dict[str, Stats]] = field(default_factory=dict)

    @classmethod
    def of(cls, result: AnalysisResult) -> CycleFigures:
        teams: dict[str, dict[str, Stats | Suppressed]] = {}
        for dim, entry in result.dimensions.items():
            for team, cell in entry.groups.items():
                teams.setdefault(team, {})[dim] = cell
        return cls(float(result.scale.max - result.scale.min) or 1.0,
                   {dim: Stats(n=d.n, mean=d.mean, sd=d.sd, ci95=d.ci95, score=d.score)
                    for dim, d in result.dimensions.items()},
                   teams, result.min_group_size,
                   {dim: {str(lens): stats for lens, stats in d.lens_stats.items()}
                    for dim, d in result.dimensions.items()})


def _welch(prev: Stats, cur: Stats, scale_range: float) -> dict[str, Any] | None:
    if prev.mean is None or cur.mean is None or prev.sd is None or cur.sd is None:
        return None
    if prev.n < 2 or cur.n < 2:
        return None
    change = (cur.mean - prev.mean) / scale_range * 100
    if prev.sd == 0 and cur.sd == 0:
        p = 1.0 if change == 0 else 0.0
    else:
        p = float(stats.ttest_ind_from_stats(cur.mean, cur.sd, cur.n, prev.mean,
                                             prev.sd, prev.n, equal_var=False).pvalue)
    pooled = math.sqrt(((prev.n - 1) * prev.sd ** 2 + (cur.n - 1) * cur.sd ** 2)
                       / (prev.n + cur.n - 2))
    return {
        "previous": prev.score, "current": cur.score, "change": change,
        "p_value": p, "significant": p < SIGNIFICANCE,
        "effect_size": (cur.mean - prev.mean) / pooled if pooled else None,
    }


def compare_cycles(previous: CycleFigures, current: CycleFigures,
                   min_group_size: int | None = None) -> dict[str, Any]:
    """`{"test", "alpha", "effect_size", "dimensions": {DIM: {...}},
    "teams": {TEAM: {DIM: {...}}}}`; each entry holds previous and current score (0-100),
    change in points, Welch p-value, significance and Cohen's d with the pooled SD. Dimensions or
    teams missing or suppressed in either cycle are left out, and so are teams below
    `min_group_size` in either (the larger of the two cycles' minimums: a team shown under the
    earlier cycle's smaller minimum is not shown again through the change). `"lenses":
    {DIM: {LENS: {...}}}` compares each lens's respondent scores the same way, for the actions
    that addressed one lens of a dimension."""
    scale_range = current.scale_range
    dims: dict[str, dict[str, Any]] = {}
    teams: dict[str, dict[str, dict[str, Any]]] = {}
    lenses: dict[str, dict[str, dict[str, Any]]] = {}
    for dim, cur in current.dimensions.items():
        prev = previous.dimensions.get(dim)
        if prev is None:
            continue
        result = _welch(prev, cur, scale_range)
        if result is not None:
            dims[dim] = result
        for lens, cur_lens in current.lenses.get(dim, {}).items():
            prev_lens = previous.lenses.get(dim, {}).get(lens)
            lens_result = _welch(prev_lens, cur_lens, scale_range) if prev_lens else None
            if lens_result is not None:
                lenses.setdefault(dim, {})[lens] = lens_result
        for team, by_dim in current.teams.items():
            cur_group = by_dim.get(dim)
            prev_group = previous.teams.get(team, {}).get(dim)
            if not isinstance(cur_group, Stats) or not isinstance(prev_group, Stats):
                continue
            if min_group_size is not None and min(prev_group.n, cur_group.n) < min_group_size:
                continue
            result = _welch(prev_group, cur_group, scale_range)
            if result is not None:
                teams.setdefault(team, {})[dim] = result
    return {"test": "Welch's two-sample t-test on respondent dimension scores",
            "alpha": SIGNIFICANCE, "effect_size": EFFECT_SIZE_NAME, "dimensions": dims,
            "teams": teams, "lenses": lenses}

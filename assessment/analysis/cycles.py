"""Change between two cycles of the same assessment, per dimension and per team.

Reads only two analysis results (the dicts `analyze` returns), so the comparison needs no
respondent-level data and respects suppression: a team hidden in either cycle is not compared.
The test is Welch's two-sample t-test from summary statistics (means, SDs and ns of respondent
dimension scores), which does not assume equal variances; the two cycles are treated as
independent samples, since anonymous responses cannot be paired across cycles. The effect size is
the same as for role gaps, Cohen's d with the pooled SD, so the two can be compared.
"""

from __future__ import annotations

import math

from scipy import stats

from .divergence import EFFECT_SIZE_NAME

SIGNIFICANCE = 0.05


def _welch(prev: dict, cur: dict, scale_range: float) -> dict | None:
    needed = ("mean", "sd", "n")
    if any(prev.get(k) is None or cur.get(k) is None for k in needed):
        return None
    if prev["n"] < 2 or cur["n"] < 2:
        return None
    change = (cur["mean"] - prev["mean"]) / scale_range * 100
    if prev["sd"] == 0 and cur["sd"] == 0:
        p = 1.0 if change == 0 else 0.0
    else:
        p = float(stats.ttest_ind_from_stats(cur["mean"], cur["sd"], cur["n"], prev["mean"],
                                             prev["sd"], prev["n"], equal_var=False).pvalue)
    pooled = math.sqrt(((prev["n"] - 1) * prev["sd"] ** 2 + (cur["n"] - 1) * cur["sd"] ** 2)
                       / (prev["n"] + cur["n"] - 2))
    return {
        "previous": prev.get("score"), "current": cur.get("score"), "change": change,
        "p_value": p, "significant": p < SIGNIFICANCE,
        "effect_size": (cur["mean"] - prev["mean"]) / pooled if pooled else None,
    }


def compare_cycles(previous: dict, current: dict, min_group_size: int | None = None) -> dict:
    """`{"test", "alpha", "effect_size", "dimensions": {DIM: {...}},
    "teams": {TEAM: {DIM: {...}}}}`; each entry holds previous and current score (0-100),
    change in points, Welch p-value, significance and Cohen's d with the pooled SD. Dimensions or
    teams missing or suppressed in either cycle are left out, and so are teams below
    `min_group_size` in either (the larger of the two cycles' minimums: a team shown under the
    earlier cycle's smaller minimum is not shown again through the change). `"lenses":
    {DIM: {LENS: {...}}}` compares each lens's respondent scores the same way, for the actions
    that addressed one lens of a dimension."""
    scale = current.get("scale") or {"min": 1, "max": 5}
    scale_range = float(scale["max"] - scale["min"]) or 1.0
    dims: dict[str, dict] = {}
    teams: dict[str, dict] = {}
    lenses: dict[str, dict] = {}
    for dim, cur in current.get("dimensions", {}).items():
        prev = previous.get("dimensions", {}).get(dim)
        if prev is None:
            continue
        result = _welch(prev, cur, scale_range)
        if result is not None:
            dims[dim] = result
        for lens, cur_lens in (cur.get("lens_stats") or {}).items():
            prev_lens = (prev.get("lens_stats") or {}).get(lens)
            lens_result = _welch(prev_lens, cur_lens, scale_range) if prev_lens else None
            if lens_result is not None:
                lenses.setdefault(dim, {})[lens] = lens_result
        for team, cur_group in cur.get("groups", {}).items():
            prev_group = prev.get("groups", {}).get(team)
            if prev_group is None or prev_group.get("suppressed") or cur_group.get("suppressed"):
                continue
            if min_group_size is not None and min(prev_group.get("n") or 0,
                                                  cur_group.get("n") or 0) < min_group_size:
                continue
            result = _welch(prev_group, cur_group, scale_range)
            if result is not None:
                teams.setdefault(team, {})[dim] = result
    return {"test": "Welch's two-sample t-test on respondent dimension scores",
            "alpha": SIGNIFICANCE, "effect_size": EFFECT_SIZE_NAME, "dimensions": dims,
            "teams": teams, "lenses": lenses}

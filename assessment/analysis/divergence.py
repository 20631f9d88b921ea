"""Divergent perceptions item by item: disagreement within groups, differences between groups, and
gaps between roles.

Owns the thresholds that turn agreement statistics into a ranked list of items a lead should look
at. Only reportable (unsuppressed) groups and roles enter these figures, so nothing here can name or
be driven by a hidden cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from assessment.banks import Bank, Scale

from .scoring import Summary

# rwg >= .70 is the conventional reading of "the group agrees" (James, Demaree & Wolf 1984;
# LeBreton & Senter 2008); an item is divergent within groups when at least half the reportable
# groups fall below it.
AGREEMENT_RWG = 0.70
DISAGREEMENT_SHARE = 0.5
# ICC(1) of .05 and above marks a meaningful group effect in organisational surveys (Bliese 2000
# reports .05-.20 as typical); it must also be significant in the one-way ANOVA.
GROUP_EFFECT_ICC1 = 0.05
SIGNIFICANCE = 0.05
# Cohen's d of .5 is a "medium" effect: a gap a lead would notice in practice.
ROLE_EFFECT_SIZE = 0.5


def role_gaps(summary: Summary, hidden: pd.DataFrame, scale: Scale) -> pd.DataFrame:
    """The largest gap between reportable role means, per column of a roles x columns summary.

    Reads `summary.n/mean/sd` (roles x items or roles x dimensions) and `hidden` (same shape, True
    for suppressed cells). Returns one row per column with `high`, `low` (role names), `difference`
    (0-100 points), `effect_size` (Cohen's d, pooled SD) and `p_value` (Welch's t test); NaN where
    fewer than two roles are reportable.
    """
    usable = ~hidden & (summary.n >= 2)
    mean = summary.mean.where(usable)
    columns = mean.columns
    out = pd.DataFrame(index=columns, columns=["high", "low", "difference", "effect_size",
                                               "p_value"], dtype=object)
    enough = mean.notna().sum(axis=0) >= 2
    if not enough.any():
        return out
    m = mean.loc[:, enough]
    hi = m.to_numpy(dtype=float)
    hi_pos = np.nanargmax(hi, axis=0)
    lo_pos = np.nanargmin(hi, axis=0)
    cols = np.arange(m.shape[1])

    def pick(frame: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        return frame.loc[:, enough].to_numpy(dtype=float)[pos, cols]

    m1, m2 = pick(summary.mean, hi_pos), pick(summary.mean, lo_pos)
    s1, s2 = pick(summary.sd, hi_pos), pick(summary.sd, lo_pos)
    n1, n2 = pick(summary.n, hi_pos), pick(summary.n, lo_pos)
    pooled = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(pooled > 0, (m1 - m2) / pooled, np.nan)
        p = stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=False).pvalue
    roles = m.index.to_numpy()
    out.loc[m.columns, "high"] = roles[hi_pos]
    out.loc[m.columns, "low"] = roles[lo_pos]
    out.loc[m.columns, "difference"] = (m1 - m2) / (scale.max - scale.min) * 100.0
    out.loc[m.columns, "effect_size"] = d
    out.loc[m.columns, "p_value"] = p
    return out


def divergent_items(
    bank: Bank,
    item_rwg: pd.DataFrame,
    item_icc: pd.DataFrame,
    group_scores: pd.DataFrame,
    item_role_gaps: pd.DataFrame,
) -> list[dict]:
    """Items on which perceptions diverge, most divergent first.

    Reads `item_rwg` (groups x items, reportable cells only, NaN elsewhere), `item_icc` (one row per
    item with `icc1` and `p`), `group_scores` (groups x items, 0-100 means of reportable cells) and
    `item_role_gaps` (from `role_gaps`). An item is listed when groups disagree internally, differ
    from each other, or roles differ; each entry says which (`reasons`) and by how much. Ranked by
    the number of reasons, then by their strength (each normalised to 0-1 and summed).
    """
    reportable = item_rwg.notna().sum(axis=0)
    below = (item_rwg < AGREEMENT_RWG).sum(axis=0)
    share_below = (below / reportable).where(reportable > 0)
    within = share_below >= DISAGREEMENT_SHARE
    icc1 = item_icc["icc1"].reindex(item_rwg.columns)
    p_groups = item_icc["p"].reindex(item_rwg.columns)
    between = (icc1 >= GROUP_EFFECT_ICC1) & (p_groups < SIGNIFICANCE)
    spread = group_scores.max(axis=0) - group_scores.min(axis=0)
    gaps = item_role_gaps.reindex(item_rwg.columns)
    effect = pd.to_numeric(gaps["effect_size"], errors="coerce")
    p_roles = pd.to_numeric(gaps["p_value"], errors="coerce")
    roles_differ = (effect.abs() >= ROLE_EFFECT_SIZE) & (p_roles < SIGNIFICANCE)

    strength = (
        share_below.where(within, 0.0).fillna(0.0)
        + (icc1 / 0.20).clip(upper=1.0).where(between, 0.0).fillna(0.0)
        + (effect.abs() / 0.8).clip(upper=1.0).where(roles_differ, 0.0).fillna(0.0)
    )
    n_reasons = within.astype(int) + between.astype(int) + roles_differ.astype(int)
    order = pd.DataFrame({"n": n_reasons, "s": strength}).sort_values(["n", "s"], ascending=False)
    listed: list[dict] = []
    for qid in order.index[order["n"] > 0]:
        reasons = [name for name, flag in (("disagree_within_groups", within[qid]),
                                           ("groups_differ", between[qid]),
                                           ("roles_differ", roles_differ[qid])) if flag]
        role_gap = None
        if pd.notna(gaps.at[qid, "high"]):
            role_gap = {
                "high": gaps.at[qid, "high"],
                "low": gaps.at[qid, "low"],
                "difference": gaps.at[qid, "difference"],
                "effect_size": gaps.at[qid, "effect_size"],
                "p_value": gaps.at[qid, "p_value"],
            }
        listed.append({
            "item": qid,
            "dimension": bank.question(qid).dimension,
            "lens": bank.question(qid).lens,
            "reasons": reasons,
            "strength": strength[qid],
            "reportable_groups": reportable[qid],
            "groups_below_agreement": below[qid],
            "share_below_agreement": share_below[qid],
            "icc1": icc1[qid],
            "groups_p_value": p_groups[qid],
            "group_spread": spread[qid],
            "role_gap": role_gap,
        })
    return listed

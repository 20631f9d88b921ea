"""Divergent perceptions item by item: teams split within themselves, teams that differ from each
other, and roles that differ.

Owns the tests that turn agreement statistics into a ranked list of items a lead should look at,
and their error control. Every item is tested three ways, so a bank of 50 items runs 150 tests
(and more with many teams or roles): at a plain p < .05 a few would fire on answers with no
differences at all. The tests therefore control the false discovery rate across items
(Benjamini-Hochberg) and, for roles, the family-wise error across all pairs of roles within an
item (Holm) before that. Only reportable (unsuppressed) groups and roles enter these figures, so
nothing here can name or be driven by a hidden cell.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import pandas as pd
from scipy import stats

from assessment.banks import Bank, Scale

from .scoring import Summary

# rwg >= .70 is the conventional reading of "the group agrees" (James, Demaree & Wolf 1984;
# LeBreton & Senter 2008). An item whose teams agree on average at that level is never flagged as
# disagreeing within teams, so that a dimension read as agreeing always has items that agree.
AGREEMENT_RWG = 0.70
# Error rate of every flag: the expected share of false flags among the flagged (BH), and for the
# pairs of roles within one item the chance of any false pair (Holm).
SIGNIFICANCE = 0.05
# ICC(1) of .05 and above marks a meaningful group effect in organisational surveys (Bliese 2000
# reports .05-.20 as typical); with large samples a trivial effect is also significant.
GROUP_EFFECT_ICC1 = 0.05
# Cohen's d of .5 is a "medium" effect: a gap a lead would notice in practice.
ROLE_EFFECT_SIZE = 0.5
EFFECT_SIZE_NAME = "Cohen's d with the pooled SD"


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of one family of p-values (NaN entries are not in the family),
    as R's `p.adjust(p, "holm")`."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    m = len(present)
    if m == 0:
        return out
    order = present[np.argsort(p[present], kind="stable")]
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(stepped, 1.0)
    return out


@overload
def benjamini_hochberg(p_values: pd.Series) -> pd.Series: ...
@overload
def benjamini_hochberg(p_values: pd.DataFrame) -> pd.DataFrame: ...
def benjamini_hochberg(p_values: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    """BH-adjusted p-values (q-values) over every non-NaN entry, same shape as the input; an entry
    is a discovery at false discovery rate q when its q-value is below q."""
    values = p_values.to_numpy(dtype=float)
    out = np.full(values.shape, np.nan)
    present = ~np.isnan(values)
    if present.any():
        out[present] = stats.false_discovery_control(values[present], method="bh")
    if isinstance(p_values, pd.DataFrame):
        return pd.DataFrame(out, index=p_values.index, columns=p_values.columns)
    return pd.Series(out, index=p_values.index)


def role_gaps(summary: Summary, hidden: pd.DataFrame, scale: Scale) -> pd.DataFrame:
    """The gap between the highest and the lowest reportable role mean, per column of a roles x
    columns summary, with a test that accounts for having picked the extremes.

    Reads `summary.n/mean/sd` (roles x items or roles x dimensions) and `hidden` (same shape, True
    for suppressed cells). Every pair of reportable roles is compared with Welch's t test; within
    a column the pairs' p-values are Holm-adjusted (the extreme pair is one of them, so its
    adjusted p is valid however it was chosen), and across columns the adjusted p-values are
    BH-adjusted. Returns one row per column with `high`, `low` (role names), `difference` (0-100
    points), `effect_size` (Cohen's d, pooled SD), `p_value` (Welch, the extreme pair alone),
    `p_adjusted` (Holm over the column's pairs), `q_value` (BH over columns) and `pairs`; NaN
    where fewer than two roles are reportable.
    """
    usable = ~hidden & (summary.n >= 2)
    columns = summary.mean.columns
    out = pd.DataFrame(index=columns, columns=["high", "low", "difference", "effect_size",
                                               "p_value", "p_adjusted", "q_value", "pairs"],
                       dtype=object)
    mean = summary.mean.where(usable).to_numpy(dtype=float)
    enough = (~np.isnan(mean)).sum(axis=0) >= 2
    if not enough.any():
        return out
    sd = summary.sd.to_numpy(dtype=float)
    n = summary.n.to_numpy(dtype=float)
    first, second = np.triu_indices(mean.shape[0], k=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pair_p = stats.ttest_ind_from_stats(mean[first], sd[first], n[first], mean[second],
                                            sd[second], n[second], equal_var=False).pvalue
    # Two roles whose answers have no spread at all: equal means do not differ, others do.
    flat = (sd[first] == 0) & (sd[second] == 0)
    pair_p = np.where(flat, np.where(mean[first] == mean[second], 1.0, 0.0), pair_p)
    pair_p = np.where(np.isnan(mean[first]) | np.isnan(mean[second]), np.nan, pair_p)
    adjusted = np.column_stack([holm(pair_p[:, c]) for c in range(len(columns))])
    roles = summary.mean.index.to_numpy()
    for c in np.flatnonzero(enough):
        hi, lo = np.nanargmax(mean[:, c]), np.nanargmin(mean[:, c])
        if hi == lo:  # every reportable role has the same mean
            lo = next(i for i in np.flatnonzero(~np.isnan(mean[:, c])) if i != hi)
        pooled = np.sqrt(((n[hi, c] - 1) * sd[hi, c] ** 2 + (n[lo, c] - 1) * sd[lo, c] ** 2)
                         / (n[hi, c] + n[lo, c] - 2))
        pair = np.flatnonzero((first == min(hi, lo)) & (second == max(hi, lo)))[0]
        difference = mean[hi, c] - mean[lo, c]
        out.iloc[int(c), :7] = [roles[hi], roles[lo], difference / (scale.max - scale.min) * 100.0,
                           difference / pooled if pooled > 0 else np.nan, pair_p[pair, c],
                           adjusted[pair, c], np.nan]
        out.iat[int(c), 7] = int((~np.isnan(pair_p[:, c])).sum())
    out["q_value"] = benjamini_hochberg(pd.to_numeric(out["p_adjusted"], errors="coerce"))
    return out


def split_teams(split_p: pd.DataFrame) -> pd.DataFrame:
    """Which reportable team x item cells are split beyond chance: True where the BH-adjusted
    p-value of the spread test (over every reportable cell of the analysis) is below
    `SIGNIFICANCE`. Reads groups x items p-values from `agreement.split_p_values`, NaN for cells
    not shown or not tested."""
    return benjamini_hochberg(split_p) < SIGNIFICANCE


def divergent_items(
    bank: Bank,
    item_rwg: pd.DataFrame,
    item_split: pd.DataFrame | None,
    item_icc: pd.DataFrame,
    group_scores: pd.DataFrame,
    item_role_gaps: pd.DataFrame,
) -> list[dict[str, Any]]:
    """Items on which perceptions diverge, most divergent first.

    Reads `item_rwg` (groups x items, reportable cells only, NaN elsewhere), `item_split` (same
    shape, True where a team is split beyond chance, from `split_teams`; None when answers are not
    on the answer scale, so no split is judged), `item_icc` (one row per item with `icc1` and `p`,
    from reportable groups only), `group_scores` (groups x items, 0-100 means of reportable cells)
    and `item_role_gaps` (from `role_gaps`). An item is listed when at least one team is split
    within itself and the teams do not agree on it on average (mean rwg below .70); when teams
    differ (BH-adjusted ANOVA p < .05 and ICC(1) >= .05); or when roles differ (Holm- then
    BH-adjusted p < .05 and |d| >= .5). Each entry says which (`reasons`) and by how much. Ranked
    by the number of reasons, then by their strength (each normalised to 0-1 and summed).
    """
    reportable = item_rwg.notna().sum(axis=0)
    below = (item_rwg < AGREEMENT_RWG).sum(axis=0)
    share_below = (below / reportable).where(reportable > 0)
    rwg_mean = item_rwg.mean(axis=0)
    if item_split is None:
        split = pd.Series(0, index=item_rwg.columns)
    else:
        split = item_split.reindex(index=item_rwg.index, columns=item_rwg.columns,
                                   fill_value=False).fillna(False).astype(bool).sum(axis=0)
    share_split = (split / reportable).where(reportable > 0).fillna(0.0)
    within = (split > 0) & (rwg_mean < AGREEMENT_RWG)
    icc1 = item_icc["icc1"].reindex(item_rwg.columns)
    p_groups = item_icc["p"].reindex(item_rwg.columns)
    q_groups = benjamini_hochberg(p_groups)
    between = (icc1 >= GROUP_EFFECT_ICC1) & (q_groups < SIGNIFICANCE)
    spread = group_scores.max(axis=0) - group_scores.min(axis=0)
    gaps = item_role_gaps.reindex(item_rwg.columns)
    effect = pd.to_numeric(gaps["effect_size"], errors="coerce")
    q_roles = pd.to_numeric(gaps["q_value"], errors="coerce")
    roles_differ = (effect.abs() >= ROLE_EFFECT_SIZE) & (q_roles < SIGNIFICANCE)

    strength = (
        share_split.where(within, 0.0)
        + (icc1 / 0.20).clip(upper=1.0).where(between, 0.0).fillna(0.0)
        + (effect.abs() / 0.8).clip(upper=1.0).where(roles_differ, 0.0).fillna(0.0)
    )
    n_reasons = within.astype(int) + between.astype(int) + roles_differ.astype(int)
    order = pd.DataFrame({"n": n_reasons, "s": strength}).sort_values(["n", "s"], ascending=False)
    listed: list[dict[str, Any]] = []
    for qid in order.index[order["n"] > 0]:
        reasons = [name for name, flag in (("disagree_within_groups", within[qid]),
                                           ("groups_differ", between[qid]),
                                           ("roles_differ", roles_differ[qid])) if flag]
        role_gap = None
        if pd.notna(gaps.at[qid, "high"]):
            role_gap = {key: gaps.at[qid, key] for key in
                        ("high", "low", "difference", "effect_size", "p_value", "p_adjusted",
                         "q_value", "pairs")}
        listed.append({
            "item": qid,
            "dimension": bank.question(qid).dimension,
            "lens": bank.question(qid).lens,
            "reasons": reasons,
            "strength": strength[qid],
            "reportable_groups": reportable[qid],
            "groups_below_agreement": below[qid],
            "share_below_agreement": share_below[qid],
            "groups_split": int(split[qid]),
            "rwg_mean": rwg_mean[qid],
            "icc1": icc1[qid],
            "groups_p_value": p_groups[qid],
            "groups_q_value": q_groups[qid],
            "group_spread": spread[qid],
            "role_gap": role_gap,
        })
    return listed

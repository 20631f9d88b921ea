"""Within-group agreement and reliability: rwg, rwg(j), AD(M), ICC(1), ICC(2), Cronbach's alpha.

Definitions follow the R package `multilevel` (Bliese), the reference implementation in
organisational research:

- rwg (James, Demaree & Wolf 1984): `1 - s2 / sigma2`, `s2` the group's sample variance (n-1)
  capped at `sigma2`, `sigma2 = (A*A - 1) / 12` the variance of the uniform null for A options;
  NaN for a group with fewer than two answers.
- rwg(j): `J(1 - m/sigma2) / (J(1 - m/sigma2) + m/sigma2)`, `m` the mean of the J item variances,
  capped at `sigma2` (the cap applies to the mean, as in `multilevel::rwg.j`).
- AD(M) (Burke & Dunlap 2002): mean absolute deviation from the group mean, divisor n, averaged
  over items for a dimension; NaN for a group of one.
- ICC(1) and ICC(2) (Bliese 2000) from a one-way ANOVA on group:
  `ICC1 = (MSB - MSW) / (MSB + (k - 1) MSW)` with k = N / G the mean group size, and
  `ICC2 = (MSB - MSW) / MSB`.
- Cronbach's alpha: `J / (J - 1) * (1 - sum of item variances / variance of the total)`.

With missing answers ("don't know") the R functions drop incomplete rows (listwise). Here each item
uses every answer it has (pairwise): item variances for rwg(j) and AD(M) per item, and the pairwise
covariance matrix for alpha (as `psych::alpha` does). On complete data both give the same numbers;
with "don't know" allowed, listwise deletion would throw away most respondents of a long dimension.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .scoring import GroupMoments


def null_variance(n_options: int) -> float:
    """Variance of the uniform ("no agreement") distribution over `n_options` answer options."""
    return (n_options * n_options - 1) / 12.0


def rwg(moments: GroupMoments, null_var: float) -> pd.DataFrame:
    """rwg per group and item: groups x items, NaN where a group has fewer than two answers.

    Reads `moments.var` (sample variances per group and item).
    """
    return 1.0 - moments.var.clip(upper=null_var) / null_var


def rwg_j(moments: GroupMoments, null_var: float, columns: list[str]) -> pd.Series:
    """rwg(j) per group over the items `columns` (the items of one dimension).

    J counts the items with a variance in that group, so an item nobody in the group answered twice
    does not count; NaN where no item has one.
    """
    variances = moments.var[columns]
    j = variances.notna().sum(axis=1)
    ratio = variances.mean(axis=1).clip(upper=null_var) / null_var
    out = j * (1.0 - ratio) / (j * (1.0 - ratio) + ratio)
    return out.where(j > 0)


def ad_m(values: pd.DataFrame, groups: pd.Series, moments: GroupMoments) -> pd.DataFrame:
    """AD(M) per group and item: mean absolute deviation from the group mean (divisor n).

    Reads the columns of `values` and the group means in `moments` (built from the same `values`
    and `groups`); returns groups x items, NaN where a group has fewer than two answers. A
    dimension's AD(M) is the row mean over its items.
    """
    codes = pd.Categorical(groups, categories=moments.mean.index).codes
    group_means = moments.mean.to_numpy(dtype=float)[codes]
    deviation = pd.DataFrame(np.abs(values.to_numpy(dtype=float) - group_means),
                             index=values.index, columns=values.columns)
    out = deviation.groupby(groups, observed=True, sort=True).mean()
    return out.reindex(moments.count.index).where(moments.count >= 2)


def icc(moments: GroupMoments) -> pd.DataFrame:
    """ICC(1), ICC(2) and the ANOVA F test per column, from a one-way ANOVA on group.

    Reads the per-group count, mean and variance of each column; groups with no value in a column
    do not count towards G for it. Returns one row per column with `icc1`, `icc2`, `f`, `p`,
    `groups` (G) and `n` (N). NaN where fewer than two groups or no within-group degrees of freedom.
    """
    n = moments.count.astype(float)
    present = n > 0
    g = present.sum(axis=0).astype(float)
    total = n.sum(axis=0)
    weighted = (moments.mean * n).sum(axis=0)
    grand = weighted / total
    ssb = (n * (moments.mean - grand) ** 2).sum(axis=0)
    ssw = ((n - 1) * moments.var.fillna(0.0)).sum(axis=0)
    df_between = g - 1
    df_within = total - g
    valid = (df_between > 0) & (df_within > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        msb = (ssb / df_between).where(valid)
        msw = (ssw / df_within).where(valid)
        k = total / g
        icc1 = (msb - msw) / (msb + (k - 1) * msw)
        icc2 = ((msb - msw) / msb).where(msb > 0)
        f = (msb / msw).where(msw > 0)
    p = pd.Series(stats.f.sf(f.to_numpy(dtype=float), df_between, df_within), index=f.index)
    return pd.DataFrame({"icc1": icc1, "icc2": icc2, "f": f, "p": p.where(f.notna()),
                         "groups": g, "n": total})


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of the columns of `items` (one dimension's scored items).

    Uses the pairwise covariance matrix; NaN with fewer than two usable items or no total variance.
    """
    usable = items.loc[:, items.count() >= 2]
    j = usable.shape[1]
    if j < 2:
        return float("nan")
    cov = usable.cov(min_periods=2).to_numpy(dtype=float)
    if np.isnan(cov).any():
        return float("nan")
    total = cov.sum()
    if total <= 0:
        return float("nan")
    return float(j / (j - 1) * (1.0 - np.trace(cov) / total))

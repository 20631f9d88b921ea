"""Within-group agreement and reliability: rwg, rwg(j), AD(M), ICC(1), ICC(2), Cronbach's alpha,
and what random answering would give, so that agreement is judged against chance.

Definitions follow the R package `multilevel` (Bliese), the reference implementation in
organisational research:

- rwg (James, Demaree & Wolf 1984): `1 - s2 / sigma2`, `s2` the group's sample variance (n-1)
  capped at `sigma2`, `sigma2 = (A*A - 1) / 12` the variance of the uniform null for A options;
  NaN for a group with fewer than two answers. The same against LeBreton & Senter's (2008)
  slightly skewed null, whose variances they tabulate for 5 to 11 options.
- rwg(j): `J(1 - m/sigma2) / (J(1 - m/sigma2) + m/sigma2)`, `m` the mean of the J item variances,
  capped at `sigma2` (the cap applies to the mean, as in `multilevel::rwg.j`). rwg(j) rises with
  J by the Spearman-Brown formula (at J = 10 it reaches .70 when single items agree at .19), so
  consensus is not read from it: see `item_agreement`.
- Item-level agreement of a dimension: the mean of its items' rwg. Without a capped item it is
  Lindell, Brandt & Whitney's (1999) r*wg(j) = `1 - m/sigma2` (`multilevel::rwg.j.lindell`),
  which does not grow with J; with the cap per item it is also exactly the mean of the values
  shown for the items, so a dimension's agreement cannot contradict its items'.
- AD(M) (Burke & Dunlap 2002): mean absolute deviation from the group mean, divisor n, averaged
  over items for a dimension; NaN for a group of one. Burke & Dunlap read AD(M) <= c/6 (c answer
  options) as agreement.
- ICC(1) and ICC(2) (Bliese 2000) from a one-way ANOVA on group:
  `ICC1 = (MSB - MSW) / (MSB + (k - 1) MSW)` with k = N / G the mean group size (as
  `multilevel::ICC1`; the n0 of unbalanced designs would differ a little), and
  `ICC2 = (MSB - MSW) / MSB`. The reliability of one team's own mean is the Spearman-Brown
  `n ICC1 / (1 + (n - 1) ICC1)` at that team's n.
- Cronbach's alpha: `J / (J - 1) * (1 - sum of item variances / variance of the total)`.
- Random answering: every person picks one of the A options with equal probability, on each item
  independently (`multilevel::rwg.sim` and `rwg.j.sim`). Simulated once per process for each
  team size, number of items and number of options, from a seed fixed by those three numbers,
  so that the same data give the same verdicts in every process.

Missing answers ("don't know") are handled pairwise, as `psych::alpha` does: each item uses every
answer it has (item variances for rwg, rwg(j) and AD(M); J counts the items with two or more
answers in the group), and alpha uses the pairwise covariance matrix. `multilevel` 2.7 (the
release on CRAN and in Debian) drops incomplete rows instead; the tests reproduce the pairwise
figures in R item by item (`var(x, na.rm = TRUE)`). On complete data both agree; with "don't
know" allowed, listwise deletion would throw away most respondents of a long dimension.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

from .scoring import GroupMoments

# Variance of LeBreton & Senter's (2008, Table 3) slightly skewed null, by number of options: the
# answers of people with no shared view but a mild leniency, as in most surveys. (For 5 options:
# proportions .05, .15, .20, .35, .25, variance 1.34.) Not tabulated below 5 or above 11 options.
SLIGHTLY_SKEWED_VARIANCE: dict[int, float] = {
    5: 1.34, 6: 1.85, 7: 2.90, 8: 3.47, 9: 5.66, 10: 6.30, 11: 7.31,
}
# A team agrees beyond chance when its rwg or rwg(j) is above what random answering reaches in
# 95% of teams of its size (`multilevel::rwg.sim`'s rwg.95, Dunlap et al. 2003); a team is split
# when its answers are more spread than random answering gives in 5% of teams.
CHANCE_LEVEL = 0.05
CHANCE_DRAWS = 10_000
# p-values resting on fewer than this many simulated exceedances are refined with more draws.
CHANCE_MIN_EXCEEDANCES = 20
CHANCE_REFINE = 20
CHANCE_SEED = 1984  # James, Demaree & Wolf
# Teams of this size and more are simulated at their size rounded to two significant digits
# (470 for 473): what random answering gives changes too little between neighbouring sizes to
# matter, and one simulation then serves many teams.
EXACT_SIZE_BELOW = 100


def simulated_size(n: int) -> int:
    """The team size whose simulation stands for a team of `n` people."""
    if n < EXACT_SIZE_BELOW:
        return int(n)
    return int(round(n, 2 - len(str(int(n)))))


def null_variance(n_options: int) -> float:
    """Variance of the uniform ("no agreement") distribution over `n_options` answer options."""
    return (n_options * n_options - 1) / 12.0


def slightly_skewed_variance(n_options: int) -> float | None:
    """Variance of LeBreton & Senter's slightly skewed null; None where they do not tabulate it."""
    return SLIGHTLY_SKEWED_VARIANCE.get(n_options)


@lru_cache(maxsize=4096)
def random_answer_variances(n: int, n_options: int, draws: int = CHANCE_DRAWS) -> np.ndarray:
    """Sorted sample variances (n-1) of `n` people answering one item at random.

    Drawn as multinomial counts over the options; the seed is fixed by the arguments, so every
    process gets the same array. Read-only. Callers pass `simulated_size(n)`.
    """
    rng = np.random.default_rng([CHANCE_SEED, n, n_options, draws])
    counts = rng.multinomial(n, np.full(n_options, 1.0 / n_options), size=draws)
    points = np.arange(1, n_options + 1, dtype=float)
    sums = counts @ points
    squares = counts @ (points * points)
    variances = np.maximum(squares - sums * sums / n, 0.0) / (n - 1)
    variances.sort()
    variances.setflags(write=False)
    return variances


@lru_cache(maxsize=4096)
def rwg_chance(n: int, n_options: int) -> float:
    """The rwg that random answering by `n` people reaches in 95% of teams (its 95th percentile);
    a team agrees beyond chance above it. NaN below two people."""
    if n < 2:
        return float("nan")
    null_var = null_variance(n_options)
    variances = random_answer_variances(simulated_size(n), n_options)
    rwgs = 1.0 - np.minimum(variances, null_var) / null_var
    return float(np.quantile(rwgs, 1.0 - CHANCE_LEVEL, method="inverted_cdf"))


@lru_cache(maxsize=4096)
def rwg_j_chance(n: int, n_items: int, n_options: int) -> float:
    """The rwg(j) that random answering by `n` people on `n_items` independent items reaches in
    95% of teams (`multilevel::rwg.j.sim` without item correlations). NaN below two people."""
    if n < 2 or n_items < 1:
        return float("nan")
    null_var = null_variance(n_options)
    size = simulated_size(n)
    variances = random_answer_variances(size, n_options)
    rng = np.random.default_rng([CHANCE_SEED, size, n_items, n_options])
    mean = variances[rng.integers(0, len(variances), (CHANCE_DRAWS, n_items))].mean(axis=1)
    ratio = np.minimum(mean, null_var) / null_var
    values = n_items * (1.0 - ratio) / (n_items * (1.0 - ratio) + ratio)
    return float(np.quantile(values, 1.0 - CHANCE_LEVEL, method="inverted_cdf"))


def chance_rwg(counts: pd.DataFrame, n_options: int) -> pd.DataFrame:
    """`rwg_chance` for every cell of a groups x items frame of answer counts (NaN below two)."""
    values = counts.to_numpy(dtype=float)
    out = np.full(values.shape, np.nan)
    for n in np.unique(values[values >= 2]):
        out[values == n] = rwg_chance(simulated_size(int(n)), n_options)
    return pd.DataFrame(out, index=counts.index, columns=counts.columns)


def split_p_values(moments: GroupMoments, n_options: int) -> pd.DataFrame:
    """Per group and item, the chance that random answering spreads `n` people's answers at least
    as widely as the group's: small values mean a team split beyond what chance gives.

    Reads `moments.count` and `moments.var`; NaN where a group has fewer than two answers. The
    p-value counts the observed variance among the simulated ones, `(1 + exceedances) / (1 +
    draws)`; where fewer than `CHANCE_MIN_EXCEEDANCES` simulated values reach it, it is recounted
    among twenty times as many draws.
    """
    counts = moments.count.to_numpy(dtype=float)
    observed = moments.var.to_numpy(dtype=float)
    out = np.full(counts.shape, np.nan)
    usable = (counts >= 2) & ~np.isnan(observed)
    sizes = np.where(usable, counts, 0).astype(int)
    simulated = np.vectorize(simulated_size)(sizes)
    for size in np.unique(simulated[usable]):
        cells = usable & (simulated == size)
        wanted = observed[cells] - 1e-9  # the same variance computed two ways may differ by ulps
        p = _upper_tail(random_answer_variances(int(size), n_options), wanted)
        thin = p * (CHANCE_DRAWS + 1) < CHANCE_MIN_EXCEEDANCES + 1
        if thin.any():
            finer = random_answer_variances(int(size), n_options, CHANCE_DRAWS * CHANCE_REFINE)
            p[thin] = _upper_tail(finer, wanted[thin])
        out[cells] = p
    return pd.DataFrame(out, index=moments.count.index, columns=moments.count.columns)


def _upper_tail(sorted_draws: np.ndarray, values: np.ndarray) -> np.ndarray:
    exceed = len(sorted_draws) - np.searchsorted(sorted_draws, values, side="left")
    return (1.0 + exceed) / (1.0 + len(sorted_draws))


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


def item_agreement(item_rwg: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Per group, the mean rwg of a dimension's items `columns` (groups x items in `item_rwg`).

    The dimension's agreement on the scale of its items: Lindell et al.'s r*wg(j) = 1 - m/sigma2
    when no item's variance reaches the null (`multilevel::rwg.j.lindell`), and with each item
    capped as its rwg is, the plain mean of the item figures shown beside it. NaN where the group
    has no item rwg.
    """
    return item_rwg[columns].mean(axis=1)


def rwg_j_lindell(moments: GroupMoments, null_var: float, columns: list[str]) -> pd.Series:
    """Lindell, Brandt & Whitney's r*wg(j) per group: `1 - m / sigma2`, m the mean item variance,
    uncapped (negative when the group is more spread than random answering)."""
    return 1.0 - moments.var[columns].mean(axis=1) / null_var


def ad_m_cutoff(n_options: int) -> float:
    """Burke & Dunlap's (2002) upper limit for agreement on AD(M): c/6 for c answer options."""
    return n_options / 6.0


def team_reliability(n: pd.Series | pd.DataFrame, icc1: float | pd.Series
                     ) -> pd.Series | pd.DataFrame:
    """Reliability of each team's own mean, the Spearman-Brown `n ICC1 / (1 + (n - 1) ICC1)` at its
    own size n (ICC(2) is the same at the mean team size). A negative ICC(1) counts as 0: the
    teams' means then carry no team-level signal at all."""
    rho = icc1.clip(lower=0.0) if isinstance(icc1, pd.Series) else np.clip(icc1, 0.0, None)
    return n * rho / (1.0 + (n - 1) * rho)


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
    `groups` (G), `n` (N) and `k` (N / G, the group size ICC(1) uses). NaN where fewer than two
    groups or no within-group degrees of freedom.

    The engine passes the moments of shown groups only (`GroupMoments.shown`): computed over all
    groups, ICC(2) with the published overall and per-group n, mean and SD fixes the between- and
    within-group sums of squares, and subtracting the shown groups gives away a hidden group's
    size and mean.
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
                         "groups": g, "n": total, "k": k.where(valid)})


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

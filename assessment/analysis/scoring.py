"""Scores: reverse scoring, respondent dimension and lens scores, and descriptive summaries.

Owns the arithmetic every other part of the analysis builds on: how an answer becomes a score
(reverse items flipped as `min + max - x`, "don't know" excluded), how a respondent's dimension
score is formed (mean of the answered items, given at least half of them are answered), and how a
set of scores is summarised per group (n, mean, SD, 95% CI within the scale, 0-100 score).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
from scipy import stats

from assessment.banks import Bank, Scale

LENS_SEPARATOR = ":"
DONT_KNOW = "dont_know"
# A respondent's dimension (or lens) score needs answers to at least this share of its items: a
# score from one answer out of ten says more about that statement than about the dimension.
MIN_ANSWERED_SHARE = 0.5


def lens_column(dimension_id: str, lens: str) -> str:
    """Name of the respondent-score column of one lens of one dimension (`data:architecture`)."""
    return f"{dimension_id}{LENS_SEPARATOR}{lens}"


def reverse_score(answers: pd.DataFrame, bank: Bank) -> pd.DataFrame:
    """Flip the bank's reverse-scored items so that a higher value always means a better state.

    Reads the question-id columns of `answers` (raw answers, NaN = don't know) and returns a new
    frame of the same shape; the input is not modified.
    """
    scored = answers.copy()
    reversed_ids = [q.id for q in bank.questions if q.reverse and q.id in scored.columns]
    if reversed_ids:
        scored[reversed_ids] = bank.scale.min + bank.scale.max - scored[reversed_ids]
    return scored


def score_respondents(scored: pd.DataFrame, bank: Bank) -> pd.DataFrame:
    """Each respondent's dimension scores and lens scores: the mean of their answered items.

    Reads the question-id columns of `scored` (already reverse-scored). Returns one row per
    respondent with a column per dimension id, then one `dimension:lens` column for each lens that
    the dimension's questions use. A respondent who answered fewer than `MIN_ANSWERED_SHARE` of a
    set's items gets NaN there. Computed as two matrix products (sums and counts), so the cost is
    linear in respondents.
    """
    columns: list[str] = [d.id for d in bank.dimensions]
    for d in bank.dimensions:
        for lens in ("architecture", "operating_model"):
            if any(q.lens == lens for q in bank.questions_in(d.id)):
                columns.append(lens_column(d.id, lens))
    position = {name: i for i, name in enumerate(columns)}
    membership = np.zeros((len(bank.questions), len(columns)))
    for row, q in enumerate(bank.questions):
        membership[row, position[q.dimension]] = 1.0
        if q.lens is not None:
            membership[row, position[lens_column(q.dimension, q.lens)]] = 1.0
    values = scored[bank.question_ids].to_numpy(dtype=float)
    answered = ~np.isnan(values)
    sums = np.where(answered, values, 0.0) @ membership
    counts = answered.astype(float) @ membership
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    enough = counts >= MIN_ANSWERED_SHARE * membership.sum(axis=0)
    return pd.DataFrame(np.where(enough & (counts > 0), means, np.nan), index=scored.index,
                        columns=columns)


Points = TypeVar("Points", pd.DataFrame, "pd.Series[float]", float)


def to_points(mean: Points, scale: Scale) -> Points:
    """A mean on the answer scale as 0-100 points: `(mean - min) / (max - min) * 100`."""
    return (mean - scale.min) / (scale.max - scale.min) * 100.0


@dataclass(frozen=True)
class GroupMoments:
    """Count, mean and sample variance of every column within every group.

    `count`, `mean` and `var` are frames with one row per group (in the order of the grouping key's
    categories) and the columns of the input. `var` uses the n-1 divisor and is NaN where a group
    has fewer than two values. Computed once and shared by the summaries, rwg, rwg(j) and ICC.
    """

    count: pd.DataFrame
    mean: pd.DataFrame
    var: pd.DataFrame

    @classmethod
    def of(cls, values: pd.DataFrame, keys: pd.Series | list[pd.Series] | None) -> GroupMoments:
        """Moments of `values` by `keys` (one Series, a list for a crossed breakdown, or None for a
        single row labelled "all")."""
        if keys is None:
            keys = pd.Series("all", index=values.index)
        grouped = values.groupby(keys, observed=True, sort=True)
        count = grouped.count()
        return cls(count=count, mean=grouped.mean(), var=grouped.var(ddof=1).where(count >= 2))

    def shown(self, hidden: pd.DataFrame) -> GroupMoments:
        """The same moments with the cells marked in `hidden` (groups x columns) emptied, so
        that statistics combining groups see only the groups a reader sees."""
        mask = hidden.reindex(index=self.count.index, columns=self.count.columns,
                              fill_value=True).to_numpy(dtype=bool)
        return GroupMoments(count=self.count.mask(mask, 0), mean=self.mean.mask(mask),
                            var=self.var.mask(mask))


@dataclass(frozen=True)
class Summary:
    """Descriptive statistics per group and column: n, mean, sd, 95% CI of the mean, 0-100 score.

    Every attribute is a frame shaped like the moments it was built from (groups x columns).
    The CI is the t interval `mean +- t(.975, n-1) * sd / sqrt(n)`, NaN below two values, cut at
    the ends of the scale: a mean cannot lie outside it, so the part of the interval beyond the
    scale holds no possible value (the cut interval still covers the mean at least 95% of the time).
    """

    n: pd.DataFrame
    mean: pd.DataFrame
    sd: pd.DataFrame
    ci_low: pd.DataFrame
    ci_high: pd.DataFrame
    score: pd.DataFrame

    @classmethod
    def of(cls, moments: GroupMoments, scale: Scale) -> Summary:
        n = moments.count
        # numpy's ufuncs keep a frame a frame; pandas-stubs type them as returning arrays.
        sd = cast(pd.DataFrame, np.sqrt(moments.var))
        with np.errstate(invalid="ignore", divide="ignore"):
            t = pd.DataFrame(stats.t.ppf(0.975, n.to_numpy(dtype=float) - 1),
                             index=n.index, columns=n.columns)
            half = t * sd / np.sqrt(n)
        return cls(
            n=n,
            mean=moments.mean,
            sd=sd,
            ci_low=(moments.mean - half).clip(lower=scale.min),
            ci_high=(moments.mean + half).clip(upper=scale.max),
            score=to_points(moments.mean, scale),
        )

    def column(self, column: str) -> dict[Any, dict[str, Any]]:
        """The statistics of every group for one column, as plain dicts keyed by group."""
        n, mean, sd = (frame[column].tolist() for frame in (self.n, self.mean, self.sd))
        low, high, score = (frame[column].tolist()
                            for frame in (self.ci_low, self.ci_high, self.score))
        return {key: {"n": n[i], "mean": mean[i], "sd": sd[i], "ci95": [low[i], high[i]],
                      "score": score[i]}
                for i, key in enumerate(self.n.index)}


def answer_distribution(scored: pd.DataFrame, scale: Scale) -> pd.DataFrame:
    """How many answers fell on each scale point, and how many were "don't know", per item.

    Reads every column of `scored`; returns a frame with one row per scale point (labelled by the
    point as a string) plus a `dont_know` row, and one column per item. Non-integer values
    (pre-scored data from other tools) are counted at the nearest scale point.
    """
    values = scored.to_numpy(dtype=float)
    nearest = np.rint(values)
    rows = {str(point): (nearest == point).sum(axis=0) for point in scale.points}
    rows[DONT_KNOW] = np.isnan(values).sum(axis=0)
    return pd.DataFrame(rows, index=scored.columns).T

"""The whole analysis in one call: answers, groups, roles and a bank in, what a lead reads out.

Owns the order of the stages (suppression, items, dimensions, divergence and clusters,
alignment, facts, recommendations and readiness) and the assembly of the typed result
(`result.AnalysisResult`) shared by the `analyze` command, the web dashboards and the API. Each
stage is a function of what earlier stages returned, so none can read what has not been computed
yet. Every group, role and group x role cell passes through `confidentiality` before it is
written into the result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import pandas as pd

from assessment.banks import Bank, Scale

from .agreement import (
    CHANCE_LEVEL,
    ad_m,
    ad_m_cutoff,
    chance_rwg,
    cronbach_alpha,
    icc,
    item_agreement,
    null_variance,
    rwg,
    rwg_j,
    rwg_j_chance,
    slightly_skewed_variance,
    split_p_values,
    team_reliability,
)
from .alignment import (
    CONSENSUS_THRESHOLD,
    MIN_BEYOND_CHANCE_SHARE,
    RELIABILITY_THRESHOLD,
    WEAK_CONSENSUS,
    align,
    consensus_reading,
    weighted_mean,
)
from .clustering import PerceptionClusters, describe_clusters
from .confidentiality import suppressed_cells, suppressed_keys
from .divergence import EFFECT_SIZE_NAME, SIGNIFICANCE, divergent_items, role_gaps, split_teams
from .inputs import AnalysisInput
from .result import (
    AgreementTerms,
    AnalysisResult,
    BankRef,
    Clusters,
    DimensionResult,
    Divergence,
    DivergentItem,
    ItemGroupCell,
    ItemResult,
    Overall,
    Readiness,
    RecommendationResult,
    ScaleRef,
    Stats,
    Suppressed,
    SuppressedNames,
)
from .rules import Facts, readiness, recommend
from .scoring import GroupMoments, Summary, answer_distribution, lens_column, score_respondents

SUPPRESSED = Suppressed(suppressed=True)
SUPPRESSED_JSON = {"suppressed": True}
EVIDENCE_ITEMS = 3
EVIDENCE_GROUPS = 3


def analyze(
    answers: pd.DataFrame,
    bank: Bank,
    *,
    groups: pd.Series,
    roles: pd.Series | None = None,
    min_group_size: int = 5,
    response_rate: float | None = None,
    random_state: int = 0,
    always_hidden: Mapping[str, Collection[Any]] | None = None,
) -> AnalysisResult:
    """Analyse one assessment's answers against its bank.

    `answers`: index = respondent id, a column per question id (raw values on the bank's scale,
    NaN = don't know; reverse items are flipped here). `groups` / `roles`: each respondent's team
    and role as strings, on the same index. Cells below `min_group_size` respondents are
    suppressed everywhere. `response_rate` (0-1) is passed to the rules as a fact when known.
    `always_hidden` (`{"groups": [...], "roles": [...], "group_roles": [[group, role], ...]}`)
    names cells to suppress whatever their size: those an earlier release of the same
    assessment suppressed, which must stay hidden (the field `suppressed` of the result lists
    what this run hid, for the next one).
    Returns the typed result (see `result.AnalysisResult`; `to_json()` gives its JSON form).
    """
    if min_group_size < 1:
        raise ValueError("min_group_size must be at least 1")
    data = AnalysisInput.prepare(answers, bank, groups=groups, roles=roles)
    settings = Settings.of(data, min_group_size, response_rate, random_state)
    return run_stages(data, settings, always_hidden or {})


def _rows_hidden(keys_hidden: pd.Series, columns: pd.Index) -> pd.DataFrame:
    """A frame (keys x columns) that is True on the rows of hidden keys."""
    return pd.DataFrame(np.repeat(keys_hidden.to_numpy(dtype=bool)[:, None], len(columns), axis=1),
                        index=keys_hidden.index, columns=columns)


# -- the stages -------------------------------------------------------------------------------
#
# Each stage is a function of the outputs of earlier stages and returns its own, a frozen
# dataclass: the order they run in is the order their inputs are available, and none can read
# what a later one computes.


@dataclass(frozen=True)
class Settings:
    """What every stage reads: the bank, the suppression threshold and the agreement nulls."""

    bank: Bank
    k: int
    response_rate: float | None
    random_state: int
    options: int
    null_var: float
    skewed_var: float | None
    # Answers off the answer scale's points (pre-scored data from another tool) have no
    # random-answering null: rwg is still computed but not judged against chance.
    pre_scored: bool

    @classmethod
    def of(cls, data: AnalysisInput, min_group_size: int, response_rate: float | None,
           random_state: int) -> Settings:
        scale = data.bank.scale
        options = scale.max - scale.min + 1
        values = data.answers.to_numpy(dtype=float)
        return cls(bank=data.bank, k=min_group_size, response_rate=response_rate,
                   random_state=random_state, options=options,
                   null_var=null_variance(options),
                   skewed_var=slightly_skewed_variance(options),
                   pre_scored=bool(np.any(values[~np.isnan(values)] % 1 != 0)))

    @property
    def scale(self) -> Scale:
        return self.bank.scale

    def breakdown_hidden(self, counts: pd.DataFrame, keys_hidden: pd.Series) -> pd.DataFrame:
        """Cells of a keys x columns breakdown to hide: hidden keys' rows, then cells with fewer
        than k values in each column, with complementary suppression per column."""
        rows = _rows_hidden(keys_hidden.reindex(counts.index, fill_value=True), counts.columns)
        return suppressed_cells(counts, self.k, hidden=rows, lines=(0,))


@dataclass(frozen=True)
class Membership:
    """Which groups, roles and group x role cells are hidden, and the input with the members of
    hidden groups left out of the roles."""

    data: AnalysisInput
    group_hidden: pd.Series
    role_hidden: pd.Series | None
    cell_hidden: pd.DataFrame | None

    def suppressed_names(self) -> SuppressedNames:
        """The teams, roles and team x role cells this run hid, by name."""
        cells: list[tuple[str, str]] = []
        if self.cell_hidden is not None:
            stacked = self.cell_hidden.stack()
            cells = [(str(g), str(r)) for g, r in stacked.index[stacked.to_numpy(dtype=bool)]]
        return SuppressedNames(
            groups=[str(g) for g, hide in self.group_hidden.items() if hide],
            roles=([] if self.role_hidden is None else
                   [str(r) for r, hide in self.role_hidden.items() if hide]),
            group_roles=cells)


def hide_small_cells(data: AnalysisInput, settings: Settings,
                     forced: Mapping[str, Collection[Any]]) -> Membership:
    """Which groups, roles and group x role cells are hidden by their number of members.

    Respondents of a hidden group are then left out of every role breakdown (they count only
    in the overall figures). Group and role tables are linked through their shared members:
    with a hidden group's people inside the role figures, the role totals, the shown groups
    and the overall total together pin a hidden group's mean down to within one person's
    answer. Left out, nothing shown beyond the overall total depends on a hidden group, and
    the overall total minus the shown groups covers all hidden groups together, which
    complementary suppression keeps at `min_group_size` people or more."""
    k = settings.k
    groups, roles = data.groups, data.roles
    group_hidden = suppressed_keys(groups.value_counts(sort=False), k, forced.get("groups", ()))
    if roles is None:
        return Membership(data, group_hidden, None, None)
    in_hidden_group = groups.map(group_hidden).astype(bool).to_numpy()
    roles = roles.where(~in_hidden_group)
    role_hidden = suppressed_keys(roles.value_counts(sort=False), k, forced.get("roles", ()))
    crossed = pd.crosstab(groups, roles)
    hidden = (_rows_hidden(group_hidden, crossed.columns)
              | _rows_hidden(role_hidden, crossed.index).T)
    for pair in forced.get("group_roles", ()):
        g, r = (str(x) for x in pair)
        if g in hidden.index and r in hidden.columns:
            hidden.at[g, r] = True
    cell_hidden = suppressed_cells(crossed, k, hidden=hidden, lines=(0, 1))
    return Membership(replace(data, roles=roles), group_hidden, role_hidden, cell_hidden)


@dataclass(frozen=True)
class ItemStage:
    """Every item's statistics: the frames later stages read, and the items of the result."""

    moments: GroupMoments
    hidden: pd.DataFrame  # groups x items
    rwg: pd.DataFrame
    rwg_skewed: pd.DataFrame | None
    rwg_shown: pd.DataFrame
    ad: pd.DataFrame
    icc: pd.DataFrame
    split: pd.DataFrame | None
    group_scores: pd.DataFrame
    scores: pd.Series  # overall 0-100 score per item
    role_gaps: pd.DataFrame
    entries: dict[str, ItemResult]


def score_items(settings: Settings, membership: Membership) -> ItemStage:
    """Item statistics overall, per shown team (with agreement) and per shown role."""
    data, scale = membership.data, settings.scale
    scored, groups, roles = data.scored, data.groups, data.roles
    overall = Summary.of(GroupMoments.of(scored, None), scale)
    moments = GroupMoments.of(scored, groups)
    by_group = Summary.of(moments, scale)
    hidden = settings.breakdown_hidden(moments.count, membership.group_hidden)
    item_rwg = rwg(moments, settings.null_var)
    skewed = (None if settings.skewed_var is None else rwg(moments, settings.skewed_var))
    item_ad = ad_m(scored, groups, moments)
    item_icc = icc(moments.shown(hidden))
    rwg_shown = item_rwg.where(~hidden)
    group_scores = by_group.score.where(~hidden)
    split: pd.DataFrame | None
    if settings.pre_scored:
        chance = pd.DataFrame(np.nan, index=item_rwg.index, columns=item_rwg.columns)
        split = None
    else:
        chance = chance_rwg(moments.count, settings.options)
        split_p = split_p_values(moments, settings.options).where(~hidden)
        split = split_teams(split_p)
    distribution = answer_distribution(scored, scale)
    item_scores = overall.score.iloc[0]  # the one row, "all"
    role_cells_of: Callable[[str], dict[str, Stats | Suppressed]] | None = None
    if roles is not None and membership.role_hidden is not None:
        role_moments = GroupMoments.of(scored, roles)
        by_role = Summary.of(role_moments, scale)
        role_hidden = settings.breakdown_hidden(role_moments.count, membership.role_hidden)
        item_role_gaps = role_gaps(by_role, role_hidden, scale)
        role_cells_of = _cells_of(by_role, role_hidden, role_moments.count.index)
    else:
        item_role_gaps = pd.DataFrame(index=scored.columns,
                                      columns=["high", "low", "difference", "effect_size",
                                               "p_value", "p_adjusted", "q_value", "pairs"])
    entries: dict[str, ItemResult] = {}
    keys = [str(g) for g in moments.count.index]
    for q in settings.bank.questions:
        qid = q.id
        cells = list(by_group.column(qid).values())
        rwg_values, ad_values = item_rwg[qid].tolist(), item_ad[qid].tolist()
        chance_values = chance[qid].tolist()
        skewed_values = [None] * len(keys) if skewed is None else skewed[qid].tolist()
        split_values = [None] * len(keys) if split is None else split[qid].tolist()
        group_cells: dict[str, ItemGroupCell | Suppressed] = {}
        for i, (key, hide) in enumerate(zip(keys, hidden[qid].tolist(), strict=True)):
            if hide:
                group_cells[key] = SUPPRESSED
                continue
            group_cells[key] = ItemGroupCell.model_validate(json_ready({
                **cells[i], "rwg": rwg_values[i], "rwg_skewed": skewed_values[i],
                "rwg_chance": chance_values[i],
                "agrees": _agrees(rwg_values[i], rwg_values[i], chance_values[i]),
                "split": split_values[i], "ad_m": ad_values[i],
            }))
        overall_cell = overall.column(qid)["all"]
        figures = json_ready({
            "dimension": q.dimension,
            "lens": q.lens,
            "reverse": q.reverse,
            **overall_cell,
            "icc1": item_icc.at[qid, "icc1"],
            "icc2": item_icc.at[qid, "icc2"],
            "rwg_mean": rwg_shown[qid].mean(),
            "rwg_skewed_mean": (None if skewed is None
                                else skewed[qid].where(~hidden[qid]).mean()),
            "ad_m_mean": item_ad[qid].where(~hidden[qid]).mean(),
            "distribution": {point: int(count) for point, count in distribution[qid].items()},
        })
        entries[qid] = ItemResult(
            **figures, groups=group_cells,
            roles=None if role_cells_of is None else role_cells_of(qid))
    return ItemStage(moments, hidden, item_rwg, skewed, rwg_shown, item_ad, item_icc, split,
                     group_scores, item_scores, item_role_gaps, entries)


def _cells_of(summary: Summary, hidden: pd.DataFrame, keys: pd.Index
              ) -> Callable[[str], dict[str, Stats | Suppressed]]:
    """One column's cells of a keys x columns breakdown, shown or suppressed."""
    def cells(column: str) -> dict[str, Stats | Suppressed]:
        stats = summary.column(column)
        return {str(key): SUPPRESSED if hidden.at[key, column]
                else Stats.model_validate(json_ready(stats[key])) for key in keys}
    return cells


@dataclass(frozen=True)
class DimensionStage:
    """Every dimension's scores and agreement: the frames later stages read, and the
    dimensions of the result before their alignment is known."""

    respondents: pd.DataFrame  # respondents x dimension and lens scores
    overall: Summary
    by_group: Summary
    hidden: pd.DataFrame  # groups x dimensions
    role_gaps: pd.DataFrame | None  # None without roles
    rwg_j: dict[str, pd.Series]  # shown teams only
    team_agreement: dict[str, pd.Series]  # mean item rwg, shown teams only
    consensus: dict[str, float]
    beyond_chance_share: dict[str, float]
    teams_without_agreement: dict[str, int | None]
    alpha: dict[str, float]
    entries: dict[str, dict[str, Any]]  # JSON-ready, completed by `assemble`


def score_dimensions(settings: Settings, membership: Membership,
                     items: ItemStage) -> DimensionStage:
    """Dimension scores overall, per shown team (with agreement and reliability), per shown
    role and per shown team x role cell."""
    data, scale, k = membership.data, settings.scale, settings.k
    scored, groups, roles = data.scored, data.groups, data.roles
    respondents = score_respondents(scored, settings.bank)
    overall = Summary.of(GroupMoments.of(respondents, None), scale)
    moments = GroupMoments.of(respondents, groups)
    by_group = Summary.of(moments, scale)
    hidden = settings.breakdown_hidden(moments.count, membership.group_hidden)
    score_icc = icc(moments.shown(hidden))
    dim_role_gaps = None
    breakdown: _RoleBreakdown | None = None
    if roles is not None and membership.role_hidden is not None:
        role_moments = GroupMoments.of(respondents, roles)
        by_role = Summary.of(role_moments, scale)
        role_hidden = settings.breakdown_hidden(role_moments.count, membership.role_hidden)
        dims = [d.id for d in settings.bank.dimensions]
        dim_role_gaps = role_gaps(
            Summary(*(getattr(by_role, f)[dims] for f in
                      ("n", "mean", "sd", "ci_low", "ci_high", "score"))),
            role_hidden[dims], scale)
        crossed = GroupMoments.of(respondents, [groups, roles])
        breakdown = _RoleBreakdown(role_moments, by_role, role_hidden, crossed,
                                   Summary.of(crossed, scale))
    rwg_j_shown: dict[str, pd.Series] = {}
    team_agreement: dict[str, pd.Series] = {}
    consensus_of: dict[str, float] = {}
    beyond_chance_share: dict[str, float] = {}
    teams_without_agreement: dict[str, int | None] = {}
    alpha: dict[str, float] = {}
    out: dict[str, dict[str, Any]] = {}
    ad_cutoff = ad_m_cutoff(settings.options)
    for d in settings.bank.dimensions:
        qids = [q.id for q in settings.bank.questions_in(d.id)]
        dim_rwg_j = rwg_j(items.moments, settings.null_var, qids)
        dim_skewed = (None if settings.skewed_var is None
                      else rwg_j(items.moments, settings.skewed_var, qids))
        # Each team's agreement on the dimension at the level of its items (not inflated by
        # the number of items), and the dimension's consensus as the mean of its items' mean
        # rwg over shown teams: the same figures the item rows show, so they cannot disagree.
        dim_agreement = item_agreement(items.rwg, qids)
        consensus = items.rwg_shown[qids].mean(axis=0).mean()
        consensus_skewed = (None if items.rwg_skewed is None else
                            items.rwg_skewed[qids].where(~items.hidden[qids])
                            .mean(axis=0).mean())
        dim_ad = items.ad[qids].mean(axis=1)
        counts = items.moments.count[qids]
        answered_items = (counts >= 2).sum(axis=1)
        typical_n = counts.where(counts >= 2).mean(axis=1)
        shown = ~hidden[d.id]
        icc1 = _at(score_icc, d.id, "icc1")
        reliability = team_reliability(moments.count[d.id].astype(float), icc1)
        rwg_j_shown[d.id] = dim_rwg_j.where(shown)
        team_agreement[d.id] = dim_agreement.where(shown)
        consensus_of[d.id] = consensus
        alpha[d.id] = cronbach_alpha(scored[qids])
        group_cells: dict[str, Any] = {}
        dim_cells = by_group.column(d.id)
        beyond: list[bool] = []
        for g in moments.count.index:
            if hidden.at[g, d.id]:
                group_cells[str(g)] = SUPPRESSED_JSON
                continue
            chance = (None if settings.pre_scored or pd.isna(typical_n[g]) else
                      rwg_j_chance(int(round(typical_n[g])), int(answered_items[g]),
                                   settings.options))
            if chance is not None and pd.notna(dim_rwg_j[g]):
                beyond.append(bool(dim_rwg_j[g] > chance))
            cell = dim_cells[g]
            cell["rwg_j"] = dim_rwg_j[g]
            cell["rwg_j_skewed"] = None if dim_skewed is None else dim_skewed[g]
            cell["rwg_j_chance"] = chance
            cell["rwg_mean"] = dim_agreement[g]
            cell["agrees"] = _agrees(dim_agreement[g], dim_rwg_j[g], chance)
            cell["ad_m"] = dim_ad[g]
            cell["ad_m_agrees"] = None if pd.isna(dim_ad[g]) else bool(dim_ad[g] <= ad_cutoff)
            cell["reliability"] = reliability[g]
            cell["reliable"] = (None if pd.isna(reliability[g])
                                else bool(reliability[g] >= RELIABILITY_THRESHOLD))
            cell["lenses"] = {
                lens: (by_group.score.at[g, lens_column(d.id, lens)]
                       if lens_column(d.id, lens) in moments.count.columns
                       and _at(moments.count, g, lens_column(d.id, lens)) >= k else None)
                for lens in ("architecture", "operating_model")
            }
            group_cells[str(g)] = cell
        beyond_chance_share[d.id] = (float(np.mean(beyond)) if beyond else np.nan)
        teams_without_agreement[d.id] = (None if settings.pre_scored
                                         else len(beyond) - sum(beyond))
        entry: dict[str, Any] = {
            "title": d.title,
            "weight": d.weight,
            "items": qids,
            **overall.column(d.id)["all"],
            "alpha": alpha[d.id],
            "icc1": icc1,
            "icc2": score_icc.at[d.id, "icc2"],
            "icc_f": score_icc.at[d.id, "f"],
            "icc_p": score_icc.at[d.id, "p"],
            "icc1_group_size": score_icc.at[d.id, "k"],
            "rwg_j_mean": dim_rwg_j.where(shown).mean(),
            "rwg_j_skewed_mean": None if dim_skewed is None else dim_skewed.where(shown).mean(),
            "consensus_skewed": consensus_skewed,
            "teams_shown": int(shown.sum()),
            "teams_beyond_chance": sum(beyond),
            "teams_without_agreement": teams_without_agreement[d.id],
            "teams_agree": sum(1 for c in group_cells.values() if c.get("agrees")),
            "teams_reliable": sum(1 for c in group_cells.values() if c.get("reliable")),
            # Teams that AD(M) and rwg read differently, for the page to explain.
            "readings_differ": [g for g, c in group_cells.items()
                                if c.get("agrees") is not None
                                and c.get("ad_m_agrees") is not None
                                and c["agrees"] != c["ad_m_agrees"]],
            "ad_m_mean": dim_ad.where(shown).mean(),
            "lens_stats": {
                lens: overall.column(lens_column(d.id, lens))["all"]
                for lens in ("architecture", "operating_model")
                if lens_column(d.id, lens) in respondents.columns
            },
            "role_gap": None,
            "groups": group_cells,
        }
        if breakdown is not None and dim_role_gaps is not None:
            entry["role_gap"] = dim_role_gaps.at[d.id, "difference"]
            entry["role_gap_test"] = {
                key: dim_role_gaps.at[d.id, key]
                for key in ("high", "low", "effect_size", "p_value", "p_adjusted", "q_value")}
            role_cells = breakdown.by_role.column(d.id)
            entry["roles"] = {
                str(r): SUPPRESSED_JSON if breakdown.role_hidden.at[r, d.id] else role_cells[r]
                for r in breakdown.moments.count.index
            }
            entry["group_roles"] = _group_role_cells(
                settings, membership, d.id, breakdown, hidden[d.id],
                breakdown.role_hidden[d.id])
        out[d.id] = entry
    return DimensionStage(respondents, overall, by_group, hidden, dim_role_gaps, rwg_j_shown,
                          team_agreement, consensus_of, beyond_chance_share,
                          teams_without_agreement, alpha, out)


@dataclass(frozen=True)
class _RoleBreakdown:
    """Dimension scores per role and per group x role."""

    moments: GroupMoments
    by_role: Summary
    role_hidden: pd.DataFrame  # roles x dimensions
    crossed: GroupMoments
    crossed_summary: Summary


def _group_role_cells(settings: Settings, membership: Membership, dim_id: str,
                      breakdown: _RoleBreakdown, group_hidden: pd.Series,
                      role_hidden: pd.Series) -> dict[str, dict[str, Any]]:
    """One dimension's group x role table, suppressed as a two-way breakdown."""
    crossed = breakdown.crossed
    counts = crossed.count[dim_id].unstack(fill_value=0)
    counts = counts.reindex(index=group_hidden.index, columns=role_hidden.index, fill_value=0)
    already = (_rows_hidden(group_hidden, counts.columns)
               | _rows_hidden(role_hidden, counts.index).T)
    if membership.cell_hidden is not None:
        already |= membership.cell_hidden.reindex(index=counts.index, columns=counts.columns,
                                                  fill_value=False)
    hidden = suppressed_cells(counts, settings.k, hidden=already, lines=(0, 1))
    cells: dict[str, dict[str, Any]] = {}
    stats = breakdown.crossed_summary.column(dim_id)
    for (g, r) in crossed.count.index:
        if counts.at[g, r] == 0:
            continue
        cells.setdefault(str(g), {})[str(r)] = (SUPPRESSED_JSON if hidden.at[g, r]
                                                 else stats[(g, r)])
    return cells


@dataclass(frozen=True)
class DivergenceStage:
    items: list[DivergentItem]
    count: pd.Series  # divergent items per dimension
    clusters: Clusters


def find_divergence(settings: Settings, membership: Membership, items: ItemStage,
                    timings: dict[str, float]) -> DivergenceStage:
    """Divergent items and perception clusters."""
    data = membership.data
    start = time.perf_counter()
    listed = divergent_items(settings.bank, items.rwg_shown, items.split, items.icc,
                             items.group_scores, items.role_gaps)
    count = pd.Series([e["dimension"] for e in listed], dtype=object).value_counts()
    timings["divergent_items"] = time.perf_counter() - start
    start = time.perf_counter()
    model = PerceptionClusters(min_cluster_size=settings.k,
                               random_state=settings.random_state).fit(data.scored)
    clusters = describe_clusters(
        model, data.scored, settings.bank, groups=data.groups, roles=data.roles,
        group_hidden=membership.group_hidden, role_hidden=membership.role_hidden,
        min_group_size=settings.k)
    timings["clusters"] = time.perf_counter() - start
    return DivergenceStage([DivergentItem.model_validate(json_ready(e)) for e in listed], count,
                           Clusters.model_validate(json_ready(clusters)))


def agreement_terms(settings: Settings) -> AgreementTerms:
    """The nulls, cut-offs and error rates the agreement figures were judged by, so that
    pages, reports and the method appendix state what was computed."""
    return AgreementTerms(
        null="uniform",
        options=settings.options,
        null_variance=settings.null_var,
        slightly_skewed_variance=settings.skewed_var,
        agreement_threshold=CONSENSUS_THRESHOLD,
        weak_threshold=WEAK_CONSENSUS,
        beyond_chance_share=MIN_BEYOND_CHANCE_SHARE,
        chance_level=CHANCE_LEVEL,
        ad_m_cutoff=ad_m_cutoff(settings.options),
        reliability_threshold=RELIABILITY_THRESHOLD,
        significance=SIGNIFICANCE,
        effect_size=EFFECT_SIZE_NAME,
        pre_scored=settings.pre_scored,
        note=(
            "Some answers are not on the answer scale's points (pre-scored data): rwg and "
            "rwg(j) compare variances with random answering over the scale's options, which "
            "such values do not follow, so no team is judged to agree beyond chance or to be "
            "split, and the agreement figures are indicative only."
            if settings.pre_scored else None),
    )


def alignment_table(settings: Settings, dims: DimensionStage) -> pd.DataFrame:
    """Per dimension: weight, score, lens scores, consensus, lens gap, alignment, confidence."""
    rows = []
    overall = dims.overall
    for d in settings.bank.dimensions:
        lens_score = {}
        lens_n = {}
        for lens in ("architecture", "operating_model"):
            column = lens_column(d.id, lens)
            present = column in overall.score.columns
            lens_score[lens] = overall.score.at["all", column] if present else np.nan
            lens_n[lens] = overall.n.at["all", column] if present else 0
        rows.append({
            "dimension": d.id,
            "weight": d.weight,
            "score": overall.score.at["all", d.id],
            "n": overall.n.at["all", d.id],
            "architecture": lens_score["architecture"],
            "operating_model": lens_score["operating_model"],
            "n_architecture": lens_n["architecture"],
            "n_operating_model": lens_n["operating_model"],
            "consensus": dims.consensus[d.id],
            "beyond_chance_share": dims.beyond_chance_share[d.id],
        })
    return align(pd.DataFrame(rows).set_index("dimension"), settings.k)


def collect_facts(settings: Settings, membership: Membership, table: pd.DataFrame,
                  dims: DimensionStage, divergence: DivergenceStage) -> Facts:
    """The facts the bank's rules test, None where unknown."""
    dimensions: dict[str, dict[str, Any]] = {}
    for d in settings.bank.dimensions:
        row = table.loc[d.id]
        role_gap = role_gap_q = None
        if dims.role_gaps is not None:
            role_gap = dims.role_gaps.at[d.id, "difference"]
            role_gap_q = dims.role_gaps.at[d.id, "q_value"]
        dimensions[d.id] = {
            "score": row["score"],
            "architecture": row["architecture"],
            "operating_model": row["operating_model"],
            "lens_gap": row["lens_gap"],
            "alignment": row["alignment"],
            "consensus": row["consensus"],
            "alpha": dims.alpha[d.id],
            "role_gap": role_gap,
            "role_gap_p": role_gap_q,
            "teams_without_agreement": dims.teams_without_agreement[d.id],
            "divergent_items": int(divergence.count.get(d.id, 0)),
        }
    for values in dimensions.values():
        for key, value in values.items():
            values[key] = _number(value)
    global_ = {
        "overall_alignment": _number(weighted_mean(table["alignment"], table["weight"])),
        "overall_score": _number(weighted_mean(table["score"], table["weight"])),
        "n_respondents": len(membership.data.answers),
        "response_rate": _number(settings.response_rate),
        "clusters": divergence.clusters.k,
    }
    return Facts(dimensions, global_)


def find_evidence(settings: Settings, items: ItemStage, dims: DimensionStage,
                  divergence: DivergenceStage, dim_id: str | None,
                  clauses: list[dict[str, Any]]) -> dict[str, Any]:
    """The items and reportable groups behind a firing rule (never a suppressed group)."""
    found: dict[str, Any] = {"facts": clauses, "items": [], "groups": []}
    facts = {c["fact"] for c in clauses}
    if "clusters" in facts:
        found["clusters"] = [{"id": c.id, "label": c.label, "share": c.share}
                             for c in divergence.clusters.clusters]
    if dim_id is None:
        return found
    questions = settings.bank.questions_in(dim_id)
    if facts & {"consensus", "role_gap", "role_gap_p", "divergent_items",
                "teams_without_agreement"}:
        divergent = [e for e in divergence.items if e.dimension == dim_id]
        found["items"] = [{"item": e.item, "lens": e.lens, "reasons": e.reasons,
                           "score": items.scores[e.item]}
                          for e in divergent[:EVIDENCE_ITEMS]]
    if not found["items"]:
        lens = None
        gap = next((c["value"] for c in clauses if c["fact"] == "lens_gap"
                    and c["dimension"] == dim_id), None)
        if gap is not None:
            lens = "architecture" if gap < 0 else "operating_model"
        elif facts & {"architecture", "operating_model"}:
            lens = "architecture" if "architecture" in facts else "operating_model"
        chosen = [q for q in questions if lens is None or q.lens == lens]
        ranked = sorted(chosen, key=lambda q: _sort_value(items.scores[q.id]))
        found["items"] = [{"item": q.id, "lens": q.lens, "score": items.scores[q.id]}
                          for q in ranked[:EVIDENCE_ITEMS]]
    shown = ~dims.hidden[dim_id]
    scores = dims.by_group.score[dim_id][shown]
    agreement = dims.team_agreement[dim_id][shown]
    key = agreement if facts & {"consensus", "teams_without_agreement"} else scores
    ordered = key.sort_values(na_position="last").index[:EVIDENCE_GROUPS]
    found["groups"] = [{"group": str(g), "score": scores[g], "rwg_mean": agreement[g],
                        "rwg_j": dims.rwg_j[dim_id][g],
                        "n": dims.by_group.n.at[g, dim_id]} for g in ordered]
    if facts & {"role_gap", "role_gap_p"} and dims.role_gaps is not None:
        gap_row = dims.role_gaps.loc[dim_id]
        if pd.notna(gap_row["high"]):
            found["roles"] = {"high": str(gap_row["high"]), "low": str(gap_row["low"]),
                              "difference": gap_row["difference"],
                              "effect_size": gap_row["effect_size"],
                              "p_value": gap_row["p_value"],
                              "p_adjusted": gap_row["p_adjusted"],
                              "q_value": gap_row["q_value"]}
    return found


def assemble(settings: Settings, membership: Membership, items: ItemStage,
             dims: DimensionStage, divergence: DivergenceStage, table: pd.DataFrame,
             facts: Facts, recommendations: list[dict[str, Any]],
             verdict: dict[str, Any]) -> AnalysisResult:
    """The result from the stages' outputs."""
    dimensions: dict[str, DimensionResult] = {}
    for dim_id, entry in dims.entries.items():
        row = table.loc[dim_id]
        dimensions[dim_id] = DimensionResult.model_validate(json_ready({
            **entry,
            "lenses": {"architecture": row["architecture"],
                       "operating_model": row["operating_model"]},
            "lens_gap": row["lens_gap"],
            "alignment": row["alignment"],
            "consensus": row["consensus"],
            "consensus_reading": consensus_reading(_at(table, dim_id, "consensus")),
            "low_confidence": bool(row["low_confidence"]),
            "divergent_items": int(divergence.count.get(dim_id, 0)),
        }))
    consensus = weighted_mean(table["consensus"], table["weight"])
    group_hidden, role_hidden = membership.group_hidden, membership.role_hidden
    k = settings.k
    return AnalysisResult(
        bank=BankRef(id=settings.bank.id, version=settings.bank.version,
                     title=settings.bank.title),
        scale=ScaleRef(min=settings.scale.min, max=settings.scale.max),
        n_respondents=len(membership.data.answers),
        min_group_size=k,
        response_rate=_finite(settings.response_rate),
        overall=Overall.model_validate(json_ready({
            "alignment": facts.global_["overall_alignment"],
            "score": facts.global_["overall_score"],
            "consensus": consensus,
            "consensus_reading": consensus_reading(consensus),
            "groups": len(group_hidden),
            "groups_suppressed": int(group_hidden.sum()),
            "roles": 0 if role_hidden is None else len(role_hidden),
            "roles_suppressed": 0 if role_hidden is None else int(role_hidden.sum()),
        })),
        suppressed_note=(
            f"Groups, roles and group x role cells with fewer than {k} respondents are "
            "shown as suppressed, together with the next smallest cell where a hidden value "
            "could otherwise be worked out from the total."
        ),
        agreement=agreement_terms(settings),
        dimensions=dimensions,
        items=items.entries,
        divergence=Divergence(items=divergence.items, clusters=divergence.clusters),
        recommendations=[RecommendationResult.model_validate(json_ready(r))
                         for r in recommendations],
        readiness=Readiness.model_validate(json_ready(verdict)),
        suppressed=membership.suppressed_names(),
    )


def run_stages(data: AnalysisInput, settings: Settings,
               forced: Mapping[str, Collection[Any]],
               timings: dict[str, float] | None = None) -> AnalysisResult:
    """The stages in order, each given what it reads. `timings`, when given, receives the
    seconds each stage took (read by the benchmark)."""
    took: dict[str, float] = {} if timings is None else timings

    def timed(stage: str, started: float) -> None:
        took[stage] = time.perf_counter() - started

    start = time.perf_counter()
    membership = hide_small_cells(data, settings, forced)
    timed("suppression", start)
    start = time.perf_counter()
    items = score_items(settings, membership)
    timed("items", start)
    start = time.perf_counter()
    dims = score_dimensions(settings, membership, items)
    timed("dimensions", start)
    divergence = find_divergence(settings, membership, items, took)
    start = time.perf_counter()
    table = alignment_table(settings, dims)
    timed("alignment", start)
    facts = collect_facts(settings, membership, table, dims, divergence)
    start = time.perf_counter()
    recommendations = recommend(
        settings.bank, facts,
        lambda dim_id, clauses: find_evidence(settings, items, dims, divergence, dim_id,
                                              clauses))
    verdict = readiness(settings.bank, facts)
    timed("rules", start)
    return assemble(settings, membership, items, dims, divergence, table, facts,
                    recommendations, verdict)


def _agrees(level: Any, index: Any, chance: float | None) -> bool | None:
    """A team agrees when its item-level agreement `level` reaches the .70 convention and its rwg
    or rwg(j) `index` is beyond what random answering reaches (`chance`); None when there is no
    figure, or no chance value to judge it against (pre-scored answers)."""
    if chance is None or pd.isna(chance) or pd.isna(level) or pd.isna(index):
        return None
    return bool(level >= CONSENSUS_THRESHOLD and index > chance)


def _at(frame: pd.DataFrame, row: Any, column: Any) -> float:
    """A cell of a frame of numbers (pandas-stubs type a cell as any scalar at all)."""
    return cast(float, frame.at[row, column])


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _sort_value(value: Any) -> float:
    return math.inf if value is None or pd.isna(value) else float(value)


def _number(value: Any) -> float | int | None:
    """A fact as a plain number, None when it could not be computed."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return None
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def json_ready(value: Any) -> Any:
    """Make a result JSON-ready: numpy scalars to Python numbers, NaN and inf to None."""
    kind = type(value)
    if kind is dict:
        return {str(k): json_ready(v) for k, v in value.items()}
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if isinstance(value, list | tuple | np.ndarray):
        return [json_ready(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if pd.isna(value):
        return None
    return value

"""The whole analysis in one call: answers, groups, roles and a bank in, what a lead reads out.

Owns the order of the stages (scores, agreement, suppression, divergence, clusters, alignment,
recommendations, readiness) and the shape of the JSON-ready result shared by the `analyze`
command, the web dashboards and the API. Every group, role and group x role cell passes through
`confidentiality` before it is written into the result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from assessment.banks import Bank

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
from .rules import Facts, readiness, recommend
from .scoring import GroupMoments, Summary, answer_distribution, lens_column, score_respondents

SUPPRESSED = {"suppressed": True}
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
) -> dict:
    """Analyse one assessment's answers against its bank.

    `answers`: index = respondent id, a column per question id (raw values on the bank's scale,
    NaN = don't know; reverse items are flipped here). `groups` / `roles`: each respondent's team
    and role as strings, on the same index. Cells below `min_group_size` respondents are
    suppressed everywhere. `response_rate` (0-1) is passed to the rules as a fact when known.
    `always_hidden` (`{"groups": [...], "roles": [...], "group_roles": [[group, role], ...]}`)
    names cells to suppress whatever their size: those an earlier release of the same
    assessment suppressed, which must stay hidden (the key `suppressed` of the result lists
    what this run hid, for the next one).
    Returns a JSON-ready dict (plain ints, floats, strings, None) with the keys `bank`,
    `n_respondents`, `min_group_size`, `overall`, `agreement` (the nulls, cut-offs and error
    rates used), `dimensions`, `items`, `divergence`, `recommendations`, `readiness`.
    """
    if min_group_size < 1:
        raise ValueError("min_group_size must be at least 1")
    data = AnalysisInput.prepare(answers, bank, groups=groups, roles=roles)
    run = AnalysisRun(data, min_group_size, response_rate, random_state, always_hidden)
    return json_ready(run.run())


def _rows_hidden(keys_hidden: pd.Series, columns: pd.Index) -> pd.DataFrame:
    """A frame (keys x columns) that is True on the rows of hidden keys."""
    return pd.DataFrame(np.repeat(keys_hidden.to_numpy(dtype=bool)[:, None], len(columns), axis=1),
                        index=keys_hidden.index, columns=columns)


class AnalysisRun:
    """One run of the analysis; each stage stores the frames the later stages read.

    `timings` holds the seconds each stage took (read by the benchmark).
    """

    def __init__(self, data: AnalysisInput, min_group_size: int, response_rate: float | None,
                 random_state: int,
                 always_hidden: Mapping[str, Collection[Any]] | None = None) -> None:
        self.data = data
        self.bank = data.bank
        self.scale = data.bank.scale
        self.k = min_group_size
        self.response_rate = response_rate
        self.random_state = random_state
        self.always_hidden = always_hidden or {}
        self.options = self.scale.max - self.scale.min + 1
        self.null_var = null_variance(self.options)
        self.skewed_var = slightly_skewed_variance(self.options)
        # Answers off the answer scale's points (pre-scored data from another tool) have no
        # random-answering null: rwg is still computed but not judged against chance.
        values = data.answers.to_numpy(dtype=float)
        self.pre_scored = bool(np.any(values[~np.isnan(values)] % 1 != 0))
        self.timings: dict[str, float] = {}

    def timed(self, stage: str, work: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        out = work()
        self.timings[stage] = time.perf_counter() - start
        return out

    def run(self) -> dict:
        self.timed("suppression", self.membership)
        items = self.timed("items", self.items)
        dimensions = self.timed("dimensions", self.dimensions)
        divergence = self.divergence()
        table = self.timed("alignment", self.alignment)
        for dim_id, entry in dimensions.items():
            row = table.loc[dim_id]
            entry.update({
                "lenses": {"architecture": row["architecture"],
                           "operating_model": row["operating_model"]},
                "lens_gap": row["lens_gap"],
                "alignment": row["alignment"],
                "consensus": row["consensus"],
                "consensus_reading": consensus_reading(row["consensus"]),
                "low_confidence": bool(row["low_confidence"]),
                "divergent_items": int(self.divergent_count.get(dim_id, 0)),
            })
        facts = self.facts(table, divergence["clusters"]["k"])
        bank = self.bank
        start = time.perf_counter()
        recommendations = recommend(bank, facts, self.evidence)
        verdict = readiness(bank, facts)
        self.timings["rules"] = time.perf_counter() - start
        return {
            "bank": {"id": bank.id, "version": bank.version, "title": bank.title},
            "scale": {"min": self.scale.min, "max": self.scale.max},
            "n_respondents": len(self.data.answers),
            "min_group_size": self.k,
            "response_rate": self.response_rate,
            "overall": {
                "alignment": facts.global_["overall_alignment"],
                "score": facts.global_["overall_score"],
                "consensus": weighted_mean(table["consensus"], table["weight"]),
                "consensus_reading": consensus_reading(
                    weighted_mean(table["consensus"], table["weight"])),
                "groups": len(self.group_hidden),
                "groups_suppressed": int(self.group_hidden.sum()),
                "roles": 0 if self.role_hidden is None else len(self.role_hidden),
                "roles_suppressed": 0 if self.role_hidden is None else int(self.role_hidden.sum()),
            },
            "suppressed_note": (
                f"Groups, roles and group x role cells with fewer than {self.k} respondents are "
                "shown as suppressed, together with the next smallest cell where a hidden value "
                "could otherwise be worked out from the total."
            ),
            "agreement": self.agreement_terms(),
            "dimensions": dimensions,
            "items": items,
            "divergence": divergence,
            "recommendations": recommendations,
            "readiness": verdict,
            "suppressed": self.suppressed_names(),
        }

    def suppressed_names(self) -> dict[str, list]:
        """The teams, roles and team x role cells this run hid, by name."""
        cells: list[list[str]] = []
        if self.cell_hidden is not None:
            stacked = self.cell_hidden.stack()
            cells = [[str(g), str(r)] for (g, r), hide in stacked.items() if hide]
        return {
            "groups": [str(g) for g, hide in self.group_hidden.items() if hide],
            "roles": ([] if self.role_hidden is None else
                      [str(r) for r, hide in self.role_hidden.items() if hide]),
            "group_roles": cells,
        }

    # -- confidentiality of the breakdowns ------------------------------------------------------

    def membership(self) -> None:
        """Which groups, roles and group x role cells are hidden by their number of members.

        Respondents of a hidden group are then left out of every role breakdown (they count only
        in the overall figures). Group and role tables are linked through their shared members:
        with a hidden group's people inside the role figures, the role totals, the shown groups
        and the overall total together pin a hidden group's mean down to within one person's
        answer. Left out, nothing shown beyond the overall total depends on a hidden group, and
        the overall total minus the shown groups covers all hidden groups together, which
        complementary suppression keeps at `min_group_size` people or more."""
        groups, roles = self.data.groups, self.data.roles
        forced = self.always_hidden
        self.group_hidden = suppressed_keys(groups.value_counts(sort=False), self.k,
                                            forced.get("groups", ()))
        self.role_hidden = None
        self.cell_hidden = None
        if roles is not None:
            in_hidden_group = groups.map(self.group_hidden).astype(bool).to_numpy()
            roles = roles.where(~in_hidden_group)
            self.data = replace(self.data, roles=roles)
            self.role_hidden = suppressed_keys(roles.value_counts(sort=False), self.k,
                                               forced.get("roles", ()))
            crossed = pd.crosstab(groups, roles)
            hidden = (_rows_hidden(self.group_hidden, crossed.columns)
                      | _rows_hidden(self.role_hidden, crossed.index).T)
            for pair in forced.get("group_roles", ()):
                g, r = (str(x) for x in pair)
                if g in hidden.index and r in hidden.columns:
                    hidden.at[g, r] = True
            self.cell_hidden = suppressed_cells(crossed, self.k, hidden=hidden, lines=(0, 1))

    def breakdown_hidden(self, counts: pd.DataFrame, keys_hidden: pd.Series) -> pd.DataFrame:
        """Cells of a keys x columns breakdown to hide: hidden keys' rows, then cells with fewer
        than k values in each column, with complementary suppression per column."""
        rows = _rows_hidden(keys_hidden.reindex(counts.index, fill_value=True), counts.columns)
        return suppressed_cells(counts, self.k, hidden=rows, lines=(0,))

    # -- items ----------------------------------------------------------------------------------

    def items(self) -> dict:
        scored, groups, roles = self.data.scored, self.data.groups, self.data.roles
        overall = Summary.of(GroupMoments.of(scored, None), self.scale)
        self.item_moments = GroupMoments.of(scored, groups)
        by_group = Summary.of(self.item_moments, self.scale)
        self.item_hidden = self.breakdown_hidden(self.item_moments.count, self.group_hidden)
        item_rwg = rwg(self.item_moments, self.null_var)
        skewed = (None if self.skewed_var is None
                  else rwg(self.item_moments, self.skewed_var))
        self.item_rwg, self.item_rwg_skewed = item_rwg, skewed
        self.item_ad = ad_m(scored, groups, self.item_moments)
        self.item_icc = icc(self.item_moments.shown(self.item_hidden))
        self.item_rwg_shown = item_rwg.where(~self.item_hidden)
        self.item_group_scores = by_group.score.where(~self.item_hidden)
        if self.pre_scored:
            chance = pd.DataFrame(np.nan, index=item_rwg.index, columns=item_rwg.columns)
            self.item_split = None
        else:
            chance = chance_rwg(self.item_moments.count, self.options)
            split_p = split_p_values(self.item_moments, self.options).where(~self.item_hidden)
            self.item_split = split_teams(split_p)
        distribution = answer_distribution(scored, self.scale)
        self.item_scores = overall.score.loc["all"]
        if roles is not None:
            role_moments = GroupMoments.of(scored, roles)
            by_role = Summary.of(role_moments, self.scale)
            role_hidden = self.breakdown_hidden(role_moments.count, self.role_hidden)
            self.item_role_gaps = role_gaps(by_role, role_hidden, self.scale)
        else:
            self.item_role_gaps = pd.DataFrame(index=scored.columns,
                                               columns=["high", "low", "difference",
                                                        "effect_size", "p_value", "p_adjusted",
                                                        "q_value", "pairs"])
        out: dict[str, dict] = {}
        overall_cells = {qid: cells["all"] for qid, cells in
                         ((q, overall.column(q)) for q in scored.columns)}
        keys = [str(g) for g in self.item_moments.count.index]
        for q in self.bank.questions:
            qid = q.id
            cells = list(by_group.column(qid).values())
            rwg_values, ad_values = item_rwg[qid].tolist(), self.item_ad[qid].tolist()
            chance_values = chance[qid].tolist()
            skewed_values = [None] * len(keys) if skewed is None else skewed[qid].tolist()
            split_values = ([None] * len(keys) if self.item_split is None
                            else self.item_split[qid].tolist())
            group_cells: dict[str, Any] = {}
            for i, (key, hide) in enumerate(zip(keys, self.item_hidden[qid].tolist(),
                                                strict=True)):
                if hide:
                    group_cells[key] = SUPPRESSED
                    continue
                group_cells[key] = {
                    **cells[i], "rwg": rwg_values[i], "rwg_skewed": skewed_values[i],
                    "rwg_chance": chance_values[i],
                    "agrees": _agrees(rwg_values[i], rwg_values[i], chance_values[i]),
                    "split": split_values[i], "ad_m": ad_values[i],
                }
            entry = {
                "dimension": q.dimension,
                "lens": q.lens,
                "reverse": q.reverse,
                **overall_cells[qid],
                "icc1": self.item_icc.at[qid, "icc1"],
                "icc2": self.item_icc.at[qid, "icc2"],
                "rwg_mean": self.item_rwg_shown[qid].mean(),
                "rwg_skewed_mean": (None if skewed is None
                                    else skewed[qid].where(~self.item_hidden[qid]).mean()),
                "ad_m_mean": self.item_ad[qid].where(~self.item_hidden[qid]).mean(),
                "distribution": {point: int(distribution.at[point, qid])
                                 for point in distribution.index},
                "groups": group_cells,
            }
            if roles is not None:
                role_cells = by_role.column(qid)
                entry["roles"] = {str(r): SUPPRESSED if role_hidden.at[r, qid] else role_cells[r]
                                  for r in role_moments.count.index}
            out[qid] = entry
        return out

    # -- dimensions -----------------------------------------------------------------------------

    def dimensions(self) -> dict:
        scored, groups, roles = self.data.scored, self.data.groups, self.data.roles
        respondents = score_respondents(scored, self.bank)
        self.respondent_scores = respondents
        overall = Summary.of(GroupMoments.of(respondents, None), self.scale)
        moments = GroupMoments.of(respondents, groups)
        by_group = Summary.of(moments, self.scale)
        hidden = self.breakdown_hidden(moments.count, self.group_hidden)
        score_icc = icc(moments.shown(hidden))
        self.dim_overall, self.dim_by_group, self.dim_hidden = overall, by_group, hidden
        if roles is not None:
            role_moments = GroupMoments.of(respondents, roles)
            by_role = Summary.of(role_moments, self.scale)
            role_hidden = self.breakdown_hidden(role_moments.count, self.role_hidden)
            dims = [d.id for d in self.bank.dimensions]
            self.dim_role_gaps = role_gaps(
                Summary(*(getattr(by_role, f)[dims] for f in
                          ("n", "mean", "sd", "ci_low", "ci_high", "score"))),
                role_hidden[dims], self.scale)
            crossed = GroupMoments.of(respondents, [groups, roles])
            crossed_summary = Summary.of(crossed, self.scale)
        self.rwg_j: dict[str, pd.Series] = {}
        self.team_agreement: dict[str, pd.Series] = {}
        self.consensus: dict[str, float] = {}
        self.beyond_chance_share: dict[str, float] = {}
        self.teams_without_agreement: dict[str, int | None] = {}
        self.alpha: dict[str, float] = {}
        out: dict[str, dict] = {}
        ad_cutoff = ad_m_cutoff(self.options)
        for d in self.bank.dimensions:
            qids = [q.id for q in self.bank.questions_in(d.id)]
            dim_rwg_j = rwg_j(self.item_moments, self.null_var, qids)
            dim_skewed = (None if self.skewed_var is None
                          else rwg_j(self.item_moments, self.skewed_var, qids))
            # Each team's agreement on the dimension at the level of its items (not inflated by
            # the number of items), and the dimension's consensus as the mean of its items' mean
            # rwg over shown teams: the same figures the item rows show, so they cannot disagree.
            dim_agreement = item_agreement(self.item_rwg, qids)
            consensus = self.item_rwg_shown[qids].mean(axis=0).mean()
            consensus_skewed = (None if self.item_rwg_skewed is None else
                                self.item_rwg_skewed[qids].where(~self.item_hidden[qids])
                                .mean(axis=0).mean())
            dim_ad = self.item_ad[qids].mean(axis=1)
            counts = self.item_moments.count[qids]
            answered_items = (counts >= 2).sum(axis=1)
            typical_n = counts.where(counts >= 2).mean(axis=1)
            shown = ~hidden[d.id]
            icc1 = score_icc.at[d.id, "icc1"]
            reliability = team_reliability(moments.count[d.id].astype(float), icc1)
            self.rwg_j[d.id] = dim_rwg_j.where(shown)
            self.team_agreement[d.id] = dim_agreement.where(shown)
            self.consensus[d.id] = consensus
            self.alpha[d.id] = cronbach_alpha(scored[qids])
            group_cells: dict[str, Any] = {}
            dim_cells = by_group.column(d.id)
            beyond: list[bool] = []
            for g in moments.count.index:
                if hidden.at[g, d.id]:
                    group_cells[str(g)] = SUPPRESSED
                    continue
                chance = (None if self.pre_scored or pd.isna(typical_n[g]) else
                          rwg_j_chance(int(round(typical_n[g])), int(answered_items[g]),
                                       self.options))
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
                           and moments.count.at[g, lens_column(d.id, lens)] >= self.k else None)
                    for lens in ("architecture", "operating_model")
                }
                group_cells[str(g)] = cell
            self.beyond_chance_share[d.id] = (float(np.mean(beyond)) if beyond else np.nan)
            self.teams_without_agreement[d.id] = (None if self.pre_scored
                                                  else len(beyond) - sum(beyond))
            entry = {
                "title": d.title,
                "weight": d.weight,
                "items": qids,
                **overall.column(d.id)["all"],
                "alpha": self.alpha[d.id],
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
                "teams_without_agreement": self.teams_without_agreement[d.id],
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
            if roles is not None:
                entry["role_gap"] = self.dim_role_gaps.at[d.id, "difference"]
                entry["role_gap_test"] = {
                    key: self.dim_role_gaps.at[d.id, key]
                    for key in ("high", "low", "effect_size", "p_value", "p_adjusted", "q_value")}
                role_cells = by_role.column(d.id)
                entry["roles"] = {
                    str(r): SUPPRESSED if role_hidden.at[r, d.id] else role_cells[r]
                    for r in role_moments.count.index
                }
                entry["group_roles"] = self.group_role_cells(d.id, crossed, crossed_summary,
                                                            hidden[d.id], role_hidden[d.id])
            out[d.id] = entry
        return out

    def group_role_cells(self, dim_id: str, crossed: GroupMoments, summary: Summary,
                         group_hidden: pd.Series, role_hidden: pd.Series) -> dict:
        """One dimension's group x role table, suppressed as a two-way breakdown."""
        counts = crossed.count[dim_id].unstack(fill_value=0)
        counts = counts.reindex(index=group_hidden.index, columns=role_hidden.index, fill_value=0)
        already = (_rows_hidden(group_hidden, counts.columns)
                   | _rows_hidden(role_hidden, counts.index).T
                   | self.cell_hidden.reindex(index=counts.index, columns=counts.columns,
                                              fill_value=False))
        hidden = suppressed_cells(counts, self.k, hidden=already, lines=(0, 1))
        cells: dict[str, dict] = {}
        stats = summary.column(dim_id)
        for (g, r) in crossed.count.index:
            if counts.at[g, r] == 0:
                continue
            cells.setdefault(str(g), {})[str(r)] = SUPPRESSED if hidden.at[g, r] else stats[(g, r)]
        return cells

    # -- divergence -----------------------------------------------------------------------------

    def divergence(self) -> dict:
        start = time.perf_counter()
        items = divergent_items(self.bank, self.item_rwg_shown, self.item_split, self.item_icc,
                                self.item_group_scores, self.item_role_gaps)
        self.divergent = items
        self.divergent_count = pd.Series([e["dimension"] for e in items],
                                         dtype=object).value_counts()
        self.timings["divergent_items"] = time.perf_counter() - start
        start = time.perf_counter()
        model = PerceptionClusters(min_cluster_size=self.k,
                                   random_state=self.random_state).fit(self.data.scored)
        self.clusters = describe_clusters(
            model, self.data.scored, self.bank, groups=self.data.groups, roles=self.data.roles,
            group_hidden=self.group_hidden, role_hidden=self.role_hidden,
            min_group_size=self.k)
        self.timings["clusters"] = time.perf_counter() - start
        return {"items": items, "clusters": self.clusters}

    def agreement_terms(self) -> dict:
        """The nulls, cut-offs and error rates the agreement figures were judged by, so that
        pages, reports and the method appendix state what was computed."""
        return {
            "null": "uniform",
            "options": self.options,
            "null_variance": self.null_var,
            "slightly_skewed_variance": self.skewed_var,
            "agreement_threshold": CONSENSUS_THRESHOLD,
            "weak_threshold": WEAK_CONSENSUS,
            "beyond_chance_share": MIN_BEYOND_CHANCE_SHARE,
            "chance_level": CHANCE_LEVEL,
            "ad_m_cutoff": ad_m_cutoff(self.options),
            "reliability_threshold": RELIABILITY_THRESHOLD,
            "significance": SIGNIFICANCE,
            "effect_size": EFFECT_SIZE_NAME,
            "pre_scored": self.pre_scored,
            "note": (
                "Some answers are not on the answer scale's points (pre-scored data): rwg and "
                "rwg(j) compare variances with random answering over the scale's options, which "
                "such values do not follow, so no team is judged to agree beyond chance or to be "
                "split, and the agreement figures are indicative only."
                if self.pre_scored else None),
        }

    # -- alignment and facts --------------------------------------------------------------------

    def alignment(self) -> pd.DataFrame:
        rows = []
        overall = self.dim_overall
        for d in self.bank.dimensions:
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
                "consensus": self.consensus[d.id],
                "beyond_chance_share": self.beyond_chance_share[d.id],
            })
        self.table = align(pd.DataFrame(rows).set_index("dimension"), self.k)
        return self.table

    def facts(self, table: pd.DataFrame, clusters_k: int | None) -> Facts:
        dimensions: dict[str, dict[str, Any]] = {}
        for d in self.bank.dimensions:
            row = table.loc[d.id]
            role_gap = role_gap_q = None
            if self.data.roles is not None:
                role_gap = self.dim_role_gaps.at[d.id, "difference"]
                role_gap_q = self.dim_role_gaps.at[d.id, "q_value"]
            dimensions[d.id] = {
                "score": row["score"],
                "architecture": row["architecture"],
                "operating_model": row["operating_model"],
                "lens_gap": row["lens_gap"],
                "alignment": row["alignment"],
                "consensus": row["consensus"],
                "alpha": self.alpha[d.id],
                "role_gap": role_gap,
                "role_gap_p": role_gap_q,
                "teams_without_agreement": self.teams_without_agreement[d.id],
                "divergent_items": int(self.divergent_count.get(d.id, 0)),
            }
        for values in dimensions.values():
            for key, value in values.items():
                values[key] = _number(value)
        global_ = {
            "overall_alignment": _number(weighted_mean(table["alignment"], table["weight"])),
            "overall_score": _number(weighted_mean(table["score"], table["weight"])),
            "n_respondents": len(self.data.answers),
            "response_rate": _number(self.response_rate),
            "clusters": clusters_k,
        }
        return Facts(dimensions, global_)

    # -- evidence for recommendations -----------------------------------------------------------

    def evidence(self, dim_id: str | None, clauses: list[dict]) -> dict:
        """The items and reportable groups behind a firing rule (never a suppressed group)."""
        found: dict[str, Any] = {"facts": clauses, "items": [], "groups": []}
        facts = {c["fact"] for c in clauses}
        if "clusters" in facts:
            found["clusters"] = [{"id": c["id"], "label": c["label"], "share": c["share"]}
                                 for c in self.clusters["clusters"]]
        if dim_id is None:
            return found
        questions = self.bank.questions_in(dim_id)
        if facts & {"consensus", "role_gap", "role_gap_p", "divergent_items",
                     "teams_without_agreement"}:
            divergent = [e for e in self.divergent if e["dimension"] == dim_id]
            found["items"] = [{"item": e["item"], "lens": e["lens"], "reasons": e["reasons"],
                               "score": self.item_scores[e["item"]]}
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
            ranked = sorted(chosen, key=lambda q: _sort_value(self.item_scores[q.id]))
            found["items"] = [{"item": q.id, "lens": q.lens, "score": self.item_scores[q.id]}
                              for q in ranked[:EVIDENCE_ITEMS]]
        shown = ~self.dim_hidden[dim_id]
        scores = self.dim_by_group.score[dim_id][shown]
        agreement = self.team_agreement[dim_id][shown]
        key = agreement if facts & {"consensus", "teams_without_agreement"} else scores
        ordered = key.sort_values(na_position="last").index[:EVIDENCE_GROUPS]
        found["groups"] = [{"group": str(g), "score": scores[g], "rwg_mean": agreement[g],
                            "rwg_j": self.rwg_j[dim_id][g],
                            "n": self.dim_by_group.n.at[g, dim_id]} for g in ordered]
        if facts & {"role_gap", "role_gap_p"} and self.data.roles is not None:
            gap = self.dim_role_gaps.loc[dim_id]
            if pd.notna(gap["high"]):
                found["roles"] = {"high": str(gap["high"]), "low": str(gap["low"]),
                                  "difference": gap["difference"],
                                  "effect_size": gap["effect_size"], "p_value": gap["p_value"],
                                  "p_adjusted": gap["p_adjusted"], "q_value": gap["q_value"]}
        return found


def _agrees(level: Any, index: Any, chance: float | None) -> bool | None:
    """A team agrees when its item-level agreement `level` reaches the .70 convention and its rwg
    or rwg(j) `index` is beyond what random answering reaches (`chance`); None when there is no
    figure, or no chance value to judge it against (pre-scored answers)."""
    if chance is None or pd.isna(chance) or pd.isna(level) or pd.isna(index):
        return None
    return bool(level >= CONSENSUS_THRESHOLD and index > chance)


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

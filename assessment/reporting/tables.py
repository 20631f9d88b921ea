"""The aggregate tables of a report: what the Excel sheets and the CSV files hold.

Each table is built from the stored analysis (already suppressed below `min_group_size`) and the
report context; a suppressed cell is the text "suppressed", never a number. Every string a
spreadsheet could read as a formula is neutralised by `safe_cell`, the one place that rule lives:
team names, role names and comments are typed by people.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..analysis import agreement as agreement_stats
from ..analysis import alignment, clustering, divergence, scoring
from ..analysis import cycles as cycle_stats
from ..analysis.result import (
    AnalysisResult,
    Clause,
    DimensionCell,
    DimensionGroupCell,
    Suppressed,
)
from .readings import REASONS, appendix_notes, verdict_label

SUPPRESSED = "suppressed"
# A cell starting with one of these is a formula (or the start of one) to Excel, LibreOffice and
# Google Sheets; tab and carriage return are how a formula hides behind a harmless-looking cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    """One sheet or CSV file: a name, column headers, rows, and column widths (characters)."""

    name: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)


def safe_cell(value: Any) -> Any:
    """A value that a spreadsheet shows as written: formula-like text gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _round(value: Any, digits: int) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if digits == 0:
        return int(round(float(value)))
    return round(float(value), digits)


def score(value: Any) -> float | None:
    """A 0-100 figure, to one decimal."""
    return _round(value, 1)


def stat(value: Any) -> float | None:
    """An agreement or reliability statistic, to three decimals."""
    return _round(value, 3)


def _cell(group: DimensionCell | None, key: str, digits: int) -> Any:
    if group is None:
        return None
    if isinstance(group, Suppressed):
        return SUPPRESSED
    return _round(getattr(group, key), digits)


def _teams(r: AnalysisResult) -> list[str]:
    return sorted({g for d in r.dimensions.values() for g in d.groups})


def summary(ctx: dict[str, Any]) -> Table:
    r: AnalysisResult = ctx["r"]
    a = ctx["a"]
    overall = r.overall
    verdict = r.readiness.verdict
    rows = [
        ["Assessment", a.name],
        ["Question bank", f"{r.bank.title} (v{r.bank.version})"],
        ["Release", ctx["res"].release.seq if ctx["res"].release else None],
        ["Released", ctx["generated_at"].strftime("%Y-%m-%d %H:%M UTC")],
        ["Status", a.status.value],
        ["Readiness verdict", verdict_label(verdict) or "no gates defined"],
        ["Overall alignment (0-100)", score(overall.alignment)],
        ["Maturity: overall score (0-100)", score(overall.score)],
        ["Consensus: mean item rwg within teams", stat(overall.consensus)],
        ["Respondents (submitted)", r.n_respondents],
        ["Invited", ctx["invited"]],
        ["Response rate", _round(r.response_rate, 3)],
        ["Teams", overall.groups],
        ["Teams suppressed", overall.groups_suppressed],
        ["Roles", overall.roles],
        ["Roles suppressed", overall.roles_suppressed],
        ["Minimum group size", r.min_group_size],
        ["Comment threshold", ctx["comment_threshold"]],
        ["Suppression", r.suppressed_note],
    ]
    return Table("Summary", ["Field", "Value"], rows, [34, 70])


def responses(ctx: dict[str, Any]) -> Table:
    rows = [[t.team, *([SUPPRESSED] * 3)] if t.submitted is None
            else [t.team, t.invited, t.submitted, _round(t.rate, 3)]
            for t in ctx["rates"]]
    rows.append(["All teams", ctx["invited"], ctx["submitted"],
                 _round(ctx["submitted"] / ctx["invited"], 3) if ctx["invited"] else None])
    return Table("Responses", ["Team", "Invited", "Submitted", "Response rate"], rows,
                 [28, 10, 11, 14])


def dimensions(ctx: dict[str, Any]) -> Table:
    r: AnalysisResult = ctx["r"]
    rows = []
    for d, dim in r.dimensions.items():
        lenses = dim.lenses
        rows.append([
            d, ctx["dim_titles"].get(d, d), dim.weight, dim.n,
            score(dim.score),
            score(lenses.architecture), score(lenses.operating_model),
            score(dim.lens_gap), score(dim.alignment), stat(dim.consensus),
            stat(dim.consensus_skewed), stat(dim.rwg_j_mean),
            _of(dim.teams_agree, dim.teams_shown),
            _of(dim.teams_beyond_chance, dim.teams_shown),
            stat(dim.ad_m_mean), stat(dim.alpha), stat(dim.icc1),
            stat(dim.icc2), _round(dim.icc1_group_size, 1),
            _of(dim.teams_reliable, dim.teams_shown), score(dim.role_gap),
            _round(None if dim.role_gap_test is None else dim.role_gap_test.q_value, 4),
            "yes" if dim.low_confidence else "no", dim.divergent_items,
        ])
    return Table("Dimensions", [
        "Dimension", "Title", "Weight", "n", "Score", "Architecture", "Operating model",
        "Lens gap (A-O)", "Alignment", "Consensus: mean item rwg",
        "Consensus, slightly skewed null", "Mean rwg(j)", "Teams agreeing", "Teams beyond chance",
        "AD(M)", "Cronbach alpha",
        "ICC(1)", "ICC(2)", "ICC team size k", "Teams with reliable means", "Role gap (points)",
        "Role gap q (Holm, BH)", "Low confidence", "Divergent items",
    ], rows, [18, 36, 8, 7, 8, 12, 15, 14, 10, 16, 18, 12, 14, 16, 8, 14, 8, 8, 10, 16, 16, 14,
              14, 15])


def _of(count: Any, total: Any) -> str | None:
    return None if count is None or total is None else f"{count} of {total}"


def team_dimension(ctx: dict[str, Any]) -> Table:
    r: AnalysisResult = ctx["r"]
    rows = []
    for team in _teams(r):
        for d, dim in r.dimensions.items():
            cell = dim.groups.get(team)
            shown = cell if isinstance(cell, DimensionGroupCell) else None
            hidden = SUPPRESSED if isinstance(cell, Suppressed) else None
            architecture = None if shown is None else shown.lenses.architecture
            operating_model = None if shown is None else shown.lenses.operating_model
            gap = None
            if architecture is not None and operating_model is not None:
                gap = score(architecture - operating_model)
            reliable = hidden or (None if shown is None or shown.reliable is None
                                  else "yes" if shown.reliable else "no")
            rows.append([
                team, ctx["dim_titles"].get(d, d), _cell(cell, "n", 0), _cell(cell, "score", 1),
                hidden or score(architecture), hidden or score(operating_model), hidden or gap,
                _cell(cell, "reliability", 3), reliable,
            ])
    return Table("Team x dimension", ["Team", "Dimension", "n", "Score", "Architecture",
                                      "Operating model", "Lens gap (A-O)",
                                      "Reliability of the team mean", "Reliable (.70)"],
                 rows, [28, 36, 7, 8, 12, 15, 14, 16, 12])


def agreement_reading(cell: DimensionCell | None) -> str | None:
    """How a team's agreement on a dimension reads, in words shared with the pages."""
    if cell is None:
        return None
    if isinstance(cell, Suppressed):
        return SUPPRESSED
    if cell.agrees is None:
        return None if cell.rwg_j is None else "not judged (pre-scored answers)"
    if cell.agrees:
        return "agrees"
    chance = cell.rwg_j_chance
    if chance is not None and cell.rwg_j is not None and cell.rwg_j <= chance:
        return "no agreement beyond chance"
    return f"below {alignment.CONSENSUS_THRESHOLD:.2f}"


def agreement(ctx: dict[str, Any]) -> Table:
    r: AnalysisResult = ctx["r"]
    rows = []
    for d, dim in r.dimensions.items():
        for team in _teams(r):
            cell = dim.groups.get(team)
            ad_agrees = _cell(cell, "ad_m_agrees", 0)
            if ad_agrees not in (None, SUPPRESSED):
                ad_agrees = "agrees" if ad_agrees else "does not agree"
            rows.append([ctx["dim_titles"].get(d, d), team, _cell(cell, "n", 0),
                         _cell(cell, "rwg_mean", 3), _cell(cell, "rwg_j", 3),
                         _cell(cell, "rwg_j_chance", 3), _cell(cell, "rwg_j_skewed", 3),
                         agreement_reading(cell), _cell(cell, "ad_m", 3), ad_agrees])
    return Table("Agreement", ["Dimension", "Team", "n", "Mean item rwg", "rwg(j)",
                               "rwg(j) random answering reaches (95%)",
                               "rwg(j), slightly skewed null", "Reading", "AD(M)",
                               "AD(M) reading (c/6)"], rows,
                 [36, 28, 7, 12, 9, 20, 16, 26, 9, 16])


def items(ctx: dict[str, Any]) -> Table:
    r: AnalysisResult = ctx["r"]
    lo, hi = r.scale.min, r.scale.max
    points = [str(p) for p in range(lo, hi + 1)]
    flagged = {it.item: it.reasons for it in r.divergence.items}
    rows = []
    for qid, item in r.items.items():
        dist = item.distribution
        why = flagged.get(qid, [])
        rows.append([
            qid, ctx["dim_titles"].get(item.dimension, item.dimension),
            (item.lens or "").replace("_", " "), "yes" if item.reverse else "no",
            ctx["questions"].get(qid, qid), item.n, _round(item.mean, 2),
            _round(item.sd, 2), score(item.score), stat(item.rwg_mean),
            stat(item.ad_m_mean), stat(item.icc1), stat(item.icc2),
            *[dist.get(p, 0) for p in points], dist.get("dont_know", 0),
            ", ".join(REASONS.get(w, w) for w in why),
        ])
    return Table("Items", [
        "Item", "Dimension", "Lens", "Reverse", "Statement", "n", "Mean", "SD", "Score",
        "Mean rwg", "Mean AD(M)", "ICC(1)", "ICC(2)", *[f"Answered {p}" for p in points],
        "Don't know", "Divergent because",
    ], rows, [10, 30, 16, 8, 70, 6, 7, 7, 7, 9, 11, 8, 8, *[10] * len(points), 11, 30])


def divergent_items(ctx: dict[str, Any]) -> Table:
    r: AnalysisResult = ctx["r"]
    rows = []
    for rank, it in enumerate(r.divergence.items, start=1):
        gap = it.role_gap
        rows.append([
            rank, it.item, ctx["questions"].get(it.item, it.item),
            ctx["dim_titles"].get(it.dimension, it.dimension),
            ", ".join(REASONS.get(w, w) for w in it.reasons),
            it.groups_split, it.groups_below_agreement, it.reportable_groups,
            stat(it.icc1), _round(it.groups_p_value, 4),
            _round(it.groups_q_value, 4), score(it.group_spread),
            *([None] * 6 if gap is None else [
                gap.high, gap.low, score(gap.difference), _round(gap.effect_size, 2),
                _round(gap.p_value, 4), _round(gap.q_value, 4)]),
        ])
    return Table("Divergence", [
        "Rank", "Item", "Statement", "Dimension", "Why", "Teams split", "Teams below .70",
        "Reportable teams", "ICC(1)", "ANOVA p (teams)", "ANOVA q (BH)", "Spread of team scores",
        "Role higher", "Role lower", "Role gap (points)", "Cohen's d (pooled SD)",
        "Welch p (roles)", "Role gap q (Holm, BH)",
    ], rows, [6, 10, 70, 30, 36, 11, 15, 16, 8, 14, 12, 20, 14, 14, 16, 12, 14, 16])


def clusters(ctx: dict[str, Any]) -> Table:
    r: AnalysisResult = ctx["r"]
    found = r.divergence.clusters
    rows: list[list[Any]] = []
    for c in found.clusters:
        teams = [f"{g.group} ({int(g.n)})" for g in c.groups]
        if c.other_groups_n:
            teams.append(f"others ({int(c.other_groups_n)})")
        roles = [f"{g.role} ({int(g.n)})" for g in c.roles]
        if c.other_roles_n:
            roles.append(f"others ({int(c.other_roles_n)})")
        items_apart = [f"{d.item} {d.difference:+.2f}" for d in c.distinguishing_items]
        rows.append([c.id, c.label, c.size, _round(c.share, 3), "; ".join(teams),
                     "; ".join(roles), "; ".join(items_apart)])
    if not rows:
        rows.append(["none", found.note or "no clusters", found.n_clustered,
                     None, None, None, None])
    return Table("Clusters", ["Cluster", "Label", "Size", "Share", "Teams", "Roles",
                              "Distinguishing items (difference in answer points)"],
                 rows, [9, 50, 7, 8, 40, 30, 50])


def _facts(facts: list[Clause], dim_titles: dict[str, str]) -> str:
    parts = []
    for f in facts:
        where = f" ({dim_titles.get(f.dimension, f.dimension)})" if f.dimension else ""
        value = "no data" if f.value is None else f"{f.value:.2f}"
        parts.append(f"{f.fact.replace('_', ' ')}{where} = {value}, rule {f.op} "
                     f"{f.threshold}")
    return "; ".join(parts)


def recommendations(ctx: dict[str, Any]) -> Table:
    r: AnalysisResult = ctx["r"]
    rows = []
    for rank, rec in enumerate(r.recommendations, start=1):
        ev = rec.evidence
        rows.append([
            rank, rec.priority, rec.title,
            ctx["dim_titles"].get(rec.dimension, rec.dimension or ""),
            rec.text, _facts(ev.facts, ctx["dim_titles"]),
            "; ".join(f"{i.item} (score {i.score:.0f})" if i.score is not None
                      else i.item for i in ev.items),
            "; ".join(f"{g.group} (score {g.score:.0f})" if g.score is not None
                      else g.group for g in ev.groups),
        ])
    return Table("Recommendations", ["Rank", "Priority", "Title", "Dimension", "Text",
                                     "Evidence: facts", "Evidence: items", "Evidence: teams"],
                 rows, [6, 9, 44, 30, 80, 60, 40, 40])


def readiness(ctx: dict[str, Any]) -> Table:
    r: AnalysisResult = ctx["r"]
    ready = r.readiness
    rows = [["verdict", None, None, verdict_label(ready.verdict), None, None]]
    for g in ready.gates:
        ev = g.evidence
        rows.append([
            g.id, g.severity, "passed" if g.passed else "failed", g.reason,
            _facts(ev.clauses, ctx["dim_titles"]),
            ", ".join(ctx["dim_titles"].get(d, d) for d in ev.failing_dimensions),
        ])
    return Table("Readiness", ["Gate", "Severity", "Result", "Reason", "Evidence",
                               "Failing dimensions"], rows, [34, 9, 9, 60, 70, 30])


def comments(ctx: dict[str, Any]) -> Table:
    rows = [[ctx["dim_titles"].get(d, d), team, text]
            for d, by_team in ctx["comments"].items() for team, texts in by_team
            for text in texts]
    return Table("Comments", ["Dimension", "Team", "Comment"], rows, [30, 28, 100])


def method(ctx: dict[str, Any]) -> Table:
    return Table("Method", ["Term", "Definition"],
                 [[term, text] for term, text in method_notes(ctx)], [30, 120])


def method_notes(ctx: dict[str, Any]) -> list[tuple[str, str]]:
    """Every definition, test and threshold behind the report's numbers, read from the analysis
    result and the analysis modules so the appendix cannot drift from the computation."""
    r: AnalysisResult = ctx["r"]
    lo, hi = r.scale.min, r.scale.max
    options = hi - lo + 1
    null_var = (options * options - 1) / 12
    skewed = agreement_stats.slightly_skewed_variance(options)
    k = r.min_group_size
    cl = r.divergence.clusters
    test = cl.test
    threshold = cl.threshold
    silhouette = cl.silhouette
    reverse = sum(1 for q in ctx["bank"].questions if q.reverse)
    agree = alignment.CONSENSUS_THRESHOLD
    weak = alignment.WEAK_CONSENSUS
    alpha = divergence.SIGNIFICANCE
    notes = [
        ("Answers", f"A {lo}-{hi} scale ({options} options). “Don’t know” is stored as no answer "
                    "and left out of every statistic; it is counted apart in the answer "
                    "distributions."),
        ("Missing answers", "Handled pairwise: every statistic of an item uses every answer to "
                            "it; a team’s rwg(j) and AD(M) average the items with two or more "
                            "answers in the team (J counts those items); Cronbach’s alpha uses "
                            "pairwise covariances, as psych::alpha does. No respondent is "
                            "dropped for a blank elsewhere (listwise deletion, as in the R "
                            "package multilevel 2.7, would drop most respondents of a long "
                            "dimension)."),
        ("Reverse scoring", f"{reverse} statements are worded the other way round; their answers "
                            f"are flipped (x becomes {lo}+{hi}−x = {lo + hi}−x) before any "
                            "statistic is computed."),
        ("Scores 0–100", f"A respondent’s dimension (or lens) score is the mean of their answered "
                         f"items in it, given they answered at least "
                         f"{scoring.MIN_ANSWERED_SHARE:.0%} of them (otherwise they have no "
                         f"score there); group and overall scores are means of respondent "
                         f"scores. Shown as (mean − {lo}) / ({hi} − {lo}) × 100. 95% confidence "
                         "intervals are t intervals cut at the ends of the scale."),
        ("Lens scores", "A (architecture: the platform carries it) and O (operating model: it is "
                        "defined and agreed) are the 0–100 scores of a dimension’s statements "
                        "in each lens."),
        ("Lens gap", "A − O in points. Negative: the platform lags the way the business says it "
                     "works; positive: the platform leads it."),
        ("Alignment", "Per dimension 100 − |A − O|. Overall alignment is the weight-averaged "
                      "alignment over the dimensions that have both lenses."),
        ("Maturity", "The overall score: the weight-averaged dimension score (0–100). Reported "
                     "beside alignment, never folded into it."),
        ("rwg", f"Within-team agreement on one item (James, Demaree & Wolf 1984): 1 − s²/σ², s² "
                f"the team’s sample variance capped at σ², against the uniform null "
                f"σ² = (A² − 1)/12 = {null_var:.2f} for A = {options} options"
                + (f", and against LeBreton & Senter’s (2008) slightly skewed null "
                   f"(σ² = {skewed:.2f}), the answers of people with no shared view but a mild "
                   "leniency, as in most surveys." if skewed is not None else
                   "; LeBreton & Senter (2008) tabulate no slightly skewed null for this "
                   "number of options.")),
        ("rwg(j)", "Agreement over a dimension’s J items: J(1 − m/σ²) / (J(1 − m/σ²) + m/σ²), "
                   "m the mean of the J item variances, capped at σ². It rises with J "
                   "(Spearman–Brown): at J = 10 it reaches .70 when single items agree at .19, so "
                   "it is shown but not read as consensus."),
        ("Consensus", f"Per team, the mean rwg of the dimension’s items (Lindell, Brandt & "
                      f"Whitney’s r*wg(j), with each item capped as its rwg is); per dimension "
                      f"the mean over its items of their mean rwg in shown teams, the very "
                      f"figures shown for the items, so a dimension and its items cannot "
                      f"disagree; overall the weight-averaged dimension consensus. Read in "
                      f"LeBreton & Senter’s bands: {agree:.2f} and above teams agree, "
                      f"{weak:.2f}–{agree:.2f} moderate, below {weak:.2f} weak or no agreement."),
        ("Agreement beyond chance", f"What random answering gives, simulated for each team’s "
                                    f"size, number of items and options (as multilevel’s "
                                    f"rwg.sim and rwg.j.sim, with a fixed seed; teams of 100 "
                                    f"and more at their size to two significant digits): a "
                                    f"team’s rwg(j) must exceed the value random answering "
                                    f"reaches in {1 - agreement_stats.CHANCE_LEVEL:.0%} of "
                                    f"teams (Dunlap et al. 2003). A team agrees on a dimension "
                                    f"when its mean item rwg is {agree:.2f} or more and its "
                                    f"rwg(j) is beyond chance; on an item when its rwg is both."),
        ("AD(M)", f"Average deviation (Burke & Dunlap 2002): the mean absolute deviation from the "
                  f"team mean, averaged over a dimension’s items; smaller is more agreement, "
                  f"and up to c/6 = {options}/6 = {options / 6:.2f} reads as agreement. AD(M) "
                  "measures the spread on the answer scale itself, without a null, and does not "
                  "grow with the number of items. Its cut-off is the more lenient: it matches an "
                  "rwg of about .45 (answers spread normally) to .55 (evenly), so the pages say "
                  "where the two read a team differently."),
        ("ICC(1), ICC(2)", "From a one-way ANOVA of respondent scores by team, over the shown "
                           "teams only (Bliese 2000): ICC(1) = (MSB − MSW) / (MSB + (k − 1) MSW) "
                           "with k = N/G the mean team size (as multilevel’s ICC1; the n0 of "
                           "unbalanced designs would differ a little); ICC(2) = (MSB − MSW) / "
                           "MSB, the reliability of team means at the mean team size."),
        ("Reliability of a team’s mean", f"Each shown team’s own: n·ICC(1) / (1 + (n − 1)·ICC(1)) "
                                         f"at its size n (ICC(1) below 0 counts as 0). Means "
                                         f"below {alignment.RELIABILITY_THRESHOLD:.2f} are "
                                         f"marked: a small team’s mean moves with who happened "
                                         f"to answer."),
        ("Cronbach’s alpha", "J/(J − 1) × (1 − Σ item variances / variance of the total), per "
                             "dimension, from pairwise covariances, over all respondents."),
        ("Low confidence", f"A dimension is marked low confidence when its consensus is below "
                           f"{weak:.2f}, when fewer than "
                           f"{alignment.MIN_BEYOND_CHANCE_SHARE:.0%} of shown teams agree beyond "
                           f"chance, or when fewer than {alignment.MIN_GROUPS_WORTH} × {k} "
                           "respondents answered it or one of its lenses."),
        ("Divergent items", f"Three tests per item, with the false discovery rate held at "
                            f"{alpha} across items (Benjamini–Hochberg). Teams split: a shown "
                            f"team’s answers are more spread than random answering gives "
                            f"(simulated, as above; BH over every shown team and item), and "
                            f"the item’s mean rwg is below {divergence.AGREEMENT_RWG:.2f}. Teams "
                            f"differ: one-way ANOVA over the shown teams, BH-adjusted q < "
                            f"{alpha}, and ICC(1) ≥ {divergence.GROUP_EFFECT_ICC1:.2f}. Roles "
                            f"differ: see the role-gap test. Ranked by the number of reasons, "
                            "then their strength."),
        ("Role-gap test", f"Every pair of shown roles is compared with Welch’s t-test; within an "
                          f"item (or dimension) the pairs’ p-values are Holm-adjusted, so the "
                          f"highest and lowest role, which are picked for being furthest "
                          f"apart, are judged fairly; across items (or dimensions) the "
                          f"adjusted p-values are BH-adjusted. Roles differ when q < {alpha} "
                          f"and |d| ≥ {divergence.ROLE_EFFECT_SIZE}, d being "
                          f"{divergence.EFFECT_SIZE_NAME}. People of hidden teams are left out. "
                          "The gap is reported in 0–100 points."),
        ("Perception clusters", f"{(cl.method or 'kmeans').replace('kmeans', 'k-means')} on "
                                "respondents’ standardised item answers (“don’t know” imputed by "
                                "the item mean; respondents who answered fewer than "
                                f"{clustering.MIN_ANSWERED_SHARE:.0%} of items left out), k tried "
                                f"from 2 to {clustering.MAX_CLUSTERS} on a sample of up to "
                                f"{clustering.SELECTION_SAMPLE} respondents put in a canonical "
                                f"order (the result does not depend on the order of the "
                                f"answers), every cluster at least {k} people. Reference: one "
                                "population of the same answers (each item’s own distribution, "
                                "made unimodal, and the items’ correlations, through a Gaussian "
                                "copula calibrated to the data’s correlations with their "
                                "sampling noise removed), clustered the same way in "
                                f"{test.draws or 'several'} draws (after "
                                f"{clustering.FIRST_LOOK} draws the test stops when the data lie "
                                f"less than {clustering.FUTILITY_T:.0f} reference spread or "
                                f"less than {clustering.MIN_GAIN / 2} above it at every k, which "
                                "can only keep “no distinct groups”). A k "
                                "counts only when "
                                "its silhouette lies above the reference’s t prediction bound "
                                f"shifted up by {clustering.NEGLIGIBLE_GAIN} (a minimum-effect "
                                f"test: gains up to {clustering.NEGLIGIBLE_GAIN} count as none) "
                                f"at level {clustering.SIGNIFICANCE} over all k tried "
                                "(Bonferroni) and beats the reference’s mean by at least "
                                f"{clustering.MIN_GAIN} (the practical size: a test at level "
                                f"{clustering.SIGNIFICANCE} alone passes on about one data set "
                                "in a hundred without groups, which does so by a smaller gain); "
                                "of those, the k furthest above the reference’s "
                                "mean wins, else there are no distinct clusters."
                                + (f" Here: k = {cl.k}, silhouette "
                                   f"{silhouette:.3f} against a bar of "
                                   f"{threshold:.3f}, gain over one population "
                                   f"{test.gain or 0:.3f} (at least "
                                   f"{clustering.MIN_GAIN}), p = {test.p_value:.2g}."
                                   if threshold is not None and silhouette is not None
                                   and test.p_value is not None else "")),
        ("Suppression", f"No team, role, team × role cell or cluster composition of fewer than "
                        f"{k} respondents is shown. Complementary suppression: where one hidden "
                        f"cell, or hidden cells adding up to fewer than {k} people, could be "
                        "worked out from a shown total, the next smallest shown cell is hidden "
                        "too. Hidden cells read “suppressed”. Statistics that combine teams "
                        "(ICC, ANOVA, agreement means, role tests) use the shown teams only."),
        ("Comments", f"Shown only from teams with at least {ctx['comment_threshold']} submitted "
                     "responses; smaller teams are left out without being named."),
        ("Recommendations and readiness", "Rules from the question bank, each citing the facts "
                                          "it tested. Readiness: not ready if a blocking gate "
                                          "fails, ready with conditions if only warning gates "
                                          "fail, ready when every gate passes."),
        *appendix_notes(),
    ]
    note = r.agreement.note
    if note:
        notes.append(("Pre-scored answers", note))
    if ctx.get("comparison") and ctx["comparison"].change:
        notes.append(("Change since the previous cycle",
                      f"Welch’s two-sample t-test on respondent dimension scores at p < "
                      f"{cycle_stats.SIGNIFICANCE}, with {divergence.EFFECT_SIZE_NAME}; the "
                      "cycles are independent samples. A team hidden in either cycle is not "
                      "compared."))
    return notes


SHEETS = (summary, responses, dimensions, team_dimension, items, agreement, divergent_items,
          clusters, recommendations, readiness, comments, method)


def aggregate_tables(ctx: dict[str, Any]) -> list[Table]:
    """Every table of the report, in sheet order."""
    return [build(ctx) for build in SHEETS]

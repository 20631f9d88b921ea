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

from ..analysis import alignment, clustering, divergence
from ..analysis import cycles as cycle_stats
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


def _cell(group: dict | None, key: str, digits: int) -> Any:
    if group is None:
        return None
    if group.get("suppressed"):
        return SUPPRESSED
    return _round(group.get(key), digits)


def _teams(r: dict) -> list[str]:
    return sorted({g for d in r["dimensions"].values() for g in d.get("groups", {})})


def summary(ctx: dict) -> Table:
    r, a = ctx["r"], ctx["a"]
    overall = r["overall"]
    verdict = (r.get("readiness") or {}).get("verdict")
    rows = [
        ["Assessment", a.name],
        ["Question bank", f"{r['bank']['title']} (v{r['bank']['version']})"],
        ["Release", ctx["res"].release.seq if ctx["res"].release else None],
        ["Released", ctx["generated_at"].strftime("%Y-%m-%d %H:%M UTC")],
        ["Status", a.status.value],
        ["Readiness verdict", verdict_label(verdict) or "no gates defined"],
        ["Overall alignment (0-100)", score(overall.get("alignment"))],
        ["Maturity: overall score (0-100)", score(overall.get("score"))],
        ["Consensus: mean rwg(j)", stat(overall.get("consensus"))],
        ["Respondents (submitted)", r["n_respondents"]],
        ["Invited", ctx["invited"]],
        ["Response rate", _round(r.get("response_rate"), 3)],
        ["Teams", overall.get("groups")],
        ["Teams suppressed", overall.get("groups_suppressed")],
        ["Roles", overall.get("roles")],
        ["Roles suppressed", overall.get("roles_suppressed")],
        ["Minimum group size", r["min_group_size"]],
        ["Comment threshold", ctx["comment_threshold"]],
        ["Suppression", r.get("suppressed_note")],
    ]
    return Table("Summary", ["Field", "Value"], rows, [34, 70])


def responses(ctx: dict) -> Table:
    rows = [[t.team, *([SUPPRESSED] * 3)] if t.submitted is None
            else [t.team, t.invited, t.submitted, _round(t.rate, 3)]
            for t in ctx["rates"]]
    rows.append(["All teams", ctx["invited"], ctx["submitted"],
                 _round(ctx["submitted"] / ctx["invited"], 3) if ctx["invited"] else None])
    return Table("Responses", ["Team", "Invited", "Submitted", "Response rate"], rows,
                 [28, 10, 11, 14])


def dimensions(ctx: dict) -> Table:
    rows = []
    for d, dim in ctx["r"]["dimensions"].items():
        lenses = dim.get("lenses") or {}
        rows.append([
            d, ctx["dim_titles"].get(d, d), dim.get("weight"), dim.get("n"),
            score(dim.get("score")),
            score(lenses.get("architecture")), score(lenses.get("operating_model")),
            score(dim.get("lens_gap")), score(dim.get("alignment")), stat(dim.get("consensus")),
            stat(dim.get("ad_m_mean")), stat(dim.get("alpha")), stat(dim.get("icc1")),
            stat(dim.get("icc2")), score(dim.get("role_gap")),
            "yes" if dim.get("low_confidence") else "no", dim.get("divergent_items"),
        ])
    return Table("Dimensions", [
        "Dimension", "Title", "Weight", "n", "Score", "Architecture", "Operating model",
        "Lens gap (A-O)", "Alignment", "Consensus rwg(j)", "AD(M)", "Cronbach alpha", "ICC(1)",
        "ICC(2)", "Role gap (points)", "Low confidence", "Divergent items",
    ], rows, [18, 36, 8, 7, 8, 12, 15, 14, 10, 16, 8, 14, 8, 8, 16, 14, 15])


def team_dimension(ctx: dict) -> Table:
    r = ctx["r"]
    rows = []
    for team in _teams(r):
        for d, dim in r["dimensions"].items():
            cell = dim.get("groups", {}).get(team)
            lens = None if cell is None or cell.get("suppressed") else cell.get("lenses") or {}
            hidden = SUPPRESSED if cell is not None and cell.get("suppressed") else None
            gap = None
            if lens and lens.get("architecture") is not None \
                    and lens.get("operating_model") is not None:
                gap = score(lens["architecture"] - lens["operating_model"])
            rows.append([
                team, ctx["dim_titles"].get(d, d), _cell(cell, "n", 0), _cell(cell, "score", 1),
                hidden or score((lens or {}).get("architecture")),
                hidden or score((lens or {}).get("operating_model")), hidden or gap,
            ])
    return Table("Team x dimension", ["Team", "Dimension", "n", "Score", "Architecture",
                                      "Operating model", "Lens gap (A-O)"],
                 rows, [28, 36, 7, 8, 12, 15, 14])


def agreement(ctx: dict) -> Table:
    r = ctx["r"]
    rows = []
    for d, dim in r["dimensions"].items():
        for team in _teams(r):
            cell = dim.get("groups", {}).get(team)
            rwg = _cell(cell, "rwg_j", 3)
            if rwg == SUPPRESSED:
                reading = SUPPRESSED
            elif rwg is None:
                reading = None
            else:
                reading = "agrees" if rwg >= divergence.AGREEMENT_RWG else "below .70"
            rows.append([ctx["dim_titles"].get(d, d), team, _cell(cell, "n", 0), rwg,
                         _cell(cell, "ad_m", 3), reading])
    return Table("Agreement", ["Dimension", "Team", "n", "rwg(j)", "AD(M)", "Reading"], rows,
                 [36, 28, 7, 9, 9, 12])


def items(ctx: dict) -> Table:
    r = ctx["r"]
    lo, hi = r["scale"]["min"], r["scale"]["max"]
    points = [str(p) for p in range(lo, hi + 1)]
    flagged = {it["item"]: it for it in r.get("divergence", {}).get("items", [])}
    rows = []
    for qid, item in r["items"].items():
        dist = item.get("distribution") or {}
        why = flagged.get(qid, {}).get("reasons", [])
        rows.append([
            qid, ctx["dim_titles"].get(item["dimension"], item["dimension"]),
            (item.get("lens") or "").replace("_", " "), "yes" if item.get("reverse") else "no",
            ctx["questions"].get(qid, qid), item.get("n"), _round(item.get("mean"), 2),
            _round(item.get("sd"), 2), score(item.get("score")), stat(item.get("rwg_mean")),
            stat(item.get("ad_m_mean")), stat(item.get("icc1")), stat(item.get("icc2")),
            *[dist.get(p, 0) for p in points], dist.get("dont_know", 0),
            ", ".join(REASONS.get(w, w) for w in why),
        ])
    return Table("Items", [
        "Item", "Dimension", "Lens", "Reverse", "Statement", "n", "Mean", "SD", "Score",
        "Mean rwg", "Mean AD(M)", "ICC(1)", "ICC(2)", *[f"Answered {p}" for p in points],
        "Don't know", "Divergent because",
    ], rows, [10, 30, 16, 8, 70, 6, 7, 7, 7, 9, 11, 8, 8, *[10] * len(points), 11, 30])


def divergent_items(ctx: dict) -> Table:
    rows = []
    for rank, it in enumerate(ctx["r"].get("divergence", {}).get("items", []), start=1):
        gap = it.get("role_gap") or {}
        rows.append([
            rank, it["item"], ctx["questions"].get(it["item"], it["item"]),
            ctx["dim_titles"].get(it["dimension"], it["dimension"]),
            ", ".join(REASONS.get(w, w) for w in it.get("reasons", [])),
            it.get("groups_below_agreement"), it.get("reportable_groups"), stat(it.get("icc1")),
            _round(it.get("groups_p_value"), 4), score(it.get("group_spread")),
            gap.get("high"), gap.get("low"), score(gap.get("difference")),
            _round(gap.get("effect_size"), 2), _round(gap.get("p_value"), 4),
        ])
    return Table("Divergence", [
        "Rank", "Item", "Statement", "Dimension", "Why", "Teams below .70", "Reportable teams",
        "ICC(1)", "ANOVA p (teams)", "Spread of team scores", "Role higher", "Role lower",
        "Role gap (points)", "Cohen's d", "Welch p (roles)",
    ], rows, [6, 10, 70, 30, 36, 15, 16, 8, 14, 20, 14, 14, 16, 10, 14])


def clusters(ctx: dict) -> Table:
    found = ctx["r"].get("divergence", {}).get("clusters", {}) or {}
    rows = []
    for c in found.get("clusters") or []:
        teams = [f"{g['group']} ({int(g['n'])})" for g in c.get("groups") or []]
        if c.get("other_groups_n"):
            teams.append(f"others ({int(c['other_groups_n'])})")
        roles = [f"{g['role']} ({int(g['n'])})" for g in c.get("roles") or []]
        if c.get("other_roles_n"):
            roles.append(f"others ({int(c['other_roles_n'])})")
        items_apart = [f"{d['item']} {d['difference']:+.2f}"
                       for d in c.get("distinguishing_items") or []]
        rows.append([c["id"], c["label"], c["size"], _round(c.get("share"), 3), "; ".join(teams),
                     "; ".join(roles), "; ".join(items_apart)])
    if not rows:
        rows.append(["none", found.get("note") or "no clusters", found.get("n_clustered"),
                     None, None, None, None])
    return Table("Clusters", ["Cluster", "Label", "Size", "Share", "Teams", "Roles",
                              "Distinguishing items (difference in answer points)"],
                 rows, [9, 50, 7, 8, 40, 30, 50])


def _facts(facts: list[dict], dim_titles: dict[str, str]) -> str:
    parts = []
    for f in facts:
        where = f" ({dim_titles.get(f['dimension'], f['dimension'])})" if f.get("dimension") else ""
        value = "no data" if f.get("value") is None else f"{f['value']:.2f}"
        parts.append(f"{f['fact'].replace('_', ' ')}{where} = {value}, rule {f['op']} "
                     f"{f['threshold']}")
    return "; ".join(parts)


def recommendations(ctx: dict) -> Table:
    rows = []
    for rank, rec in enumerate(ctx["r"].get("recommendations", []), start=1):
        ev = rec.get("evidence") or {}
        rows.append([
            rank, rec.get("priority"), rec.get("title"),
            ctx["dim_titles"].get(rec.get("dimension"), rec.get("dimension") or ""),
            rec.get("text"), _facts(ev.get("facts") or [], ctx["dim_titles"]),
            "; ".join(f"{i['item']} (score {i['score']:.0f})" if i.get("score") is not None
                      else i["item"] for i in ev.get("items") or []),
            "; ".join(f"{g['group']} (score {g['score']:.0f})" if g.get("score") is not None
                      else g["group"] for g in ev.get("groups") or []),
        ])
    return Table("Recommendations", ["Rank", "Priority", "Title", "Dimension", "Text",
                                     "Evidence: facts", "Evidence: items", "Evidence: teams"],
                 rows, [6, 9, 44, 30, 80, 60, 40, 40])


def readiness(ctx: dict) -> Table:
    ready = ctx["r"].get("readiness") or {}
    rows = [["verdict", None, None, verdict_label(ready.get("verdict")),
             None, None]]
    for g in ready.get("gates") or []:
        ev = g.get("evidence") or {}
        rows.append([
            g["id"], g["severity"], "passed" if g["passed"] else "failed", g.get("reason"),
            _facts(ev.get("clauses") or [], ctx["dim_titles"]),
            ", ".join(ctx["dim_titles"].get(d, d) for d in ev.get("failing_dimensions") or []),
        ])
    return Table("Readiness", ["Gate", "Severity", "Result", "Reason", "Evidence",
                               "Failing dimensions"], rows, [34, 9, 9, 60, 70, 30])


def comments(ctx: dict) -> Table:
    rows = [[ctx["dim_titles"].get(d, d), team, text]
            for d, by_team in ctx["comments"].items() for team, texts in by_team
            for text in texts]
    return Table("Comments", ["Dimension", "Team", "Comment"], rows, [30, 28, 100])


def method(ctx: dict) -> Table:
    return Table("Method", ["Term", "Definition"],
                 [[term, text] for term, text in method_notes(ctx)], [30, 120])


def method_notes(ctx: dict) -> list[tuple[str, str]]:
    """Every definition and threshold behind the report's numbers, read from the analysis result
    and the analysis modules so the appendix cannot drift from the computation."""
    r = ctx["r"]
    lo, hi = r["scale"]["min"], r["scale"]["max"]
    options = hi - lo + 1
    null_var = (options * options - 1) / 12
    k = r["min_group_size"]
    cl = r.get("divergence", {}).get("clusters", {}) or {}
    threshold = cl.get("threshold")
    reverse = sum(1 for q in ctx["bank"].questions if q.reverse)
    notes = [
        ("Answers", f"A {lo}-{hi} scale ({options} options). “Don’t know” is stored as no answer "
                    "and left out of every statistic; it is counted apart in the answer "
                    "distributions."),
        ("Reverse scoring", f"{reverse} statements are worded the other way round; their answers "
                            f"are flipped (x becomes {lo}+{hi}−x = {lo + hi}−x) before any "
                            "statistic is computed."),
        ("Scores 0–100", f"A respondent’s dimension score is the mean of their answered items in "
                         f"the dimension; group and overall scores are means of respondent "
                         f"scores. Shown as (mean − {lo}) / ({hi} − {lo}) × 100."),
        ("Lens scores", "A (architecture: the platform carries it) and O (operating model: it is "
                        "defined and agreed) are the 0–100 scores of a dimension’s statements "
                        "in each lens."),
        ("Lens gap", "A − O in points. Negative: the platform lags the way the business says it "
                     "works; positive: the platform leads it."),
        ("Alignment", "Per dimension 100 − |A − O|. Overall alignment is the weight-averaged "
                      "alignment over the dimensions that have both lenses."),
        ("Maturity", "The overall score: the weight-averaged dimension score (0–100). Reported "
                     "beside alignment, never folded into it."),
        ("Consensus", "Per dimension the mean rwg(j) over reportable teams; overall the "
                      "weight-averaged dimension consensus."),
        ("rwg", f"Within-team agreement on one item (James, Demaree & Wolf 1984): 1 − s²/σ², s² "
                f"the team’s sample variance capped at σ², against the uniform null "
                f"σ² = (A² − 1)/12 = {null_var:.2f} for A = {options} options."),
        ("rwg(j)", "Agreement over a dimension’s J items: J(1 − m/σ²) / (J(1 − m/σ²) + m/σ²), "
                   "m the mean of the J item variances, capped at σ²."),
        ("AD(M)", "Average deviation (Burke & Dunlap 2002): the mean absolute deviation from the "
                  "team mean, averaged over a dimension’s items; smaller is more agreement."),
        ("ICC(1), ICC(2)", "From a one-way ANOVA of respondent scores by team (Bliese 2000): "
                           "ICC(1) = (MSB − MSW) / (MSB + (k − 1) MSW) with k = N/G the mean "
                           "team size; ICC(2) = (MSB − MSW) / MSB, the reliability of team means."),
        ("Cronbach’s alpha", "J/(J − 1) × (1 − Σ item variances / variance of the total), per "
                             "dimension, from pairwise covariances."),
        ("Agreement convention", f"rwg and rwg(j) of {alignment.CONSENSUS_THRESHOLD:.2f} and above "
                                 "are read as agreement (LeBreton & Senter 2008)."),
        ("Low confidence", f"A dimension is marked low confidence when its consensus is below "
                           f"{alignment.CONSENSUS_THRESHOLD:.2f}, or fewer than "
                           f"{alignment.MIN_GROUPS_WORTH} × {k} respondents answered it or one of "
                           "its lenses."),
        ("Divergent items", f"Listed when at least {divergence.DISAGREEMENT_SHARE:.0%} of "
                            f"reportable teams have rwg below {divergence.AGREEMENT_RWG:.2f} "
                            f"(disagree within teams); or ICC(1) ≥ "
                            f"{divergence.GROUP_EFFECT_ICC1:.2f} with a one-way ANOVA p < "
                            f"{divergence.SIGNIFICANCE} (teams differ); or roles differ. Ranked "
                            "by the number of reasons, then their strength."),
        ("Role-gap test", f"Between the highest and the lowest reportable role mean: Welch’s "
                          f"t-test and Cohen’s d with the pooled SD; roles differ when "
                          f"|d| ≥ {divergence.ROLE_EFFECT_SIZE} and p < "
                          f"{divergence.SIGNIFICANCE}. The gap is reported in 0–100 points."),
        ("Perception clusters", f"{(cl.get('method') or 'kmeans').replace('kmeans', 'k-means')} on "
                                "respondents’ standardised item answers (“don’t know” imputed by "
                                "the item mean; respondents who answered fewer than "
                                f"{clustering.MIN_ANSWERED_SHARE:.0%} of items left out), k tried "
                                f"from 2 to {clustering.MAX_CLUSTERS}, every cluster at least "
                                f"{k} people. A k counts only when its silhouette beats the "
                                "silhouette of the same k-means on one Gaussian cloud with the "
                                "data’s covariance by "
                                f"{clustering.SILHOUETTE_MARGIN}; the k that beats it by most "
                                "wins, else there are no distinct clusters."
                                + (f" Here: threshold {threshold:.3f}, best silhouette "
                                   f"{cl['silhouette']:.3f}, k = {cl.get('k')}."
                                   if threshold is not None and cl.get("silhouette") is not None
                                   else "")),
        ("Suppression", f"No team, role, team × role cell or cluster composition of fewer than "
                        f"{k} respondents is shown. Complementary suppression: where one hidden "
                        f"cell, or hidden cells adding up to fewer than {k} people, could be "
                        "worked out from a shown total, the next smallest shown cell is hidden "
                        "too. Hidden cells read “suppressed”."),
        ("Comments", f"Shown only from teams with at least {ctx['comment_threshold']} submitted "
                     "responses; smaller teams are left out without being named."),
        ("Recommendations and readiness", "Rules from the question bank, each citing the facts "
                                          "it tested. Readiness: not ready if a blocking gate "
                                          "fails, ready with conditions if only warning gates "
                                          "fail, ready when every gate passes."),
        *appendix_notes(),
    ]
    if ctx.get("comparison") and ctx["comparison"].change:
        notes.append(("Change since the previous cycle",
                      f"Welch’s two-sample t-test on respondent dimension scores at p < "
                      f"{cycle_stats.SIGNIFICANCE}; the cycles are independent samples. A team "
                      "hidden in either cycle is not compared."))
    return notes


SHEETS = (summary, responses, dimensions, team_dimension, items, agreement, divergent_items,
          clusters, recommendations, readiness, comments, method)


def aggregate_tables(ctx: dict) -> list[Table]:
    """Every table of the report, in sheet order."""
    return [build(ctx) for build in SHEETS]

"""Charts for the results pages and reports: matplotlib's object API (never pyplot, which keeps
global state and is not safe in a web process), drawn to SVG for inline use.

Every chart comes with a title, a text alternative and the table behind it, so a reader who
cannot see the chart (or prints in black and white) loses nothing. Colours are colour-blind safe:
Okabe-Ito for categories, purple-orange for the diverging answer scale, cividis for heatmaps.
Suppressed cells are drawn hatched and never carry a value.

For WCAG 2.2 AA: no text is smaller than 9 pt (12 CSS px at the size the page shows a chart,
which it never shrinks); text on a coloured cell is black or white, whichever contrasts more
with that cell (at least 4.5:1); every line and bar has a colour or an outline of at least 3:1
against white (1.4.11); and series differ by more than colour (markers, line styles, hatching,
direct labels: 1.4.1).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field
from typing import Any, Literal

import matplotlib
import numpy as np
from coloraide import Color
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ..analysis.result import AnalysisResult, Suppressed

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
             "#000000"]
# Okabe-Ito hues that reach 3:1 against white, the light ones (orange, sky blue, yellow)
# darkened, for lines and small marks that must stand out on their own (WCAG 1.4.11).
LINE_COLOURS = ["#0072B2", "#D55E00", "#00845F", "#B8528F", "#000000", "#A86800", "#2A7BA8"]
LINE_STYLES = ["-", "--", ":", "-.", (0, (6, 2, 1, 2, 1, 2)), (0, (1, 1)), (0, (8, 3))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
OUTLINE = "#1b1f24"  # drawn around fills lighter than 3:1 against white
MIN_FONT = 9  # points: 12 CSS px at the size the page shows a chart
LENS_COLOURS = {"architecture": "#0072B2", "operating_model": "#A86800"}
LENS_HATCHES = {"architecture": None, "operating_model": "//"}
LENS_NAMES = {"architecture": "Architecture (the platform carries it)",
              "operating_model": "Operating model (it is defined and agreed)"}
SUPPRESSED_COLOUR = "#e6e6e6"
AGREEMENT_LINE = 0.70
UNRELIABLE_MARK = "†"  # beside a team whose own mean has reliability below .70


@dataclass
class Chart:
    id: str
    title: str
    alt: str
    svg: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)


def _scale_colours(n: int) -> list[str]:
    """Purple-orange diverging colours, one per scale point, grey in the middle."""
    cmap = matplotlib.colormaps["PuOr"]
    colours = [matplotlib.colors.to_hex(cmap(x)) for x in np.linspace(0.1, 0.9, n)]
    if n % 2 == 1:
        colours[n // 2] = "#bdbdbd"
    return colours[::-1]  # disagree = orange, agree = purple


def _svg(fig: Figure, chart_id: str, title: str, alt: str) -> str:
    """Accessible inline SVG: sized by its container, with <title> and <desc>, and ids made
    unique per chart so several charts can share one page."""
    buf = io.StringIO()
    # Names are people's text: "$...$" in a team name is not mathtext (it could fail the page).
    for label in fig.findobj(matplotlib.text.Text):
        label.set_parse_math(False)
    # No date in the file: a chart of one release is the same file whenever it is drawn.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": chart_id,
                                "text.parse_math": False}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    esc = _escape
    text = text.replace(
        "<svg",
        f'<svg role="img" aria-labelledby="{chart_id}-t {chart_id}-d" class="chart" '
        f'preserveAspectRatio="xMinYMin meet"', 1)
    head_end = text.index(">", text.index("<svg")) + 1
    return (text[:head_end] + f'<title id="{chart_id}-t">{esc(title)}</title>'
            f'<desc id="{chart_id}-d">{esc(alt)}</desc>' + text[head_end:])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&quot;")


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    fig.set_facecolor("white")
    return fig


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=MIN_FONT)
    ax.xaxis.label.set_size(MIN_FONT + 1)
    ax.yaxis.label.set_size(MIN_FONT + 1)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours."""
    return Color(a).contrast(Color(b), method="wcag21")


def text_colour_on(fill: str) -> str:
    """Black or white, whichever contrasts more with the fill (always at least 4.5:1)."""
    return "#000000" if contrast(fill, "#000000") >= contrast(fill, "#ffffff") else "#ffffff"


def _statement_label(code: str, text: str | None) -> str:
    """An axis label a reader understands: the statement, shortened, with its code beneath
    for looking it up in the table."""
    if not text:
        return code
    short = textwrap.shorten(text, 70, placeholder="…")
    return f"{textwrap.fill(short, 38)}\n({code})"


def _fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def lens_bars(analysis: AnalysisResult, dimension_titles: dict[str, str]) -> Chart:
    """Architecture against operating-model score per dimension (paired horizontal bars)."""
    dimensions = analysis.dimensions
    dims = list(dimensions)
    fig = _figure(7.5, 0.8 * len(dims) + 1.4)
    ax = fig.add_subplot()
    y = np.arange(len(dims))
    rows = []
    for offset, lens in ((-0.2, "architecture"), (0.2, "operating_model")):
        values = [getattr(dimensions[d].lenses, lens) for d in dims]
        ax.barh(y + offset, [v or 0 for v in values], height=0.38, color=LENS_COLOURS[lens],
                hatch=LENS_HATCHES[lens], edgecolor="#ffffff", linewidth=0,
                label=LENS_NAMES[lens])
        for yy, v in zip(y + offset, values, strict=True):
            if v is not None:
                ax.text(v + 1, yy, f"{v:.0f}", va="center", fontsize=MIN_FONT)
    for d in dims:
        dim = dimensions[d]
        rows.append([dimension_titles.get(d, d), _fmt(dim.lenses.architecture),
                     _fmt(dim.lenses.operating_model), _fmt(dim.lens_gap),
                     _fmt(dim.alignment)])
    ax.set_yticks(y, [textwrap.fill(dimension_titles.get(d, d), 24) for d in dims])
    ax.invert_yaxis()
    ax.set_xlim(0, 108)
    ax.set_xlabel("Score (0–100)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=1, fontsize=MIN_FONT,
              frameon=False)
    _style(ax)
    title = "Architecture and operating-model lens per dimension"
    worst = min(dims, key=lambda d: dimensions[d].lens_gap or 0, default=None)
    alt = ("Paired bars of the two lens scores for each dimension: architecture plain, "
           "operating model hatched.")
    worst_gap = None if worst is None else dimensions[worst].lens_gap
    if worst is not None and worst_gap is not None:
        alt += (f" The largest shortfall of the platform is in {dimension_titles.get(worst, worst)}"
                f" ({worst_gap:.0f} points).")
    return Chart("lens-bars", title, alt, _svg(fig, "lens-bars", title, alt),
                 ["Dimension", "Architecture", "Operating model", "Lens gap", "Alignment"], rows)


def item_distribution(analysis: AnalysisResult, dimension: str, questions: dict[str, str],
                      scale: dict[str, Any]) -> Chart:
    """Diverging stacked bars of each item's answers, centred on the neutral point; "don't know"
    is drawn apart on the right so it is never mistaken for an opinion. Each bar is labelled
    with its statement (the code beneath it): a code alone means nothing to a reader."""
    items = analysis.dimensions[dimension].items
    points = [str(p) for p in range(scale["min"], scale["max"] + 1)]
    labels = {str(k): v for k, v in (scale.get("labels") or {}).items()}
    colours = _scale_colours(len(points))
    fig = _figure(8, 0.62 * len(items) + 1.9)
    ax = fig.add_subplot()
    mid = (len(points) - 1) / 2
    rows = []
    for row, item in enumerate(items):
        dist = analysis.items[item].distribution
        counts = np.array([dist.get(p, 0) for p in points], dtype=float)
        dk = dist.get("dont_know", dist.get("null", 0)) or 0
        total = counts.sum()
        shares = counts / total * 100 if total else counts
        # Start so that the neutral point (or the middle boundary) is centred on zero.
        left = -shares[: int(np.floor(mid))].sum() - (shares[int(mid)] / 2 if mid % 1 == 0 else 0)
        for p, share, colour in zip(points, shares, colours, strict=True):
            # An outline on the light segments keeps each one visible against white (1.4.11).
            light = contrast(colour, "#ffffff") < 3
            ax.barh(row, share, left=left, color=colour, height=0.7,
                    edgecolor=OUTLINE if light else colour, linewidth=0.6 if light else 0,
                    label=labels.get(p, p) if row == 0 else None)
            left += share
        answered_plus_dk = total + dk
        dk_share = dk / answered_plus_dk * 100 if answered_plus_dk else 0
        ax.barh(row, dk_share, left=105, color="#ffffff", edgecolor="#4f5964", hatch="///",
                height=0.7, label="Don’t know" if row == 0 else None)
        rows.append([f"{questions.get(item, item)} ({item})", *[int(c) for c in counts],
                     int(dk)])
    ax.axvline(0, color="#444444", linewidth=0.8)
    ax.set_yticks(range(len(items)), [_statement_label(i, questions.get(i)) for i in items])
    ax.invert_yaxis()
    ax.set_xlim(-100, 140)
    ax.set_xticks([-100, -50, 0, 50, 100, 120], ["100%", "50%", "0", "50%", "100%", "DK"])
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(3, len(points) + 1),
              fontsize=MIN_FONT, frameon=False)
    _style(ax)
    title = f"Answers per statement: {dimension.replace('_', ' ')}"
    alt = ("Diverging bars: disagreement to the left of the centre line, agreement to the right; "
           "the hatched bar on the right is the share answering “don’t know”.")
    chart_id = f"dist-{dimension}"
    return Chart(chart_id, title, alt, _svg(fig, chart_id, title, alt),
                 ["Statement", *[labels.get(p, p) for p in points], "Don’t know"], rows)


def heatmap(analysis: AnalysisResult, dimension_titles: dict[str, str], *,
            by: Literal["score", "rwg_mean"] = "score") -> Chart:
    """Team x dimension, coloured by mean score (0-100) or by agreement (mean item rwg, 0-1);
    a team whose own mean is unreliable is marked in the cell.

    Cells are drawn as shapes (not an image) so each cell's colour is in the SVG, and the
    number on it is black or white, whichever contrasts more with that colour. Cells and their
    numbers carry ids `<chart>-cell-<row>-<col>` and `<chart>-label-<row>-<col>`."""
    dims = list(analysis.dimensions)
    teams = sorted({g for d in dims for g in analysis.dimensions[d].groups})
    values = np.full((len(teams), len(dims)), np.nan)
    hidden = np.zeros_like(values, dtype=bool)
    unreliable = np.zeros_like(values, dtype=bool)
    for j, d in enumerate(dims):
        for i, t in enumerate(teams):
            cell = analysis.dimensions[d].groups.get(t)
            if cell is None:
                continue
            if isinstance(cell, Suppressed):
                hidden[i, j] = True
                continue
            value = cell.score if by == "score" else cell.rwg_mean
            if value is not None:
                values[i, j] = value
            unreliable[i, j] = cell.reliable is False
    vmax = 100 if by == "score" else 1
    chart_id = f"heatmap-{by}"
    cmap = matplotlib.colormaps["cividis"]
    norm = matplotlib.colors.Normalize(vmin=0, vmax=vmax)
    fig = _figure(1.45 * len(dims) + 3.2, 0.55 * len(teams) + 2.0)
    ax = fig.add_subplot()
    rows = []
    for i, t in enumerate(teams):
        row = [t]
        for j in range(len(dims)):
            cell_gid, label_gid = f"{chart_id}-cell-{i}-{j}", f"{chart_id}-label-{i}-{j}"
            if hidden[i, j]:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=SUPPRESSED_COLOUR,
                                       hatch="xx", edgecolor="#9a9a9a", linewidth=0,
                                       gid=cell_gid))
                # On a plain box of the cell's grey, so the hatching never runs through it.
                ax.text(j, i, "hidden", ha="center", va="center", fontsize=MIN_FONT,
                        color="#333333", gid=label_gid,
                        bbox={"facecolor": SUPPRESSED_COLOUR, "edgecolor": "none", "pad": 2})
                row.append("suppressed")
            elif np.isnan(values[i, j]):
                row.append("–")
            else:
                v = values[i, j]
                fill = matplotlib.colors.to_hex(cmap(norm(v)))
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=fill,
                                       edgecolor="#ffffff", linewidth=1, gid=cell_gid))
                text = f"{v:.0f}" if by == "score" else f"{v:.2f}"
                ax.text(j, i, text + (UNRELIABLE_MARK if unreliable[i, j] else ""),
                        ha="center", va="center", fontsize=MIN_FONT + 2,
                        color=text_colour_on(fill), gid=label_gid)
                row.append(text)
        # The table keeps numbers in the cells; the marks of the map are listed per team.
        row.append(", ".join(dimension_titles.get(d, d) for j, d in enumerate(dims)
                             if unreliable[i, j]) or "–")
        rows.append(row)
    ax.set_xlim(-0.5, len(dims) - 0.5)
    ax.set_ylim(len(teams) - 0.5, -0.5)
    ax.set_xticks(range(len(dims)),
                  [textwrap.fill(dimension_titles.get(d, d), 16) for d in dims], rotation=0,
                  ha="center")
    ax.set_yticks(range(len(teams)), teams)
    ax.tick_params(labelsize=MIN_FONT, length=0)
    ax.xaxis.tick_top()
    for side in ax.spines.values():
        side.set_visible(False)
    image = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.ax.tick_params(labelsize=MIN_FONT)
    bar.set_label("Score (0–100)" if by == "score" else "Agreement: mean item rwg",
                  fontsize=MIN_FONT)
    if by != "score":
        bar.ax.axhline(AGREEMENT_LINE, color="#d55e00", linewidth=1.5)
    title = ("Team × dimension scores" if by == "score"
             else "Team × dimension agreement (mean item rwg)")
    alt = (f"A grid of {len(teams)} teams by {len(dims)} dimensions; darker is lower. "
           f"{int(hidden.sum())} cells are hidden because the group is too small. "
           f"{int(unreliable.sum())} cells marked {UNRELIABLE_MARK}: the team's own mean is "
           "unreliable (below .70).")
    return Chart(chart_id, title, alt, _svg(fig, chart_id, title, alt),
                 ["Team", *[dimension_titles.get(d, d) for d in dims],
                  f"{UNRELIABLE_MARK} Unreliable team mean (below .70)"], rows)


def group_agreement(analysis: AnalysisResult, dimension: str) -> Chart:
    """Agreement (mean item rwg) per reportable team for one dimension, against the .70
    convention; a team counts as agreeing only when its rwg(j) also beats random answering.
    Teams that do not agree are hatched as well as coloured."""
    groups = analysis.dimensions[dimension].groups
    shown = [(g, v) for g, v in groups.items() if not isinstance(v, Suppressed)]
    fig = _figure(6.5, 0.45 * max(len(shown), 1) + 1.5)
    ax = fig.add_subplot()
    names = [g for g, _ in shown]
    vals = [max(v.rwg_mean or 0, 0) for _, v in shown]
    agrees = [bool(v.agrees) for _, v in shown]
    ok_colour, low_colour = LINE_COLOURS[0], LINE_COLOURS[1]
    for i, (v, agree) in enumerate(zip(vals, agrees, strict=True)):
        ax.barh(i, v, color=ok_colour if agree else low_colour, height=0.6,
                hatch=None if agree else "//", edgecolor="#ffffff", linewidth=0)
    ax.axvline(AGREEMENT_LINE, color="#444444", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(shown)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("Within-team agreement: mean item rwg")
    ax.legend(handles=[Patch(facecolor=ok_colour, label="agrees (≥ .70, beyond chance)"),
                       Patch(facecolor=low_colour, hatch="//", edgecolor="#ffffff",
                             label="does not")],
              fontsize=MIN_FONT, frameon=False, loc="upper center",
              bbox_to_anchor=(0.5, -0.3), ncol=2)
    _style(ax)
    title = f"Agreement within teams: {dimension.replace('_', ' ')}"
    low = [g for g, a in zip(names, agrees, strict=True) if not a]
    alt = ("Bars of within-team agreement with a dashed line at .70. "
           + (f"Not agreeing: {', '.join(low)}." if low else "Every shown team agrees."))
    chart_id = f"agreement-{dimension}"
    rows: list[list[Any]] = [
        [g, _fmt(v.rwg_mean, 2), _fmt(v.rwg_j, 2), _fmt(v.rwg_j_chance, 2), _fmt(v.ad_m, 2),
         _fmt(v.reliability, 2) + (f" {UNRELIABLE_MARK}" if v.reliable is False else ""), v.n]
        for g, v in shown]
    hidden = len(groups) - len(shown)
    if hidden:
        rows.append([f"{hidden} team(s) too small to show", *["suppressed"] * 5, "–"])
    return Chart(chart_id, title, alt, _svg(fig, chart_id, title, alt),
                 ["Team", "Mean item rwg", "rwg(j)", "rwg(j) by chance (95%)", "AD(M)",
                  "Reliability of the mean", "n"], rows)


def cluster_map(analysis: AnalysisResult) -> Chart:
    """Cluster centroids on the first two principal components, sized by cluster size."""
    found = analysis.divergence.clusters.clusters
    fig = _figure(7, 5)
    ax = fig.add_subplot()
    rows = []
    for i, c in enumerate(found):
        x, y = (c.centroid_2d or [0, 0])[:2]
        ax.scatter([x], [y], s=200 + 2000 * c.share,
                   color=OKABE_ITO[i % 7], alpha=0.85, edgecolor=OUTLINE, linewidth=1.2,
                   marker=MARKERS[i % len(MARKERS)])
        label = textwrap.fill(f"{c.id}: {c.label}", 34)
        ax.annotate(label, (x, y), xytext=(0, -16), textcoords="offset points",
                    fontsize=MIN_FONT, ha="center", va="top")
        rows.append([c.id, c.label, c.size, f"{c.share * 100:.0f}%"])
    if not found:
        ax.text(0.5, 0.5, "No distinct groups of respondents", ha="center", va="center",
                transform=ax.transAxes, fontsize=MIN_FONT + 1)
    ax.margins(0.45)  # room for the circles and their labels inside the plot
    ax.axhline(0, color="#cccccc", linewidth=0.8)
    ax.axvline(0, color="#cccccc", linewidth=0.8)
    ax.set_xlabel("First principal component")
    ax.set_ylabel("Second principal component")
    _style(ax)
    title = "Perception clusters"
    alt = (f"{len(found)} clusters of respondents placed by how their answers differ; bigger "
           "circles hold more people." if found else "No distinct clusters were found.")
    return Chart("cluster-map", title, alt, _svg(fig, "cluster-map", title, alt),
                 ["Cluster", "Label", "Size", "Share"], rows)


def trend(cycles: list[tuple[str, dict[str, float | None]]],
          dimension_titles: dict[str, str]) -> Chart:
    """Score per dimension across assessment cycles, oldest first. Each line has its own
    colour, marker and dash pattern, and is named in the legend in the same order."""
    fig = _figure(7.5, 4.5)
    ax = fig.add_subplot()
    names = [name for name, _ in cycles]
    dims = list(dimension_titles)
    for i, d in enumerate(dims):
        values = [scores.get(d) for _, scores in cycles]
        ax.plot(range(len(cycles)), [np.nan if v is None else v for v in values],
                marker=MARKERS[i % len(MARKERS)], markersize=7,
                linestyle=LINE_STYLES[i % len(LINE_STYLES)], linewidth=2,
                color=LINE_COLOURS[i % len(LINE_COLOURS)], label=dimension_titles[d],
                gid=f"trend-line-{i}")
    ax.set_xticks(range(len(cycles)), [textwrap.fill(n, 22) for n in names])
    ax.set_xlim(-0.3, len(cycles) - 0.7)
    ax.set_ylim(0, 100)
    ax.set_ylabel("Score (0–100)")
    # Below the plot, so the chart fits a desktop page's column without scrolling.
    ax.legend(fontsize=MIN_FONT, frameon=False, loc="upper center", ncol=2,
              bbox_to_anchor=(0.5, -0.16), handlelength=3.5)
    _style(ax)
    title = "Scores per dimension across cycles"
    alt = f"Lines of each dimension's score over {len(cycles)} cycles."
    rows = [[dimension_titles[d], *[_fmt(s.get(d)) for _, s in cycles]] for d in dims]
    return Chart("trend", title, alt, _svg(fig, "trend", title, alt), ["Dimension", *names], rows)

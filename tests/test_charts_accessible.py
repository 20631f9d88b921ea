"""The charts against WCAG 2.2 AA, judged from the SVG they draw: text size (1.4.4), the
contrast of each heatmap number with its own cell (1.4.3), marks of 3:1 against white or
outlined (1.4.11), lines told apart by more than colour (1.4.1), statements rather than codes
on the axes. The analysis is a real one, of answers simulated with a fixed seed for teams whose
scores spread across the whole colour scale."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from assessment.analysis import analyze
from assessment.banks import read_bank_file
from assessment.reporting import charts

from .conftest import ROOT
from .wcag import WHITE, contrast_ratio, parse_colour

SVG = "{http://www.w3.org/2000/svg}"
MIN_POINTS = 9  # the SVG's user unit is the point: 9 pt is 12 CSS px at the drawn size
TEAMS = {"Sales": -1.6, "Finance": -0.8, "Product": 0.0, "Operations": 0.8, "IT": 1.6,
         "Legal": 0.0}  # Legal has 3 people: hidden


def test_contrast_formula_matches_published_values() -> None:
    """The tests' own formula against published values: black on white 21:1 (WCAG's
    definition), #767676 on white 4.54:1 and #777777 on white 4.48:1 (WebAIM's checker)."""
    assert contrast_ratio((0, 0, 0), WHITE) == pytest.approx(21.0)
    assert contrast_ratio((0x76, 0x76, 0x76), WHITE) == pytest.approx(4.54, abs=0.005)
    assert contrast_ratio((0x77, 0x77, 0x77), WHITE) == pytest.approx(4.48, abs=0.005)


@pytest.fixture(scope="module")
def bank():  # type: ignore[no-untyped-def]
    return read_bank_file(ROOT / "question_banks" / "alignment.yaml")[0]


@pytest.fixture(scope="module")
def analysis(bank) -> dict:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    rows, groups = [], []
    for team, shift in TEAMS.items():
        for _ in range(3 if team == "Legal" else 12):
            values = np.clip(np.rint(3 + shift + rng.normal(0, 0.8, len(bank.questions))), 1, 5)
            rows.append(values)
            groups.append(team)
    index = pd.Index([f"r{i}" for i in range(len(rows))])
    answers = pd.DataFrame(rows, index=index, columns=bank.question_ids)
    roles = pd.Series(rng.choice(["Manager", "Staff"], len(rows)), index=index)
    return analyze(answers, bank, groups=pd.Series(groups, index=index), roles=roles)


@pytest.fixture(scope="module")
def drawn(analysis, bank) -> dict[str, charts.Chart]:  # type: ignore[no-untyped-def]
    titles = {d.id: d.title for d in bank.dimensions}
    questions = {q.id: q.text for q in bank.questions}
    scale = {"min": 1, "max": 5, "labels": bank.scale.labels}
    found = [charts.lens_bars(analysis, titles), charts.heatmap(analysis, titles),
             charts.heatmap(analysis, titles, by="rwg_j"), charts.cluster_map(analysis),
             charts.trend([("Spring", {d: 40.0 + i for i, d in enumerate(titles)}),
                           ("Autumn", {d: 55.0 - i for i, d in enumerate(titles)}),
                           ("Next spring", {d: 60.0 for d in titles})], titles)]
    for d in titles:
        found += [charts.item_distribution(analysis, d, questions, scale),
                  charts.group_agreement(analysis, d)]
    return {c.id: c for c in found}


def tree(chart: charts.Chart) -> ET.Element:
    return ET.fromstring(chart.svg)


def style_of(element: ET.Element) -> dict[str, str]:
    pairs = (p.split(":", 1) for p in (element.get("style") or "").split(";") if ":" in p)
    return {k.strip(): v.strip() for k, v in pairs}


def test_no_chart_text_is_smaller_than_nine_points(drawn) -> None:  # type: ignore[no-untyped-def]
    for chart in drawn.values():
        texts = list(tree(chart).iter(f"{SVG}text"))
        assert texts, chart.id
        for t in texts:
            size = float(re.match(r"[\d.]+", style_of(t)["font-size"]).group())
            assert size >= MIN_POINTS, f"{chart.id}: {''.join(t.itertext())!r} at {size} pt"


def test_charts_keep_their_drawn_size(drawn) -> None:  # type: ignore[no-untyped-def]
    """The page shows a chart at its own width and height (a phone scrolls it), never shrunk."""
    for chart in drawn.values():
        root = tree(chart)
        assert re.fullmatch(r"[\d.]+pt", root.get("width") or ""), chart.id
        assert re.fullmatch(r"[\d.]+pt", root.get("height") or ""), chart.id


@pytest.mark.parametrize("chart_id", ["heatmap-score", "heatmap-rwg_j"])
def test_every_heatmap_number_contrasts_with_its_own_cell(drawn, chart_id) -> None:  # type: ignore[no-untyped-def]
    root = tree(drawn[chart_id])
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}
    labels = {k: g for k, g in groups.items() if k.startswith(f"{chart_id}-label-")}
    assert len(labels) == 6 * 5, sorted(labels)  # every team, hidden ones marked too
    fills = []
    for key, label in labels.items():
        # A number sits on its cell; "hidden" on a plain box of its own over the hatching.
        behind = list(label.iter(f"{SVG}path")) or list(
            groups[key.replace("-label-", "-cell-")].iter(f"{SVG}path"))
        paper = parse_colour(style_of(behind[0])["fill"])
        text = next(label.iter(f"{SVG}text"))
        ink = parse_colour(style_of(text).get("fill", "#000000"))
        ratio = contrast_ratio(ink, paper)
        assert ratio >= 4.5, f"{''.join(text.itertext())!r} is {ratio:.2f}:1 on its cell"
        size = float(re.match(r"[\d.]+", style_of(text)["font-size"]).group())
        assert size >= MIN_POINTS
        fills.append(paper)
    # The simulated teams spread over the scale, so both black and white numbers are needed.
    assert len(set(fills)) >= 10


def test_marks_stand_out_against_white(drawn) -> None:  # type: ignore[no-untyped-def]
    """Every filled mark (bars, segments, circles, legend keys) either has 3:1 against white
    or an outline that has; hatching patterns and the white background aside."""
    for chart in drawn.values():
        if chart.id.startswith("heatmap"):
            continue  # cells sit against each other, with their numbers on them
        root = tree(chart)
        in_patterns = {id(e) for p in root.iter(f"{SVG}pattern") for e in p.iter()}
        for element in root.iter():
            if element.tag not in (f"{SVG}path", f"{SVG}use") or id(element) in in_patterns:
                continue
            style = style_of(element)
            fill = style.get("fill", "")
            if not fill.startswith("#") or fill in ("#ffffff", "#fff"):
                continue
            if contrast_ratio(parse_colour(fill), WHITE) >= 3:
                continue
            stroke = style.get("stroke", "")
            assert stroke.startswith("#") and float(style.get("stroke-width", "1")) > 0, \
                f"{chart.id}: a {fill} mark without an outline"
            assert contrast_ratio(parse_colour(stroke), WHITE) >= 3, \
                f"{chart.id}: a {fill} mark outlined in {stroke}"


def test_trend_lines_differ_by_more_than_colour(drawn) -> None:  # type: ignore[no-untyped-def]
    root = tree(drawn["trend"])
    lines = [g for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("trend-line-")]
    assert len(lines) == 5
    looks = set()
    for g in lines:
        path = next(p for p in g.iter(f"{SVG}path") if "stroke-width" in style_of(p))
        style = style_of(path)
        assert contrast_ratio(parse_colour(style["stroke"]), WHITE) >= 3, style["stroke"]
        marker = next(p for p in g.iter(f"{SVG}path") if p.get("id"))
        looks.add((style.get("stroke-dasharray", "solid"), " ".join(marker.get("d").split())))
    assert len(looks) == 5, "two lines share a dash pattern and marker"


def test_statements_label_the_answer_bars(drawn, bank) -> None:  # type: ignore[no-untyped-def]
    chart = drawn["dist-ownership"]
    texts = ["".join(t.itertext()) for t in tree(chart).iter(f"{SVG}text")]
    for q in bank.questions_in("ownership"):
        assert f"({q.id})" in texts, f"{q.id} is not kept as a secondary label"
        assert any(t and q.text.startswith(t.rstrip("…").split()[0]) for t in texts)
        start = " ".join(q.text.split()[:3])
        assert any(t.startswith(start) for t in texts), f"no statement label for {q.id}"
    assert all(row[0].endswith(")") and len(row[0]) > 20 for row in chart.rows)

"""Charts drawn ahead of time: every chart the results pages show for a release, drawn in the
worker when the release is made, so that no page view waits for matplotlib."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..analysis.result import AnalysisResult
from ..banks import Bank
from . import charts


def page_charts(analysis: AnalysisResult, bank: Bank) -> dict[str, dict[str, Any]]:
    """The results pages' charts by name (`lens`, `dist:<dim>`, `agreement:<dim>`,
    `heatmap:score`, `heatmap:rwg_mean`, `clusters`), each as a plain dict of `charts.Chart`."""
    titles = {d.id: d.title for d in bank.dimensions}
    questions = {q.id: q.text for q in bank.questions}
    scale = {"min": analysis.scale.min, "max": analysis.scale.max, "labels": bank.scale.labels}
    drawn = {"lens": charts.lens_bars(analysis, titles)}
    for d in analysis.dimensions:
        drawn[f"dist:{d}"] = charts.item_distribution(analysis, d, questions, scale)
        drawn[f"agreement:{d}"] = charts.group_agreement(analysis, d)
    for by in ("score", "rwg_mean"):
        drawn[f"heatmap:{by}"] = charts.heatmap(analysis, titles, by=by)
    drawn["clusters"] = charts.cluster_map(analysis)
    return {name: dataclasses.asdict(chart) for name, chart in drawn.items()}


def trend_chart(trend: list[tuple[str, dict[str, float | None]]],
                titles: dict[str, str]) -> dict[str, Any] | None:
    return dataclasses.asdict(charts.trend(trend, titles)) if len(trend) > 1 else None

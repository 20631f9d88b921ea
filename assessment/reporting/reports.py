"""Report files of an assessment: PDF, Excel workbook, standalone HTML and CSV.

`build_report(context, fmt)` turns the report context (the stored analysis with what the results
pages show beside it; `services.reports.report_context` builds it) into the bytes of one file.
The PDF and the HTML come from `templates/reports/report.html`, which reuses the results pages'
macros, so a report says what the dashboard says; the workbook and the CSV files hold the
aggregate tables of `tables.py`. Nothing here reads the database.

The CSV format is a zip archive with one CSV file per table (the tables have different columns, so
one file would need a second header per table), UTF-8 with a byte-order mark so Excel reads the
accents.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import zipfile
from collections.abc import Callable
from typing import Any

from flask import render_template

from ..analysis.result import AnalysisResult
from . import charts
from .actions import action_tables
from .formats import FORMATS, ReportError, filename, mimetype
from .tables import aggregate_tables, method_notes, safe_cell

log = logging.getLogger(__name__)
__all__ = ["FORMATS", "ReportError", "build_report", "filename", "mimetype"]

Progress = Callable[[int, int, str], None]

PANGO_HINT = "PDF needs Pango: apt-get install libpango-1.0-0 libpangoft2-1.0-0"
DIVERGENT_SHOWN = 20


class _SvgNoise(logging.Filter):
    """Drops WeasyPrint's warnings about the inline SVG charts that change nothing on the page:
    matplotlib numbers each SVG's elements from 1 (so ids repeat across charts, and nothing links
    to them), and its style attributes hold SVG properties that the HTML stylesheet parser does
    not know (the SVG renderer applies them). Other warnings pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Anchor defined twice")
                    or (message.startswith("Ignored `") and "unknown property" in message))


def build_report(context: dict[str, Any], fmt: str, progress: Progress | None = None) -> bytes:
    """The report file's bytes. `context` needs `a`, `res`, `r` (the analysis, not None), `bank`,
    `dim_titles`, `questions`, `rates`, `submitted`, `invited`, `comparison`, `comments`,
    `comment_threshold`, `generated_at`; `progress(step, total, label)` is told each step."""
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format '{fmt}'; use one of {', '.join(FORMATS)}")
    if context.get("r") is None:
        raise ReportError("nobody has submitted answers yet: there is nothing to report")
    tell = _Steps(progress)
    if fmt == "xlsx":
        from .xlsx import workbook_bytes

        tell.expect(2)
        tell("Building the tables")
        tables = aggregate_tables(context) + action_tables(context)
        tell("Writing the workbook")
        return workbook_bytes(tables)
    if fmt == "csv":
        tell.expect(2)
        tell("Building the tables")
        tables = aggregate_tables(context) + action_tables(context)
        tell("Writing the CSV files")
        return csv_zip_bytes(tables)
    n_charts = len(_chart_plan(context))
    tell.expect(n_charts + (1 if fmt == "html" else 3))
    html = report_html(context, tell)
    if fmt == "html":
        return html.encode("utf-8")
    return pdf_bytes(html, tell)


class _Steps:
    """Counts steps for the progress callback."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress, self.step, self.total = progress, 0, 0

    def expect(self, total: int) -> None:
        self.total = total

    def __call__(self, label: str) -> None:
        self.step += 1
        if self.progress is not None:
            self.progress(self.step, self.total, label)


def csv_zip_bytes(tables: list[Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tables:
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow([safe_cell(h) for h in table.headers])
            writer.writerows([safe_cell(v) for v in row] for row in table.rows)
            name = table.name.lower().replace(" ", "-")
            archive.writestr(f"{name}.csv", "\ufeff" + text.getvalue())
    return buffer.getvalue()


def _chart_plan(ctx: dict[str, Any]) -> list[tuple[str, Callable[[], object]]]:
    """Every chart the document draws, as (label, drawing function), in page order."""
    r: AnalysisResult = ctx["r"]
    titles = ctx["dim_titles"]
    scale = {**r.scale.model_dump(), "labels": ctx["bank"].scale.labels}
    plan: list[tuple[str, Callable[[], object]]] = [
        ("lens", lambda: charts.lens_bars(r, titles))]
    for d in r.dimensions:
        plan.append((f"dist:{d}", functools.partial(charts.item_distribution,
                                                     r, d, ctx["questions"], scale)))
        plan.append((f"agreement:{d}", functools.partial(charts.group_agreement, r, d)))
    plan += [
        ("heat_score", lambda: charts.heatmap(r, titles, by="score")),
        ("heat_rwg", lambda: charts.heatmap(r, titles, by="rwg_mean")),
        ("clusters", lambda: charts.cluster_map(r)),
    ]
    comparison = ctx.get("comparison")
    if comparison is not None and len(comparison.trend) > 1:
        plan.append(("trend", lambda: charts.trend(comparison.trend, titles)))
    return plan


def report_html(ctx: dict[str, Any], tell: Callable[[str], None] | None = None) -> str:
    """The report as one HTML document (charts inline as SVG, styles in a <style> block)."""
    drawn: dict[str, object] = {}
    for label, draw in _chart_plan(ctx):
        if tell is not None:
            tell(f"Drawing chart {label.split(':')[0].replace('_', ' ')}")
        drawn[label] = draw()
    per_dimension = [(d, drawn[f"dist:{d}"], drawn[f"agreement:{d}"])
                     for d in ctx["r"].dimensions]
    if tell is not None:
        tell("Rendering the report")
    html = render_template(
        "reports/report.html", **ctx, lens=drawn["lens"], per_dimension=per_dimension,
        heat_score=drawn["heat_score"], heat_rwg=drawn["heat_rwg"],
        cluster_chart=drawn["clusters"], trend_chart=drawn.get("trend"),
        method=method_notes(ctx), divergent_shown=DIVERGENT_SHOWN)
    # The macros fold chart tables and evidence into <details>; a report shows them open.
    return html.replace("<details>", "<details open>")


def pdf_bytes(html: str, tell: Callable[[str], None] | None = None) -> bytes:
    """Lay the HTML out on A4 pages with WeasyPrint."""
    # WeasyPrint reports every stylesheet it parses and every page it lays out at INFO: keep a
    # CLI's terminal and a server's log for what matters.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    weasy_log = logging.getLogger("weasyprint")
    if not any(isinstance(f, _SvgNoise) for f in weasy_log.filters):
        weasy_log.addFilter(_SvgNoise())
    try:
        from weasyprint import HTML
    except OSError as exc:  # the Python package is there, the system libraries are not
        log.error("WeasyPrint cannot load its libraries: %s", exc)
        raise ReportError(PANGO_HINT) from exc
    if tell is not None:
        tell("Laying out the pages")
    document = HTML(string=html).render()
    if tell is not None:
        tell("Writing the PDF")
    pdf: bytes = document.write_pdf()
    return pdf

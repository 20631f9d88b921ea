"""The `report` command: an assessment's report as a file.

`flask --app app report ID --format pdf|xlsx|html|csv [--out PATH]`

Without `--out` the file goes to `REPORTS_DIR` as `assessment-<id>-<yyyymmdd>.<ext>` (the CSV
tables come as one zip). A progress bar runs on the terminal; the written path is printed alone on
the last line. A user error is one line on stderr and exit code 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from . import db
from .models import Assessment, utcnow
from .reporting.formats import FORMATS, ReportError, filename
from .services.errors import ServiceError
from .services.reports import build_report, report_context


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(1)


@click.command("report")
@with_appcontext
@click.argument("assessment_id", type=int)
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="pdf",
              show_default=True, help="pdf, xlsx (Excel), html (standalone page) or csv (zip).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of REPORTS_DIR/assessment-<id>-<yyyymmdd>.<ext>.")
def report_command(assessment_id: int, fmt: str, out_path: Path | None) -> None:
    """Write the report of assessment ID (PDF, Excel workbook, HTML page or CSV tables)."""
    session = db.session()
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        _fail(f"there is no assessment {assessment_id}; see `assessment list`")
    if out_path is None:
        out_path = Path(current_app.config["REPORTS_DIR"]) / filename(
            assessment_id, fmt, utcnow().date())
    try:
        context = report_context(session, assessment, None)
        # On stderr, so that standard output carries only the path written.
        with click.progressbar(length=1, label=f"{fmt.upper()} report", file=sys.stderr,
                               show_pos=True) as bar:

            def progress(step: int, total: int, label: str) -> None:
                bar.length = total
                bar.label = f"{fmt.upper()}: {label}"
                bar.update(step - bar.pos)

            data = build_report(context, fmt, progress)
    except (ServiceError, ReportError) as exc:
        _fail(str(exc))
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_bytes(data)
    except OSError as exc:
        _fail(f"cannot write {out_path}: {exc.strerror or exc}")
    click.echo(str(out_path))

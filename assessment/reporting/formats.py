"""The report formats, their file names and media types: what the web layer needs to serve a
stored report without loading the builders (and with them matplotlib and WeasyPrint)."""

from __future__ import annotations

from datetime import date

FORMATS = {
    "pdf": ("pdf", "application/pdf"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "html": ("html", "text/html; charset=utf-8"),
    "csv": ("zip", "application/zip"),
}
LABELS = {"pdf": "PDF", "xlsx": "Excel", "html": "HTML", "csv": "CSV (zip)"}


class ReportError(Exception):
    """A report that cannot be produced here; the message says what to do."""


def filename(assessment_id: int, fmt: str, day: date) -> str:
    """`assessment-<id>-<yyyymmdd>.<ext>`: the default file name of a report."""
    return f"assessment-{assessment_id}-{day:%Y%m%d}.{FORMATS[fmt][0]}"


def mimetype(fmt: str) -> str:
    return FORMATS[fmt][1]

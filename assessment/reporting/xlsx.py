"""The Excel workbook of a report: one sheet per aggregate table, through openpyxl.

Header rows are bold and frozen, columns sized for reading, and every cell goes through
`tables.safe_cell`, so a team called `=HYPERLINK(...)` stays text.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .tables import SUPPRESSED, Table, safe_cell

HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
SUPPRESSED_FONT = Font(italic=True, color="6B6B6B")
# Long text columns wrap instead of stretching past a screen.
WRAP_ABOVE = 50


def workbook_bytes(tables: list[Table]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        _sheet(book, table)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _value(value: object) -> object:
    """Neutralised text without the control characters a workbook cannot hold."""
    value = safe_cell(value)
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _sheet(book: Workbook, table: Table) -> None:
    sheet = book.create_sheet(table.name[:31])  # Excel's limit on sheet names
    sheet.append([_value(h) for h in table.headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    for row in table.rows:
        sheet.append([_value(v) for v in row])
    sheet.freeze_panes = "A2"
    for index, width in enumerate(table.widths, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = min(width, 80)
        if width >= WRAP_ABOVE:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.alignment = Alignment(vertical="top", wrap_text=True)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.value == SUPPRESSED:
                cell.font = SUPPRESSED_FONT
    if table.rows:
        sheet.auto_filter.ref = sheet.dimensions

"""The reading bands and labels live in one module: the pages, the report, the workbook and the
method appendix all follow it, and no template carries a threshold of its own."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from assessment.analysis.alignment import CONSENSUS_THRESHOLD
from assessment.config import PROJECT_ROOT
from assessment.reporting import readings
from assessment.reporting.readings import Band, Reading

from .test_reports import (  # noqa: F401  (fixtures)
    report,
    small_team_assessment,
    small_team_assessment_template,
)


@pytest.mark.parametrize(("value", "expected"), [
    (None, readings.ALIGNMENT.missing), (100, "broadly carries"), (85, "broadly carries"),
    (84.99, "diverge in places"), (70, "diverge in places"), (69.99, "far apart"), (0, "far apart"),
])
def test_alignment_bands_include_their_floor(value: float | None, expected: str) -> None:
    assert expected in readings.ALIGNMENT.of(value)


@pytest.mark.parametrize(("value", "expected"), [
    (65, "agreed with"), (64.9, "middle"), (45, "middle"), (44.9, "disagreed"),
])
def test_maturity_bands(value: float, expected: str) -> None:
    assert expected in readings.MATURITY.of(value)


def test_consensus_band_is_the_analysis_convention() -> None:
    assert readings.CONSENSUS.bands[0].floor == CONSENSUS_THRESHOLD
    assert "Teams agree within" in readings.CONSENSUS.of(CONSENSUS_THRESHOLD)
    assert "moderately" in readings.CONSENSUS.of(CONSENSUS_THRESHOLD - 0.01)
    assert "weakly" in readings.CONSENSUS.of(0.49)


@pytest.mark.parametrize("template", ["results/overview.html", "reports/report.html",
                                      "results/_macros.html"])
def test_templates_hold_no_thresholds_or_labels(template: str) -> None:
    text = (PROJECT_ROOT / "templates" / template).read_text()
    assert not re.search(r"(>=|<=|>|<)\s*(85|70|65|45|0?\.7)\b", text)
    for label in ("Ready with conditions", "disagree within teams", "broadly carries"):
        assert label not in text


MOVED = Reading("Alignment", (Band(-1, "Moved band: everything reads this."),),
                below="never", missing="Moved band: missing.")


def test_a_band_moved_in_the_module_moves_everywhere(app, client, auth, monkeypatch,  # type: ignore[no-untyped-def]
                                                     small_team_assessment) -> None:  # noqa: F811
    monkeypatch.setattr(readings, "ALIGNMENT", MOVED)
    monkeypatch.setattr(readings, "READINGS", (MOVED, readings.MATURITY, readings.CONSENSUS))
    monkeypatch.setitem(readings.VERDICTS, "conditional", "Moved verdict label")
    aid = small_team_assessment
    auth.login()
    page = client.get(f"/results/{aid}/").get_data(as_text=True)
    assert "Moved band: " in page
    html = report(app, aid, "html").decode()
    assert "Moved band: " in html
    book = load_workbook(io.BytesIO(report(app, aid, "xlsx")))
    method = {row[0]: row[1] for row in book["Method"].iter_rows(min_row=2, values_only=True)}
    assert "Moved band: everything reads this." in method["Reading of alignment"]
    assert "Moved verdict label" in method["Readiness verdicts"]
    assert "85" not in method["Reading of alignment"]


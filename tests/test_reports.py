"""Reports: the PDF has its sections and page numbers, the workbook and the CSV tables hold the
aggregates with small teams suppressed and formula-like text neutralised, downloads follow the
access rule, and the `report` command writes where it is told."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import types
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook

from assessment import db
from assessment.models import Assessment, utcnow
from assessment.reporting.reports import PANGO_HINT, ReportError
from assessment.reporting.tables import safe_cell
from assessment.services import access
from assessment.services import survey as survey_svc
from assessment.services.banks import bank_of
from assessment.services.reports import build_report, report_context

from .conftest import (
    LEAD_PASSWORD,
    Template,
    build_template,
    make_assessment,
    make_tokens,
    release,
    run_jobs,
)

FORMULA_TEAM = '=HYPERLINK("x")'
FORMULA_COMMENT = "@SUM(A1) is how we count the handoffs"
SHEETS = ["Summary", "Dimensions", "Team x dimension", "Items", "Agreement", "Clusters",
          "Recommendations", "Readiness", "Method"]


def submit(app, aid: int, team: str, n: int, *, role: str = "Staff", offset: int = 0,  # type: ignore[no-untyped-def]
           comment: str | None = None) -> None:
    """`n` submitted responses for a team, through the survey service, with varied answers."""
    tokens = make_tokens(app, aid, n, team=team, role=role)
    with app.app_context():
        session = db.session()
        bank = bank_of(session.get(Assessment, aid).bank)
        session.commit()  # every SQLite transaction holds the write lock here
        for i, token in enumerate(tokens):
            survey_svc.start(session, token)
            for page, dim in enumerate(bank.dimensions, start=1):
                answers = {q.id: str(1 + (i + j + offset) % 5)
                           for j, q in enumerate(bank.questions_in(dim.id))}
                survey_svc.save_page(session, token, page, answers,
                                     comment if page == 4 else None, comment_max=2000)
            survey_svc.submit(session, token)


@pytest.fixture
def small_team_assessment(app, small_team_assessment_template: Template) -> int:  # type: ignore[no-untyped-def]
    """A team named like a formula with 7 respondents, Finance with 2 (below the minimum of 5)
    and Ops with 6: Finance is hidden, and Ops with it so Finance cannot be worked out."""
    return int(small_team_assessment_template.value)


@pytest.fixture(scope="session")
def small_team_assessment_template(request: pytest.FixtureRequest) -> Template:
    return build_template(request, _small_team_assessment)


def _small_team_assessment(app) -> int:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, teams=(FORMULA_TEAM, "Finance", "Ops"), min_group_size=5)
    submit(app, aid, FORMULA_TEAM, 7, comment=FORMULA_COMMENT)
    submit(app, aid, "Finance", 2, offset=2)
    submit(app, aid, "Ops", 6, role="Manager", offset=1)
    with app.app_context():
        db.session().get(Assessment, aid).comment_min_group_size = 5
        db.session().commit()
    release(app, aid)
    run_jobs(app, kinds=("xlsx", "csv", "html"))  # the worker's part; the PDF waits
    return aid


def report(app, aid: int, fmt: str) -> bytes:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        return build_report(report_context(session, session.get(Assessment, aid), None), fmt)


def needs_weasyprint() -> None:
    """Skip where WeasyPrint's system libraries are missing, except in CI, where PDF must work."""
    try:
        import weasyprint  # noqa: F401
    except OSError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"WeasyPrint cannot load its libraries: {exc}")


def dimension_titles(app, aid: int) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [d.title for d in bank_of(db.session().get(Assessment, aid).bank).dimensions]


def test_safe_cell_neutralises_formula_prefixes() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", FORMULA_TEAM):
        assert safe_cell(text) == "'" + text
    assert safe_cell("Sales") == "Sales"
    assert safe_cell(-3.5) == -3.5 and safe_cell(None) is None


@pytest.mark.long
def test_pdf_download_has_cover_sections_and_page_numbers(app, client, auth,  # type: ignore[no-untyped-def]
                                                          small_team_assessment) -> None:
    needs_weasyprint()
    from pypdf import PdfReader

    aid = small_team_assessment
    auth.login()
    # Not built yet: the link leads to a page that says so; it reloads itself without script
    # (a <noscript> refresh), and with script asks for its progress as JSON instead.
    waiting = client.get(f"/results/{aid}/download/pdf")
    assert waiting.status_code == 302
    assert waiting.headers["Location"].endswith(f"/results/{aid}/download/pdf/status")
    status = client.get(waiting.headers["Location"])
    html = status.get_data(as_text=True)
    assert status.status_code == 200 and "Refresh" not in status.headers
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html
    assert "The PDF report is being prepared" in html
    progress = client.get(waiting.headers["Location"] + "?json=1").get_json()
    assert progress["ready"] is False and progress["failed"] is False
    assert progress["progress"] == "It is waiting for a worker."
    assert run_jobs(app, kinds=("pdf",)) == 1
    assert client.get(waiting.headers["Location"] + "?json=1").get_json()["ready"] is True
    status = client.get(waiting.headers["Location"])
    assert status.headers["Refresh"] == f"0; url=/results/{aid}/download/pdf"
    assert "is ready" in status.get_data(as_text=True)
    response = client.get(f"/results/{aid}/download/pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="assessment-{aid}-{utcnow().date():%Y%m%d}.pdf"')
    pdf = PdfReader(io.BytesIO(response.data))
    pages = [re.sub(r"\s+", " ", page.extract_text()) for page in pdf.pages]
    text = " ".join(pages)
    assert len(pages) > 8
    cover = pages[0]
    assert "Test" in cover and "Re-platforming readiness" in cover
    for headline in ("Alignment", "Maturity", "Consensus", "Respondents", "Response rate"):
        assert headline.upper() in cover.upper(), headline
    for title in dimension_titles(app, aid):
        assert title in text, title
    for section in ("Heatmap", "Divergence and clusters", "Recommendations", "Readiness",
                    "Method"):
        assert section in text, section
    for definition in ("(A² − 1)/12", "AD(M)", "ICC(1)", "k = N/G", "Cronbach", "silhouette",
                       "Complementary suppression", "Welch"):
        assert definition in text, definition
    assert f"page 1 of {len(pages)}" in pages[0]
    assert f"page {len(pages)} of {len(pages)}" in pages[-1]
    # The method appendix is the last section.
    assert "Method" in pages[-1] or "Method" in pages[-2]


def test_pdf_says_what_to_install_when_pango_is_missing(app, monkeypatch,  # type: ignore[no-untyped-def]
                                                        small_team_assessment) -> None:
    class Broken(types.ModuleType):
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            raise OSError("cannot load library 'libpango-1.0-0'")

    monkeypatch.setitem(sys.modules, "weasyprint", Broken("weasyprint"))
    with pytest.raises(ReportError, match="PDF needs Pango"):
        report(app, small_team_assessment, "pdf")
    result = app.test_cli_runner().invoke(args=["report", str(small_team_assessment)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == f"Error: {PANGO_HINT}"
    assert "Traceback" not in result.output


def test_workbook_has_the_sheets_and_hides_small_teams(app, small_team_assessment) -> None:  # type: ignore[no-untyped-def]
    book = load_workbook(io.BytesIO(report(app, small_team_assessment, "xlsx")))
    for name in SHEETS:
        assert name in book.sheetnames, name
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(cell.font.bold for cell in sheet[1] if cell.value), sheet.title
    # Finance (2 people) and its complement Ops never carry a number, anywhere.
    hidden_rows = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows(min_row=2, values_only=True):
            if "Finance" in row or "Ops" in row:
                hidden_rows += 1
                numbers = [v for v in row if isinstance(v, int | float)]
                assert not numbers, (sheet.title, row)
    assert hidden_rows >= 15  # responses, 5 team x dimension and 5 agreement rows each
    team_rows = [r for r in book["Team x dimension"].iter_rows(min_row=2, values_only=True)]
    finance = [r for r in team_rows if r[0] == "Finance"]
    assert finance and all(v == "suppressed" for r in finance for v in r[2:])
    # The formula-like team name and comment are text, shown as typed after a leading quote.
    shown = [r for r in team_rows if r[0] == "'" + FORMULA_TEAM]
    assert shown and all(isinstance(v, int | float) for r in shown for v in r[2:4])
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    comments = [r[2] for r in book["Comments"].iter_rows(min_row=2, values_only=True)]
    assert "'" + FORMULA_COMMENT in comments
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Respondents (submitted)"] == 15 and summary["Minimum group size"] == 5


def test_csv_tables_neutralise_formulas_and_hide_small_teams(app, small_team_assessment) -> None:  # type: ignore[no-untyped-def]
    archive = zipfile.ZipFile(io.BytesIO(report(app, small_team_assessment, "csv")))
    names = archive.namelist()
    for expected in ("summary.csv", "dimensions.csv", "team-x-dimension.csv", "items.csv",
                     "agreement.csv", "clusters.csv", "recommendations.csv", "readiness.csv",
                     "method.csv"):
        assert expected in names
    rows = list(csv.reader(io.StringIO(archive.read("team-x-dimension.csv").decode("utf-8-sig"))))
    assert rows[0][:4] == ["Team", "Dimension", "n", "Score"]
    teams = {r[0] for r in rows[1:]}
    assert "'" + FORMULA_TEAM in teams and FORMULA_TEAM not in teams
    assert all(v == "suppressed" for r in rows[1:] if r[0] == "Finance" for v in r[2:])
    for name in names:
        for row in csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))):
            assert not any(v.startswith(("=", "@")) for v in row), (name, row)


def test_html_report_is_one_standalone_page(app, small_team_assessment) -> None:  # type: ignore[no-untyped-def]
    html = report(app, small_team_assessment, "html").decode("utf-8")
    assert html.startswith("<!doctype html>") and "<style>" in html and "@page" in html
    assert "/static/" not in html and "<script" not in html
    # the lens chart, answers and agreement per dimension, two heatmaps (the cluster map comes
    # only with clusters: three teams answering three fixed patterns are one population)
    assert html.count("<svg") >= 13
    for title in dimension_titles(app, small_team_assessment):
        assert title in html
    for row in re.findall(r"<th scope=\"row\">(?:Finance|Ops)</th>(.*?)</tr>", html, re.S):
        assert re.search(r">\s*\d", row) is None, row
    assert "&#34;x&#34;" in html or "&quot;x&quot;" in html  # the team name is escaped, not run


def test_downloads_follow_the_access_rule(app, client, auth, small_team_assessment) -> None:  # type: ignore[no-untyped-def]
    aid = small_team_assessment
    anonymous = client.get(f"/results/{aid}/download/xlsx")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    auth.login("lead@example.org", LEAD_PASSWORD)
    assert client.get(f"/results/{aid}/download/xlsx").status_code == 404
    assert client.get("/results/999/download/xlsx").status_code == 404
    with app.app_context():
        access.share(db.session(), db.session().get(Assessment, aid), "lead@example.org")
    workbook = client.get(f"/results/{aid}/download/xlsx")
    assert workbook.status_code == 200
    assert workbook.mimetype == ("application/vnd.openxmlformats-officedocument"
                                 ".spreadsheetml.sheet")
    assert workbook.headers["Content-Disposition"].startswith("attachment;")
    assert load_workbook(io.BytesIO(workbook.data)).sheetnames[0] == "Summary"
    tables = client.get(f"/results/{aid}/download/csv")
    assert tables.status_code == 200 and tables.mimetype == "application/zip"
    assert tables.headers["Content-Disposition"].endswith('.zip"')
    page = client.get(f"/results/{aid}/download/html")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert client.get(f"/results/{aid}/download/docx").status_code == 404
    overview = client.get(f"/results/{aid}/").get_data(as_text=True)
    for fmt in ("pdf", "xlsx", "csv"):
        assert f"/results/{aid}/download/{fmt}" in overview


def test_download_before_any_answer_explains(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    auth.login()
    response = client.get(f"/results/{aid}/download/xlsx")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/{aid}/")
    assert "nothing to report" in client.get(f"/results/{aid}/").get_data(as_text=True)


def test_report_command_writes_to_out_and_to_the_default_path(app, runner, tmp_path,  # type: ignore[no-untyped-def]
                                                              small_team_assessment) -> None:
    aid = small_team_assessment
    out = tmp_path / "sub" / "book.xlsx"
    result = runner.invoke(args=["report", str(aid), "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out)
    assert "Summary" in load_workbook(out).sheetnames
    result = runner.invoke(args=["report", str(aid), "--format", "csv"])
    assert result.exit_code == 0, result.output
    expected = (tmp_path / "reports" / f"assessment-{aid}-{date.today():%Y%m%d}.zip")
    if not expected.exists():  # the run crossed midnight in UTC against local time
        expected = tmp_path / "reports" / f"assessment-{aid}-{utcnow().date():%Y%m%d}.zip"
    assert result.stdout.strip().splitlines()[-1] == str(expected)
    assert "summary.csv" in zipfile.ZipFile(expected).namelist()


def test_report_command_errors_are_one_line(app, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["report", "999", "--format", "xlsx"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: there is no assessment 999; see `assessment list`"
    empty = make_assessment(app)
    result = runner.invoke(args=["report", str(empty), "--format", "xlsx"])
    assert result.exit_code == 1 and "nothing to report" in result.stderr
    assert "Traceback" not in result.output
    result = runner.invoke(args=["report", "1", "--format", "docx"])
    assert result.exit_code == 2


def test_demo_workbook_carries_the_planted_patterns(app, runner, demo) -> None:  # type: ignore[no-untyped-def]
    listing = json.loads(runner.invoke(args=["assessment", "list", "--json"]).stdout)
    aid = max(entry["id"] for entry in listing)
    book = load_workbook(io.BytesIO(report(app, aid, "xlsx")))
    recommendations = list(book["Recommendations"].iter_rows(min_row=2, values_only=True))
    assert recommendations and all(r[5] for r in recommendations)  # each cites its facts
    dimensions = {r[0]: r for r in book["Dimensions"].iter_rows(min_row=2, values_only=True)}
    gaps = {d: r[7] for d, r in dimensions.items()}
    assert min(gaps, key=gaps.get) == "manual_checkpoints"  # the platform lags most there
    readiness = list(book["Readiness"].iter_rows(min_row=2, values_only=True))
    assert readiness[0][0] == "verdict" and len(readiness) > 1

"""Text that people type into a bank or a team name is data, never code: placeholders in
recommendation texts cannot reach the program's internals, make a page huge or fail it, and
"$...$" in a name is not chart mathematics."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from assessment import db
from assessment.banks import content_hash, texts
from assessment.models import (
    Answer,
    Assessment,
    BankVersion,
    Invitation,
    InvitationStatus,
    Response,
    utcnow,
)
from assessment.services import assessments as svc
from assessment.services.banks import bank_of, find_bank

from .conftest import (
    ROOT,
    Auth,
    Template,
    build_template,
    make_assessment,
    release,
    run_jobs,
    settle,
)

EVIL_TITLE = "{x.nope} and {n_respondents.__class__}"
EVIL_TEXT = ("{x.__class__.__mro__} {n_respondents:>1000000000} {n_respondents!r} "
             "{n_respondents:{x}} {} {0} {n_respondents:.0f} people")


def seed_submitted(app, aid: int, team: str, role: str, n: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    """n submitted responses with random answers, written directly (the survey's own path is
    tested elsewhere; here only what the pages make of them matters)."""
    rng = np.random.default_rng(seed)
    with app.app_context():
        session = db.session()
        a = session.get(Assessment, aid)
        bank = bank_of(a.bank)
        team_id = next(t.id for t in a.teams if t.name == team)
        role_id = next(r.id for r in a.roles if r.name == role)
        for _ in range(n):
            _token, digest = svc.new_token()
            invitation = Invitation(assessment_id=aid, token_hash=digest, team_id=team_id,
                                    role_id=role_id, status=InvitationStatus.SUBMITTED)
            session.add(invitation)
            session.flush()
            response = Response(assessment_id=aid, invitation_id=invitation.id, team_id=team_id,
                                role_id=role_id, current_page=6, submitted_at=utcnow())
            session.add(response)
            session.flush()
            session.add_all(Answer(response_id=response.id, question_id=q.id,
                                   value=float(rng.integers(1, 6))) for q in bank.questions)
        session.commit()


def test_placeholder_rules() -> None:
    assert texts.problems("{dimension_title}: {lens_gap:.0f}, {response_rate:.0%} {{ok}}") == []
    bad = texts.problems(EVIL_TITLE + " " + EVIL_TEXT)
    assert len(bad) == 8, bad
    assert any("'{x.__class__.__mro__}'" in p for p in bad)
    assert any("'{n_respondents:>1000000000}'" in p and "no width" in p for p in bad)
    assert any("'{n_respondents!r}'" in p for p in bad)
    assert texts.problems("a { brace") and texts.problems("a } brace")


def test_filling_never_fails_and_stays_small() -> None:
    values = {"n_respondents": 12.0, "dimension_title": "Data", "score": None}
    filled = texts.fill(EVIL_TEXT, values)
    assert filled.endswith(" 12 people") and "<class" not in filled
    assert len(filled) < 2 * len(EVIL_TEXT)
    assert "{x.__class__.__mro__}" in filled  # refused placeholders stay as written
    assert texts.fill("{score:.0f} of {dimension_title:.0f}", values) == "n/a of Data"
    assert texts.fill("{unbalanced", values) == "{unbalanced"


def test_bank_validate_names_each_bad_placeholder(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    definition = yaml.safe_load((ROOT / "question_banks" / "alignment.yaml").read_text())
    definition["recommendations"][1]["title"] = EVIL_TITLE
    definition["recommendations"][3]["text"] = "{lens_gap:,.1f} fine, {lens_gap:1000000000} not"
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(definition))
    result = runner.invoke(args=["bank", "validate", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"{path}: recommendations[1].title: unknown placeholder "
                               "'{x.nope}'")
    assert lines[1].startswith(f"{path}: recommendations[1].title: unknown placeholder "
                               "'{n_respondents.__class__}'")
    assert lines[2].startswith(f"{path}: recommendations[3].text: placeholder "
                               "'{lens_gap:1000000000}'")


@pytest.fixture
def evil_assessment(app, evil_assessment_template: Template) -> int:  # type: ignore[no-untyped-def]
    """An assessment on a bank stored before the placeholder rules (so never validated by
    them), whose "too few respondents" recommendation fires with hostile placeholders;
    released, the workers' work done but the PDF."""
    return int(evil_assessment_template.value)


@pytest.fixture(scope="session")
def evil_assessment_template(request: pytest.FixtureRequest) -> Template:
    return build_template(request, _evil_assessment)


def _evil_assessment(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        stored = find_bank(session, "alignment")
        definition = copy.deepcopy(stored.definition)
        rule = next(r for r in definition["recommendations"] if "n_respondents" in str(r["when"]))
        rule["title"], rule["text"] = EVIL_TITLE, EVIL_TEXT
        definition["version"] = 99
        row = BankVersion(bank_id="alignment", version=99, title=stored.title,
                          content_hash=content_hash(definition), definition=definition,
                          source="an older file")
        session.add(row)
        session.commit()
        aid = svc.create_assessment(session, bank=row, name="Evil", teams=["Sales", "Ops"],
                                    roles=["Staff"]).id
    seed_submitted(app, aid, "Sales", "Staff", 6, seed=1)
    seed_submitted(app, aid, "Ops", "Staff", 6, seed=2)
    release(app, aid)
    settle(app)
    return aid


def test_nothing_a_bank_says_breaks_a_page(app, client, evil_assessment) -> None:  # type: ignore[no-untyped-def]
    aid = evil_assessment
    Auth(client).login()
    for url in (f"/results/{aid}/", f"/results/{aid}/recommendations",
                f"/results/{aid}/readiness", f"/results/{aid}/download/html",
                f"/results/{aid}/download/csv", f"/results/{aid}/download/xlsx"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.data) < 3_000_000, (url, len(response.data))
        body = response.get_data(as_text=True) if url.endswith(("/", "s", "/html")) else ""
        assert "<class" not in body and "&lt;class" not in body, url
    page = client.get(f"/results/{aid}/recommendations").get_data(as_text=True)
    assert "12 people" in page and "{x.__class__.__mro__}" in page
    with app.app_context():
        from assessment.services import api_tokens
        from assessment.services.api_tokens import user_by_email

        clear = api_tokens.create(db.session(), user_by_email(db.session(), "admin@example.org"),
                                  "t")[1]
    api = client.get(f"/api/v1/assessments/{aid}/results",
                     headers={"Authorization": f"Bearer {clear}"})
    assert api.status_code == 200
    titles = [r["title"] for r in api.get_json()["results"]["recommendations"]]
    assert EVIL_TITLE in titles


@pytest.mark.long
def test_names_are_text_not_chart_mathematics(app, client) -> None:  # type: ignore[no-untyped-def]
    team, role = r"Ops $\undefinedmacro$", r"Staff $\frac{1}{$"
    aid = make_assessment(app, teams=(team, "Sales"), roles=(role, "Manager"))
    seed_submitted(app, aid, team, role, 6, seed=3)
    seed_submitted(app, aid, "Sales", "Manager", 6, seed=4)
    release(app, aid)
    settle(app)
    Auth(client).login()
    for url in (f"/results/{aid}/", f"/results/{aid}/dimensions", f"/results/{aid}/heatmap",
                f"/results/{aid}/heatmap?by=agreement", f"/results/{aid}/divergence",
                f"/results/{aid}/download/html"):
        response = client.get(url)
        assert response.status_code == 200, url
    heatmap = client.get(f"/results/{aid}/heatmap").get_data(as_text=True)
    svg = heatmap[heatmap.index("<svg"):heatmap.index("</svg>")]
    assert r"$\undefinedmacro$" in svg  # the name is drawn as written


@pytest.mark.long
def test_the_pdf_report_takes_names_as_text(app, client) -> None:  # type: ignore[no-untyped-def]
    from .test_reports import needs_weasyprint

    needs_weasyprint()
    team = r"Ops $\undefinedmacro$"
    aid = make_assessment(app, teams=(team, "Sales"))
    seed_submitted(app, aid, team, "Staff", 6, seed=5)
    seed_submitted(app, aid, "Sales", "Staff", 6, seed=6)
    release(app, aid)
    settle(app)
    run_jobs(app, kinds=("pdf",))
    Auth(client).login()
    response = client.get(f"/results/{aid}/download/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")


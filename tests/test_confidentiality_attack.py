"""An inquisitive lead tries to learn about a team below the threshold from everything they can
reach: the results pages, the API (results and response rates) and the Excel and CSV downloads.

The method: run the same organisation twice, once with the small team answering 1 to everything
and once 5, and show that nothing a lead can reach below the organisation-wide figures differs.
If any breakdown, complement or linked table leaked the small team, it would differ. Plus the
subtraction attack on counts, and the anonymous-mode promises."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import sqlalchemy as sa

from assessment import db
from assessment.models import Assessment, Invitation, Response
from assessment.services import access, survey
from assessment.services.api_tokens import create as create_token
from assessment.services.banks import bank_of

from .conftest import (
    LEAD_PASSWORD,
    Auth,
    csrf_token,
    make_assessment,
    make_tokens,
    release,
    run_jobs,
)

# Sales 6 (5 staff, 1 manager), Ops 5 managers, Finance 2 staff; minimum group size 5.
PEOPLE = [("Sales", "Staff")] * 5 + [("Sales", "Manager")] + [("Ops", "Manager")] * 5 + [
    ("Finance", "Staff")] * 2


def _organisation(app, finance_answer: str) -> int:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, teams=("Sales", "Ops", "Finance"), roles=("Manager", "Staff"))
    with app.app_context():
        bank = bank_of(db.session().get(Assessment, aid).bank)
    for i, (team, role) in enumerate(PEOPLE):
        token = make_tokens(app, aid, 1, team=team, role=role)[0]
        with app.app_context():
            session = db.session()
            survey.start(session, token)
            for page, dim in enumerate(bank.dimensions, start=1):
                answers = {q.id: (finance_answer if team == "Finance" else str(1 + (i + j) % 5))
                           for j, q in enumerate(bank.questions_in(dim.id))}
                survey.save_page(session, token, page, answers, "", comment_max=2000)
            survey.submit(session, token)
    with app.app_context():
        access.share(db.session(), db.session().get(Assessment, aid), "lead@example.org")
    release(app, aid)
    run_jobs(app, kinds=("xlsx", "csv"))  # the downloads read what the worker stored
    return aid


def _everything_below_the_top(app, aid: int) -> dict:  # type: ignore[no-untyped-def]
    """What a lead can fetch, with the organisation-wide figures taken out."""
    with app.app_context():
        token = create_token(db.session(), _lead(app), "attack")[1]
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    results = api.get(f"/api/v1/assessments/{aid}/results", headers=headers).get_json()["results"]
    rates = api.get(f"/api/v1/assessments/{aid}/response-rates", headers=headers).get_json()
    browser = app.test_client()
    Auth(browser).login("lead@example.org", LEAD_PASSWORD)
    workbook = openpyxl.load_workbook(io.BytesIO(
        browser.get(f"/results/{aid}/download/xlsx").data), read_only=True)
    team_sheet = [row for row in workbook["Team x dimension"].iter_rows(values_only=True)]
    csvs = zipfile.ZipFile(io.BytesIO(browser.get(f"/results/{aid}/download/csv").data))
    team_csvs = {name: list(csv.reader(io.StringIO(csvs.read(name).decode("utf-8-sig"))))
                 for name in csvs.namelist() if "team" in name or "group" in name}
    return {
        "dimensions": {d: {k: v.get(k) for k in ("groups", "roles", "group_roles")}
                       for d, v in results["dimensions"].items()},
        "items": {q: {k: v.get(k) for k in ("groups", "roles")}
                  for q, v in results["items"].items()},
        "rates": [t for t in rates["teams"]],
        "xlsx": team_sheet,
        "csv": team_csvs,
    }


def _lead(app):  # type: ignore[no-untyped-def]
    from assessment.models import User

    return db.session().scalar(sa.select(User).where(User.email == "lead@example.org"))


def test_a_small_teams_answers_cannot_be_seen_anywhere(app) -> None:  # type: ignore[no-untyped-def]
    low = _everything_below_the_top(app, _organisation(app, "1"))
    high = _everything_below_the_top(app, _organisation(app, "5"))
    assert low["dimensions"]["handoffs"]["groups"]["Finance"] == {"suppressed": True}
    assert low == high


def test_subtracting_shown_counts_from_the_total_reveals_no_small_team(app) -> None:  # type: ignore[no-untyped-def]
    aid = _organisation(app, "3")
    with app.app_context():
        token = create_token(db.session(), _lead(app), "attack")[1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get(f"/api/v1/assessments/{aid}/results", headers=headers).get_json()["results"]
    total = body["n_respondents"]
    for dim in body["dimensions"].values():
        shown = sum(g["n"] for g in dim["groups"].values() if not g.get("suppressed"))
        assert total - shown == 0 or total - shown >= 5
        shown_roles = sum(r["n"] for r in dim["roles"].values() if not r.get("suppressed"))
        assert total - shown_roles == 0 or total - shown_roles >= 5
    rates = client.get(f"/api/v1/assessments/{aid}/response-rates", headers=headers).get_json()
    shown = sum(t["submitted"] for t in rates["teams"] if not t["suppressed"])
    assert rates["total_submitted"] - shown >= 5
    assert all(set(t) == {"team", "suppressed"} for t in rates["teams"] if t["suppressed"])


def test_anonymous_mode_leaves_no_join_back_to_a_person(app) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, anonymous=True)
    tokens = make_tokens(app, aid, 3)
    client = app.test_client()
    from .test_survey import complete

    for token in tokens:
        complete(client, app, token)
        thanks = client.post(f"/s/{token}/submit",
                             data={"csrf_token": csrf_token(client, f"/s/{token}/review")})
        page = client.get(thanks.headers["Location"]).get_data(as_text=True)
        assert token not in page and token not in thanks.headers["Location"]
        assert token not in client.get(f"/s/{token}").get_data(as_text=True)
    with app.app_context():
        session = db.session()
        assert session.scalar(sa.select(sa.func.count()).select_from(Response).where(
            Response.invitation_id.is_not(None))) == 0
        # The invitation keeps only that it was used: no time that could be matched with a
        # response's submission time.
        columns = {c.name for c in Invitation.__table__.columns}
        assert not {c for c in columns if c.endswith("_at")} - {"created_at"}
        # No moment of a person's own action on an invitation either: only days.
        moments = {c.name for c in Invitation.__table__.columns
                   if isinstance(c.type, sa.DateTime)}
        assert moments == {"created_at"}, moments
        references = {fk.column.table.name for fk in Response.__table__.foreign_keys}
        assert "invitations" in references  # only through invitation_id, which is now empty

"""Releases against a lead who watches over time.

The lead keeps everything they can read (every results page, every download, every API answer),
people submit one by one, and the lead reads everything again. Until a release is allowed the
two must be identical; a release must add at least `min_group_size` people in every team and
role it changes; a team hidden once stays hidden; an earlier cycle not shared with the lead is
invisible; anonymous responses carry no time finer than the day.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime

import openpyxl
import pytest
import sqlalchemy as sa

from assessment import db
from assessment.models import Assessment, Release, Response, StoredReport, User
from assessment.services import access, releases, stored, survey
from assessment.services import assessments as svc
from assessment.services.api_tokens import create as create_token
from assessment.services.banks import bank_of
from assessment.services.errors import Conflict

from .conftest import LEAD_PASSWORD, Auth, make_assessment, make_tokens, settle

K = 5
PAGES = ["", "dimensions", "heatmap", "heatmap?by=agreement", "divergence", "recommendations",
         "comments", "readiness"]
# What differs between two page views whatever the data: the form token and the session's own
# clock (the warning before the session ends).
CSRF_VALUE = re.compile(r'((?:name="csrf_token"[^>]*value|data-csrf|data-absolute-left)=")[^"]+(")')


def submit(app, aid: int, team: str, role: str, n: int = 1, seed: int = 0,  # type: ignore[no-untyped-def]
           comment: str = "", tokens: list[str] | None = None) -> None:
    """n people of a team and role answer every statement (varied by seed) and submit; with
    `tokens`, they use (and use up) invitations issued earlier."""
    with app.app_context():
        bank = bank_of(db.session().get(Assessment, aid).bank)
    if tokens is not None:
        links = [tokens.pop() for _ in range(n)]
    else:
        links = make_tokens(app, aid, n, team=team, role=role)
    for i, token in enumerate(links):
        with app.app_context():
            session = db.session()
            survey.start(session, token)
            for page, dim in enumerate(bank.dimensions, start=1):
                answers = {q.id: str(1 + (seed + i * 3 + j) % 5)
                           for j, q in enumerate(bank.questions_in(dim.id))}
                survey.save_page(session, token, page, answers,
                                 f"{comment} {i}" if comment else "", comment_max=2000)
            survey.submit(session, token)


def organisation(app, *, interim: bool = True, anonymous: bool = False) -> int:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, teams=("Sales", "Ops", "Finance"), roles=("Manager", "Staff"),
                          min_group_size=K, anonymous=anonymous)
    with app.app_context():
        session = db.session()
        a = session.get(Assessment, aid)
        a.interim_releases = interim
        session.commit()
        access.share(session, a, "lead@example.org")
    return aid


def lead_token(app) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        lead = session.scalar(sa.select(User).where(User.email == "lead@example.org"))
        return create_token(session, lead, "watching")[1]


def snapshot(app, aid: int, token: str) -> dict:  # type: ignore[no-untyped-def]
    """Everything a lead can read about the assessment, as text to compare, once the workers
    have done what was due."""
    settle(app)
    browser = app.test_client()
    Auth(browser).login("lead@example.org", LEAD_PASSWORD)
    out: dict = {}
    for page in PAGES:
        html = browser.get(f"/results/{aid}/{page}").get_data(as_text=True)
        out[f"page:{page}"] = CSRF_VALUE.sub(r"\1\2", html)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for path in (f"/api/v1/assessments/{aid}/results", f"/api/v1/assessments/{aid}/response-rates",
                 "/api/v1/assessments"):
        response = api.get(path, headers=headers)
        out[f"api:{path}"] = (response.status_code, response.get_json())
    xlsx = browser.get(f"/results/{aid}/download/xlsx")
    if xlsx.mimetype.endswith("sheet"):
        book = openpyxl.load_workbook(io.BytesIO(xlsx.data), read_only=True)
        out["xlsx"] = {ws.title: list(ws.iter_rows(values_only=True)) for ws in book}
    else:
        out["xlsx"] = xlsx.status_code
    zipped = browser.get(f"/results/{aid}/download/csv")
    if zipped.mimetype == "application/zip":
        archive = zipfile.ZipFile(io.BytesIO(zipped.data))
        out["csv"] = {n: list(csv.reader(io.StringIO(archive.read(n).decode("utf-8-sig"))))
                      for n in archive.namelist()}
    else:
        out["csv"] = zipped.status_code
    report = browser.get(f"/results/{aid}/download/html")
    out["html"] = report.get_data(as_text=True) if report.status_code == 200 else 0
    return out


@pytest.mark.long
def test_a_lead_polling_everything_learns_nothing_until_enough_have_submitted(app) -> None:  # type: ignore[no-untyped-def]
    aid = organisation(app)
    submit(app, aid, "Sales", "Staff", 10)
    submit(app, aid, "Ops", "Manager", 5, seed=1)
    invited = make_tokens(app, aid, K, team="Sales", role="Staff")
    token = lead_token(app)
    first = snapshot(app, aid, token)
    assert first["api:/api/v1/assessments/" f"{aid}/results"][1]["n_respondents"] == 15
    # One person at a time: nothing a lead can read changes, whatever they answered.
    for n in range(1, K):
        submit(app, aid, "Sales", "Staff", 1, seed=n, tokens=invited)
        now = snapshot(app, aid, token)
        changed = [key for key in first if now[key] != first[key]]
        assert not changed, f"changed after {n} new response(s): {changed}"
    # The fifth makes a batch of five in one team and role: a release.
    submit(app, aid, "Sales", "Staff", 1, seed=9, tokens=invited)
    later = snapshot(app, aid, token)
    assert later != first
    assert later[f"api:/api/v1/assessments/{aid}/results"][1]["n_respondents"] == 20


def test_new_responses_spread_thinly_are_held_back_not_lost(app) -> None:  # type: ignore[no-untyped-def]
    aid = organisation(app, interim=False)
    submit(app, aid, "Sales", "Staff", 6)
    submit(app, aid, "Ops", "Manager", 5, seed=2)
    with app.app_context():
        session = db.session()
        a = session.get(Assessment, aid)
        assert releases.release(session, a).n_respondents == 11
        # Five more, but three in one cell and two in another: nothing may be shown.
    submit(app, aid, "Sales", "Staff", 3, seed=3)
    submit(app, aid, "Ops", "Manager", 2, seed=4)
    with app.app_context():
        session = db.session()
        a = session.get(Assessment, aid)
        with pytest.raises(Conflict, match="5 new responses waiting.*5 more needed"):
            releases.release(session, a)
    # Two more in Sales/Staff make that cell's batch five: it is released, Ops waits.
    submit(app, aid, "Sales", "Staff", 2, seed=5)
    with app.app_context():
        session = db.session()
        a = session.get(Assessment, aid)
        made = releases.release(session, a)
        assert made.n_respondents == 16
        waiting = releases.waiting(session, a)
        assert waiting.total == 2 and waiting.held == 2
        stored = session.scalar(sa.select(sa.func.count()).select_from(Response).where(
            Response.assessment_id == aid, Response.submitted_at.is_not(None)))
        assert stored == 18  # the held-back two are kept


@pytest.mark.long
def test_every_pair_of_releases_differs_by_at_least_k_in_every_cell(app) -> None:  # type: ignore[no-untyped-def]
    """Whatever order people arrive in, two releases never differ by 1..k-1 people in any team,
    role or team x role cell, nor overall."""
    import random

    aid = organisation(app, interim=True)
    rng = random.Random(7)
    cells = [("Sales", "Staff"), ("Sales", "Manager"), ("Ops", "Manager"), ("Ops", "Staff"),
             ("Finance", "Staff")]
    for step in range(40):
        team, role = rng.choice(cells)
        submit(app, aid, team, role, 1, seed=step)
        if step % 3 == 0:
            with app.app_context():
                releases.ensure_current(db.session(), db.session().get(Assessment, aid))
    with app.app_context():
        session = db.session()
        made = session.scalars(sa.select(Release).where(Release.assessment_id == aid)
                               .order_by(Release.seq)).all()
        assert len(made) >= 2
        counts = []
        for r in made:
            rows = session.execute(
                sa.select(Response.team_id, Response.role_id).join(Release).where(
                    Release.assessment_id == aid, Release.seq <= r.seq)).all()
            counts.append(rows)
    from collections import Counter

    for before, after in zip(counts, counts[1:], strict=False):
        b, a = Counter(before), Counter(after)
        assert len(after) - len(before) >= K
        for cell in set(a) | set(b):
            assert a[cell] - b[cell] in (0,) or a[cell] - b[cell] >= K, cell
        for axis in (0, 1):
            bb = Counter(c[axis] for c in before)
            aa = Counter(c[axis] for c in after)
            for key in set(aa) | set(bb):
                assert aa[key] - bb[key] == 0 or aa[key] - bb[key] >= K


def test_a_team_hidden_once_stays_hidden(app) -> None:  # type: ignore[no-untyped-def]
    """Finance has 3 people at the first release (hidden). Five more arrive: shown now, Finance's
    figures minus the new five would be the three who were hidden, so it stays hidden."""
    aid = organisation(app, interim=False)
    submit(app, aid, "Sales", "Staff", 6)
    submit(app, aid, "Ops", "Staff", 6, seed=1)
    submit(app, aid, "Finance", "Staff", 3, seed=2)
    with app.app_context():
        session = db.session()
        first = releases.release(session, session.get(Assessment, aid))
        assert first.result["dimensions"]["ownership"]["groups"]["Finance"] == {"suppressed": True}
    submit(app, aid, "Finance", "Staff", 5, seed=3)
    with app.app_context():
        session = db.session()
        second = releases.release(session, session.get(Assessment, aid))
        assert second.n_respondents == 20
        for dim in second.result["dimensions"].values():
            assert dim["groups"]["Finance"] == {"suppressed": True}
        assert {"team": "Finance", "suppressed": True} in second.rates["teams"]
        # The hidden remainder of each release (everyone minus the shown teams) is never a
        # group of fewer than K, and the two remainders differ by 0 or at least K people.
        remainders = []
        for r in (first, second):
            shown = sum(g["n"] for g in r.result["dimensions"]["ownership"]["groups"].values()
                        if not g.get("suppressed"))
            remainders.append(r.n_respondents - shown)
        assert all(x == 0 or x >= K for x in remainders)
        assert remainders[1] - remainders[0] in (0,) or remainders[1] - remainders[0] >= K


def test_the_api_answers_409_until_the_first_release(app) -> None:  # type: ignore[no-untyped-def]
    aid = organisation(app, interim=False)
    submit(app, aid, "Sales", "Staff", 7)
    token = lead_token(app)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("results", "response-rates"):
        response = client.get(f"/api/v1/assessments/{aid}/{path}", headers=headers)
        assert response.status_code == 409
        assert "released" in response.get_json()["error"]["message"]
    listing = client.get("/api/v1/assessments", headers=headers).get_json()["assessments"][0]
    assert listing["submitted"] == 5 and listing["released_at"] is None  # banded: 7 -> 5
    with app.app_context():
        session = db.session()
        assert releases.close(session, session.get(Assessment, aid)).startswith(
            "Closed and released")
    body = client.get(f"/api/v1/assessments/{aid}/results", headers=headers).get_json()
    assert body["n_respondents"] == 7 and body["released_at"]


def test_published_figures_carry_readable_precision(app) -> None:  # type: ignore[no-untyped-def]
    aid = organisation(app, interim=False)
    submit(app, aid, "Sales", "Staff", 6)
    submit(app, aid, "Ops", "Manager", 6, seed=3)
    with app.app_context():
        session = db.session()
        releases.release(session, session.get(Assessment, aid))
    body = app.test_client().get(f"/api/v1/assessments/{aid}/results", headers={
        "Authorization": f"Bearer {lead_token(app)}"}).get_json()

    def floats(node, key=None):  # type: ignore[no-untyped-def]
        if isinstance(node, dict):
            for k, v in node.items():
                yield from floats(v, k)
        elif isinstance(node, list):
            for v in node:
                yield from floats(v, key)
        elif isinstance(node, float):
            yield key, node

    found = list(floats(body["results"]))
    assert found
    for key, value in found:
        if key in ("p_value", "p"):
            assert float(f"{value:.3g}") == value, (key, value)
        else:
            assert round(value, 3) == value, (key, value)
    icc = body["results"]["dimensions"]["ownership"]["icc1"]
    assert icc is None or round(icc, 3) == icc


def test_release_and_close_commands(app, runner) -> None:  # type: ignore[no-untyped-def]
    aid = organisation(app, interim=False)
    submit(app, aid, "Sales", "Staff", 3)
    refused = runner.invoke(args=["assessment", "release", str(aid)])
    assert refused.exit_code == 1
    lines = [line for line in refused.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "2 more needed" in lines[0], refused.output
    submit(app, aid, "Sales", "Staff", 2, seed=1)
    made = runner.invoke(args=["assessment", "release", str(aid)])
    assert made.exit_code == 0 and "5 responses shown" in made.output
    submit(app, aid, "Ops", "Staff", 5, seed=2)
    closed = runner.invoke(args=["assessment", "close", str(aid)])
    assert closed.exit_code == 0 and "release 2 shows 10 responses" in closed.output


@pytest.mark.long
def test_an_earlier_cycle_not_shared_is_invisible(app) -> None:  # type: ignore[no-untyped-def]
    first = make_assessment(app, teams=("Sales", "Ops"))
    submit(app, first, "Sales", "Staff", 6)
    submit(app, first, "Ops", "Staff", 6, seed=1)
    with app.app_context():
        session = db.session()
        earlier = session.get(Assessment, first)
        releases.close(session, earlier)
        earlier.name = "Secret baseline"
        session.commit()
        later = svc.create_assessment(session, bank=earlier.bank, name="Follow-up",
                                      teams=["Sales", "Ops"], roles=["Manager", "Staff"],
                                      previous=earlier)
        svc.set_status(session, later, svc.AssessmentStatus.OPEN)
        second = later.id
    submit(app, second, "Sales", "Staff", 6, seed=2)
    submit(app, second, "Ops", "Staff", 6, seed=3)
    with app.app_context():
        session = db.session()
        later = session.get(Assessment, second)
        releases.close(session, later)
        access.share(session, later, "lead@example.org")
    browser = app.test_client()
    Auth(browser).login("lead@example.org", LEAD_PASSWORD)
    overview = browser.get(f"/results/{second}/").get_data(as_text=True)
    # Shared after the release, so the lead's variant (no earlier cycle) is built on demand.
    assert "comparison with the previous cycle is being prepared" in overview
    settle(app, kinds=None, assessment_id=second)  # every file of this cycle, PDF included
    overview = browser.get(f"/results/{second}/").get_data(as_text=True)
    assert "An earlier cycle is not shared with you" in overview
    files = {fmt: browser.get(f"/results/{second}/download/{fmt}") for fmt in
             ("pdf", "xlsx", "csv", "html")}
    assert all(f.status_code == 200 for f in files.values()), {
        k: f.status_code for k, f in files.items()}
    texts = {"overview": overview, **{fmt: file_text(fmt, f.data) for fmt, f in files.items()}}
    for name, text in texts.items():
        assert "Secret baseline" not in text, name
        assert "Since the previous cycle (" not in text, name
    # Nor does any stored file of this release in the lead's variant; the admins' variant
    # does compare (so the check above is not vacuous).
    with app.app_context():
        session = db.session()
        later = session.get(Assessment, second)
        lead = session.scalar(sa.select(User).where(User.email == "lead@example.org"))
        lead_variant = stored.variant(session, later, lead)
        admin_variant = stored.variant(session, later, None)
        assert lead_variant == "" and admin_variant.startswith(f"{first}@")
        rows = session.scalars(sa.select(StoredReport).where(
            StoredReport.release_id == releases.latest(session, later).id)).all()
        by_variant = {(r.kind, r.variant): r.content for r in rows}
    for kind in ("pdf", "xlsx", "csv", "html", "view"):
        assert "Secret baseline" not in file_text(kind, by_variant[(kind, "")]), kind
        assert (kind, admin_variant) in by_variant, kind
    for kind in ("pdf", "html", "view"):  # those that name the earlier cycle
        assert "Secret baseline" in file_text(kind, by_variant[(kind, admin_variant)]), kind
    # Shared with both, the comparison is there.
    with app.app_context():
        access.share(db.session(), db.session().get(Assessment, first), "lead@example.org")
    overview = browser.get(f"/results/{second}/").get_data(as_text=True)
    assert "Since the previous cycle (Secret baseline)" in overview
    report = browser.get(f"/results/{second}/download/html").get_data(as_text=True)
    assert "Secret baseline" in report


def file_text(kind: str, data: bytes) -> str:
    """The words of a stored or downloaded file, whatever its format."""
    if kind == "pdf":
        from pypdf import PdfReader

        return " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    if kind == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        return " ".join(str(v) for ws in book for row in ws.iter_rows(values_only=True)
                        for v in row if v is not None)
    if kind == "csv":
        archive = zipfile.ZipFile(io.BytesIO(data))
        return " ".join(archive.read(n).decode("utf-8-sig") for n in archive.namelist())
    return data.decode("utf-8")


def test_anonymous_responses_carry_no_time_finer_than_the_day(app) -> None:  # type: ignore[no-untyped-def]
    aid = organisation(app, anonymous=True, interim=False)
    submit(app, aid, "Sales", "Staff", 12, comment="note")
    with app.app_context():
        session = db.session()
        rows = session.execute(sa.select(Response.id, Response.started_at, Response.submitted_at)
                               .where(Response.assessment_id == aid)).all()
        for _id, started, submitted in rows:
            for moment in (started, submitted):
                assert isinstance(moment, datetime)
                assert (moment.hour, moment.minute, moment.second, moment.microsecond) == (
                    0, 0, 0, 0)
        ids = [r.id for r in rows]
        assert ids != sorted(ids) or max(ids) > 1 << 20  # drawn at random, not in order
        a = session.get(Assessment, aid)
        made = releases.release(session, a)
        texts = made.comments["by_dimension"]["ownership"][0][1]
        assert sorted(texts) == sorted(f"note {i}" for i in range(12))
        assert texts != [f"note {i}" for i in range(12)]  # not in the order written

"""The command-line interface: users, assessments, links, status, demo, and clear errors."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa

from assessment import db
from assessment.models import Invitation, Response, User

from .conftest import make_assessment


def create(runner, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["assessment", "create", "--bank", "alignment", "--name", "Q3",
                               "--teams", "Sales, Finance", "--roles", "Manager,Staff", *extra])


def test_create_user_reads_the_password_from_stdin(app, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["create-user", "new@example.org", "--role", "lead",
                                 "--password-stdin"], input="a-long-password-1\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session().scalar(sa.select(User).where(User.email == "new@example.org"))
        assert user.role.value == "lead"
        assert user.password_hash != "a-long-password-1"
        assert user.check_password("a-long-password-1")


def test_create_user_prompts_and_refuses_short_passwords(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["create-user", "p@example.org", "--role", "admin"],
                           input="prompted-password\nprompted-password\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-user", "s@example.org", "--role", "admin",
                                 "--password-stdin"], input="short\n")
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    result = runner.invoke(args=["create-user", "p@example.org", "--role", "admin",
                                 "--password-stdin"], input="another-long-password\n")
    assert result.exit_code == 1 and "already exists" in result.output


def test_assessment_create_prints_the_id_on_its_last_line(app, runner) -> None:  # type: ignore[no-untyped-def]
    result = create(runner, "--min-group-size", "7", "--anonymous")
    assert result.exit_code == 0, result.output
    new_id = int(result.output.strip().splitlines()[-1])
    listing = json.loads(runner.invoke(args=["assessment", "list", "--json"]).output)
    entry = next(e for e in listing if e["id"] == new_id)
    assert entry["name"] == "Q3" and entry["bank"] == "alignment"
    assert entry["status"] == "draft" and entry["submitted"] == 0
    assert entry["min_group_size"] == 7 and entry["anonymous"] is True


def test_assessment_create_errors_are_one_clear_line(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["assessment", "create", "--bank", "nope", "--name", "x",
                                 "--teams", "A", "--roles", "B"])
    assert result.exit_code == 1 and "no registered bank 'nope'" in result.output
    result = runner.invoke(args=["assessment", "create", "--bank", "alignment", "--name", "x",
                                 "--teams", "A,a", "--roles", "B"])
    assert result.exit_code == 1 and "named more than once" in result.output
    assert "Traceback" not in result.output


def test_open_close_and_status(app, runner) -> None:  # type: ignore[no-untyped-def]
    aid = int(create(runner).output.strip().splitlines()[-1])
    assert runner.invoke(args=["assessment", "open", str(aid)]).exit_code == 0
    assert runner.invoke(args=["assessment", "close", str(aid)]).exit_code == 0
    assert runner.invoke(args=["assessment", "open", str(aid)]).exit_code == 0
    missing = runner.invoke(args=["assessment", "open", "999"])
    assert missing.exit_code == 1 and "no assessment 999" in missing.output
    runner.invoke(args=["invite", str(aid), "--team", "Sales", "--role", "Staff", "--count", "3"])
    status = json.loads(runner.invoke(args=["assessment", "status", str(aid), "--json"]).output)
    assert status["id"] == aid and status["responses"] == 0
    assert status["teams"]["Sales"] == {"invited": 3, "started": 0, "submitted": 0}
    assert status["teams"]["Finance"] == {"invited": 0, "started": 0, "submitted": 0}
    text = runner.invoke(args=["assessment", "status", str(aid)]).output
    assert "Sales" in text and "invited" in text


def test_invite_writes_csv_with_full_urls_and_stores_only_hashes(app, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    out = tmp_path / "links.csv"
    result = runner.invoke(args=["invite", str(aid), "--team", "sales", "--role", "Staff",
                                 "--count", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["url", "team", "role"]
    assert len(rows) == 5 and all(r["url"].startswith("http://testserver/s/") for r in rows)
    assert {(r["team"], r["role"]) for r in rows} == {("Sales", "Staff")}
    tokens = {r["url"].rsplit("/", 1)[1] for r in rows}
    with app.app_context():
        hashes = set(db.session().scalars(sa.select(Invitation.token_hash)))
    assert not tokens & hashes, "tokens must never be stored in clear"
    import hashlib

    assert {hashlib.sha256(t.encode()).hexdigest() for t in tokens} == hashes
    # Standard output by default.
    printed = runner.invoke(args=["invite", str(aid), "--team", "Finance", "--role", "Manager",
                                  "--count", "2"])
    assert list(csv.reader(io.StringIO(printed.output)))[0] == ["url", "team", "role"]
    bad = runner.invoke(args=["invite", str(aid), "--team", "Nowhere", "--role", "Staff",
                              "--count", "2"])
    assert bad.exit_code == 1 and "Unknown team 'Nowhere'" in bad.output


@pytest.mark.long
def test_demo_creates_a_realistic_organisation_once(app, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Lead login:      lead@demo.example / " in result.output
    assert "Respondent link: http://testserver/s/" in result.output
    with app.app_context():
        session = db.session()
        submitted = session.scalar(sa.select(sa.func.count()).select_from(Response).where(
            Response.submitted_at.is_not(None)))
        assert submitted == 300  # two cycles of 150
        lead = session.scalar(sa.select(User).where(User.email == "lead@demo.example"))
        password = result.output.split("lead@demo.example / ")[1].split()[0]
        assert lead.check_password(password)
    again = runner.invoke(args=["demo", "--if-empty", "--link"])
    assert again.exit_code == 0 and "Created" not in again.output
    assert password in again.output and "Respondent link:" in again.output
    listing = json.loads(runner.invoke(args=["assessment", "list", "--json"]).output)
    assert [e["status"] for e in listing] == ["open", "closed"]


def test_assessment_list_reads_what_the_admin_pages_read(app, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`assessment list` reads through the driver with its own SQL statement (it must start
    fast): it agrees with the ORM query the admin pages use, on this test's database (SQLite,
    or PostgreSQL in CI's second pass), with drafts, closed ones, started and submitted
    responses and an anonymous assessment."""
    from assessment.cli_list import listing, sqlite_file
    from assessment.services import assessments as svc
    from assessment.services import survey

    from .conftest import make_tokens

    counts = {"open": (3, 1), "closed": (2, 2), "draft": (0, 0)}
    made = {}
    for status, (started, submitted) in counts.items():
        made[status] = aid = make_assessment(app, status="open" if status == "closed" else status,
                                             anonymous=status == "open")
        tokens = make_tokens(app, aid, n=max(started, 1))
        with app.app_context():
            session = db.session()
            for i, token in enumerate(tokens[:started]):
                survey.start(session, token)
                if i < submitted:
                    survey.submit(session, token)
            if status == "closed":
                from assessment.models import Assessment, AssessmentStatus

                svc.set_status(session, session.get(Assessment, aid), AssessmentStatus.CLOSED)
    with app.app_context():
        session = db.session()
        expected = [
            {"id": a.id, "name": a.name, "bank": a.bank.bank_id, "bank_version": a.bank.version,
             "status": a.status.value, "submitted": n, "anonymous": a.anonymous,
             "min_group_size": a.min_group_size}
            for a, n in session.execute(svc.list_assessments(session)).all()]
    assert [e["id"] for e in expected] == sorted(made.values(), reverse=True)
    assert {e["id"]: e["submitted"] for e in expected} == {
        made[s]: counts[s][1] for s in counts}
    with app.app_context():  # any URL but a SQLite file's is read through the app's engine
        assert listing(app.config["DATABASE_URL"]) == expected
    printed = json.loads(runner.invoke(args=["assessment", "list", "--json"]).output)
    assert printed == expected
    # Each SQLite file is read by the driver itself, any other URL through the engine.
    assert (sqlite_file(app.config["DATABASE_URL"]) is None) == (not app.config[
        "DATABASE_URL"].startswith("sqlite"))


def test_assessment_list_of_a_missing_database_says_what_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from .conftest import ROOT

    missing = tmp_path / "nothing-here.db"
    env = {"DATABASE_URL": f"sqlite:///{missing}", "SECRET_KEY": "x",
           "INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "assessment", "list"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"Error: there is no database at {missing}: run `flask --app app init-db` first")
    assert not missing.exists()  # listing never creates the file


def test_sqlite_file_names_only_plain_sqlite_urls() -> None:
    from pathlib import Path

    from assessment.cli_list import sqlite_file

    assert sqlite_file("sqlite:////var/lib/a.db") == Path("/var/lib/a.db")
    assert sqlite_file("sqlite:///instance/a.db") == Path("instance/a.db")
    assert sqlite_file("sqlite+pysqlite:///a.db") == Path("a.db")
    for other in ("sqlite://", "sqlite:///:memory:", "sqlite:///a.db?mode=ro",
                  "sqlite:///file:a.db?uri=true", "postgresql+psycopg://u@h/db"):
        assert sqlite_file(other) is None, other

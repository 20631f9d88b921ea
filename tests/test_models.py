"""The schema: migrations build exactly the models, and the constraints that protect data hold."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from assessment import db, migrations
from assessment.models import Answer, Base, Invitation, Response

from .conftest import make_assessment, make_tokens


def test_migrations_match_the_models(app) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(app.config["DATABASE_URL"])
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
    assert migrations.current_revision(app.extensions["db_engine"]) == migrations.head_revision(
        app.config["DATABASE_URL"])


def test_sqlite_uses_wal_and_a_busy_timeout(app) -> None:  # type: ignore[no-untyped-def]
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("SQLite settings")
    with app.extensions["db_engine"].connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_one_response_per_invitation_and_one_answer_per_question(app) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    make_tokens(app, aid)
    with app.app_context():
        session = db.session()
        inv = session.scalar(sa.select(Invitation))
        first = Response(assessment_id=aid, invitation_id=inv.id, team_id=inv.team_id,
                         role_id=inv.role_id)
        session.add(first)
        session.commit()
        session.add(Response(assessment_id=aid, invitation_id=inv.id, team_id=inv.team_id,
                             role_id=inv.role_id))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        session.add_all([Answer(response_id=first.id, question_id="OWN-A1", value=3),
                         Answer(response_id=first.id, question_id="OWN-A1", value=4)])
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        session.add(Answer(response_id=first.id, question_id="OWN-A1", value=None))
        session.commit()
        assert session.scalar(sa.select(Answer.value)) is None


def test_a_token_hash_is_unique(app) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    make_tokens(app, aid)
    with app.app_context():
        session = db.session()
        inv = session.scalar(sa.select(Invitation))
        session.add(Invitation(assessment_id=aid, token_hash=inv.token_hash, team_id=inv.team_id,
                               role_id=inv.role_id))
        with pytest.raises(IntegrityError):
            session.commit()


def test_the_app_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from assessment import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(Exception, match="SECRET_KEY is not set"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})


def test_upgrading_keeps_existing_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SQLite alters tables by copy-and-drop; the migration must not cascade deletes."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrations.upgrade(url, "0001")
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO banks (id, bank_id, version, title, content_hash, definition, created_at)"
            " VALUES (1, 'b', 1, 'B', 'h', '{}', '2026-01-01')")
        conn.exec_driver_sql(
            "INSERT INTO assessments (id, name, bank_version_id, status, min_group_size,"
            " anonymous, created_at) VALUES (1, 'A', 1, 'open', 5, 0, '2026-01-01')")
        conn.exec_driver_sql("INSERT INTO teams (id, assessment_id, name) VALUES (1, 1, 'T')")
        conn.exec_driver_sql("INSERT INTO roles (id, assessment_id, name) VALUES (1, 1, 'R')")
        conn.exec_driver_sql(
            "INSERT INTO responses (id, assessment_id, team_id, role_id, current_page,"
            " started_at) VALUES (1, 1, 1, 1, 1, '2026-01-01')")
        conn.exec_driver_sql(
            "INSERT INTO answers (response_id, question_id, value) VALUES (1, 'Q', 3)")
    engine.dispose()
    migrations.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        for table in ("assessments", "teams", "roles", "responses", "answers"):
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 1, table
        assert conn.exec_driver_sql(
            "SELECT comment_min_group_size FROM assessments").scalar() == 10
    engine.dispose()


def test_a_connection_lost_after_the_view_does_not_spoil_the_page(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """If the database drops the connection once the page is made, the page is still served
    (closing the session must not raise out of the request's teardown)."""
    import sqlalchemy.orm

    def dying_close(self):  # type: ignore[no-untyped-def]
        raise sa.exc.OperationalError("ROLLBACK", {}, Exception("terminating connection"))

    monkeypatch.setattr(sqlalchemy.orm.Session, "close", dying_close)
    client = app.test_client()
    token = make_tokens(app, make_assessment(app))[0]
    assert client.get(f"/s/{token}").status_code == 200

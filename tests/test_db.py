"""The database layer: reads take no write lock, writes keep their lock-upgrade safety, the
health probes never wait for a writer, and the SQLite files are private to their owner."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from assessment import create_app, db, migrations
from assessment.models import Answer, RateLimit, User, utcnow
from assessment.services import survey as survey_svc

from .conftest import Auth, _config, make_assessment, make_tokens
from .test_survey import page_questions


def _sqlite_path(app) -> str:  # type: ignore[no-untyped-def]
    url = sa.engine.make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("SQLite's locks")
    return str(url.database)


def _take_write_lock(path: str) -> sqlite3.Connection:
    """A second connection that takes SQLite's write lock at once, or raises "database is
    locked" (timeout 0: no waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_logged_in_readiness_probe_answers_at_once(app, client) -> None:  # type: ignore[no-untyped-def]
    """The probe used to open a second connection while the session check held the write lock
    in the first: 15 s of waiting, then 503, and every respondent waited too."""
    Auth(client).login()
    started = time.perf_counter()
    ready = client.get("/readyz")
    elapsed = time.perf_counter() - started
    assert ready.status_code == 200 and ready.get_json()["status"] == "ok"
    assert elapsed < 3, elapsed


def test_probes_do_no_session_work(app, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    Auth(client).login()
    opened = []
    session = db.session
    monkeypatch.setattr(db, "session", lambda: opened.append(1) or session())
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert opened == []
    assert client.get("/admin/").status_code == 200 and opened  # the check does see sessions


def test_a_read_request_takes_no_write_lock(app) -> None:  # type: ignore[no-untyped-def]
    """What every request does first (load the logged-in user) must not block writers."""
    path = _sqlite_path(app)
    with app.test_request_context("/admin/"):
        session = db.session()
        assert session.scalar(sa.select(User).limit(1)) is not None
        other = _take_write_lock(path)  # raises "database is locked" if the read holds it
        other.execute("ROLLBACK")
        other.close()
        # ...and the read still sees its consistent snapshot.
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 2


def test_a_write_after_a_read_survives_a_concurrent_commit(app) -> None:  # type: ignore[no-untyped-def]
    """A request reads (the survey page behind a link), someone else commits, then the request
    saves. A read transaction upgraded to a write here fails at once on SQLite ("database is
    locked": its snapshot is stale); the write path begins a write transaction instead."""
    path = _sqlite_path(app)
    token = make_tokens(app, make_assessment(app))[0]
    q = page_questions(app, 1)[0]
    with app.app_context():
        survey_svc.start(db.session(), token)
    with app.test_request_context(f"/s/{token}/p/1", method="POST"):
        session = db.session()
        survey_svc.load(session, token)  # the view's read: a snapshot is taken
        other = sqlite3.connect(path, timeout=5, isolation_level=None)
        other.execute("INSERT INTO rate_limits (key, window_start, count) VALUES "
                      "('elsewhere', '2026-01-01 00:00:00', 1)")
        other.close()
        survey_svc.save_page(session, token, 1, {q: "5"}, None, comment_max=100)
    with app.app_context():
        assert db.session().scalar(sa.select(Answer.value).where(Answer.question_id == q)) == 5


def test_a_write_in_a_read_transaction_is_caught_in_tests(app) -> None:  # type: ignore[no-untyped-def]
    """The suite runs with strict writes, so a write path that forgot `begin_write` fails here
    rather than under load. On both databases: on PostgreSQL a read runs in autocommit mode,
    where such a write would take effect at once, outside any transaction."""
    with app.test_request_context("/"):
        session = db.session()
        session.scalar(sa.select(User).limit(1))
        session.add(RateLimit(key="forgot", window_start=utcnow(), count=1))
        with pytest.raises(db.WriteInReadTransaction):
            session.commit()
        session.rollback()
        db.begin_write(session)
        session.add(RateLimit(key="said-so", window_start=utcnow(), count=1))
        session.commit()
    with app.app_context():
        keys = db.session().scalars(sa.select(RateLimit.key)).all()
        assert "said-so" in keys and "forgot" not in keys


def test_postgres_reads_need_no_transaction_and_writes_get_one(app) -> None:  # type: ignore[no-untyped-def]
    """A web request's reads run in autocommit mode (no BEGIN and ROLLBACK round trips: at READ
    COMMITTED each statement has its own snapshot anyway); `begin_write` opens a real
    transaction, so a write that fails halfway leaves nothing behind; a row lock taken in a
    read (which autocommit would let go of at once) is refused like a write."""
    if not app.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("PostgreSQL's transactions")
    with app.test_request_context("/"):
        session = db.session()
        session.scalar(sa.select(User).limit(1))
        assert session.connection().connection.dbapi_connection.autocommit is True
        with pytest.raises(db.WriteInReadTransaction):
            session.execute(sa.select(User).limit(1).with_for_update())
        session.rollback()
        db.begin_write(session)
        assert session.connection().connection.dbapi_connection.autocommit is False
        session.add(RateLimit(key="half", window_start=utcnow(), count=1))
        session.flush()
        session.add(RateLimit(key="half", window_start=utcnow(), count=1))  # duplicate key
        with pytest.raises(sa.exc.IntegrityError):
            session.flush()
        session.rollback()
    with app.app_context():
        assert db.session().get(RateLimit, "half") is None


def test_a_long_read_does_not_hold_up_a_respondents_save(app) -> None:  # type: ignore[no-untyped-def]
    """A dashboard (here: a read transaction kept open) and a respondent's save at once: the
    save finishes while the read is still open."""
    token = make_tokens(app, make_assessment(app))[0]
    q = page_questions(app, 1)[0]
    reading, saved = threading.Event(), threading.Event()

    def dashboard() -> None:
        with app.test_request_context("/results/"):
            db.session().scalar(sa.select(User).limit(1))
            reading.set()
            saved.wait(10)

    reader = threading.Thread(target=dashboard)
    reader.start()
    reading.wait(5)
    started = time.perf_counter()
    with app.test_request_context(f"/s/{token}/p/1", method="POST"):
        survey_svc.save_page(db.session(), token, 1, {q: "3"}, None, comment_max=100)
    elapsed = time.perf_counter() - started
    saved.set()
    reader.join()
    assert elapsed < 3, elapsed


def test_the_sqlite_database_and_its_wal_are_private(tmp_path: Path) -> None:
    """Created 0600 even under a permissive umask (they hold every answer and password hash),
    and an existing world-readable file is tightened."""
    old = os.umask(0o022)
    try:
        path = tmp_path / "fresh.db"
        url = f"sqlite:///{path}"
        migrations.upgrade(url)
        app = create_app(_config(url, tmp_path))
        with app.app_context():
            session = db.session()
            session.add(RateLimit(key="x", window_start=utcnow(), count=1))
            session.commit()
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(f.exists() for f in files)
            for f in files:
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, (f.name, oct(f.stat().st_mode))
        app.extensions["db_engine"].dispose()
        path.chmod(0o644)
        other = create_app(_config(url, tmp_path))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        other.extensions["db_engine"].dispose()
    finally:
        os.umask(old)

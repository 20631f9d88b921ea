"""Shared fixtures: a real database per test (a SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), the app, its test client and CLI runner, and small builders."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from assessment import create_app, db, migrations
from assessment.models import Base, UserRole
from assessment.services import assessments as svc
from assessment.services.banks import find_bank, register_bank_dir
from assessment.services.users import create_user

ROOT = Path(__file__).resolve().parent.parent


def _postgres_url() -> str | None:
    """TEST_DATABASE_URL, or under pytest-xdist a database of this worker's own next to it, so
    that parallel workers never reset each other's schema."""
    url = os.environ.get("TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base = sa.engine.make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": own.database})
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{own.database}"')
    engine.dispose()
    return own.render_as_string(hide_password=False)


PG_URL = _postgres_url()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked `long` first: pytest-xdist hands tests out in this order, and a long
    one started last would keep one worker busy while the others have finished."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ADMIN_PASSWORD = "admin-password-123"
LEAD_PASSWORD = "lead-password-1234"


def reset_database(url: str) -> None:
    """An empty database brought up by the real migrations, as `init-db` does."""
    if url.startswith("postgresql"):
        engine = db.make_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
    migrations.upgrade(url)


def _config(database_url: str, tmp_path: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "BASE_URL": "http://testserver",
        "REPORTS_DIR": str(tmp_path / "reports"),
        "QUEUE_PATH": str(tmp_path / "queue.db"),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
    }


def _populate(app) -> None:  # type: ignore[no-untyped-def]
    """Banks and one user of each role, as after `init-db` and `create-user`."""
    with app.app_context():
        result = register_bank_dir(db.session(), app.config["BANKS_DIR"])
        assert not result.problems, result.problems
        create_user(db.session(), "admin@example.org", ADMIN_PASSWORD, UserRole.ADMIN)
        create_user(db.session(), "lead@example.org", LEAD_PASSWORD, UserRole.LEAD)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, populated SQLite file built once; each test gets a copy (hashing passwords
    and running migrations per test would dominate the suite's time)."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.db"
    url = f"sqlite:///{path}"
    reset_database(url)
    app = create_app(_config(url, folder))
    _populate(app)
    app.extensions["db_engine"].dispose()
    return path


SEEDED = ("banks", "users")


@pytest.fixture(scope="session")
def postgres_seed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    """Migrate and populate the PostgreSQL test database once, and keep the seeded rows: each
    test then empties the tables and puts these rows back, which is much faster than
    migrating and hashing passwords again."""
    assert PG_URL
    reset_database(PG_URL)
    app = create_app(_config(PG_URL, tmp_path_factory.mktemp("pg")))
    _populate(app)
    engine = app.extensions["db_engine"]
    with engine.connect() as conn:
        seed = {t: [dict(r._mapping) for r in conn.execute(Base.metadata.tables[t].select())]
                for t in SEEDED}
    engine.dispose()
    return seed


def _reset_postgres(seed: dict[str, list[dict]]) -> None:
    engine = db.make_engine(PG_URL)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        for name in SEEDED:
            table = Base.metadata.tables[name]
            conn.execute(table.insert(), seed[name])
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT max(id) FROM {name}))")
    engine.dispose()


@dataclass(frozen=True)
class Template:
    """A state that tests start from, built once per test process: its database (a SQLite
    file, or a PostgreSQL database to clone), the task queue's file with the jobs left queued,
    and what the builder returned (an id, what a command printed)."""

    database: str
    queue: Path
    value: Any


def _pg_database(suffix: str, template: str | None = None) -> str:
    """A PostgreSQL database of this test process's own, made afresh, as a copy of `template`
    when one is named (the server copies the files: much faster than inserting the rows)."""
    assert PG_URL
    url = sa.engine.make_url(PG_URL)
    name = f"{url.database}_{suffix}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"'
                             + (f' TEMPLATE "{template}"' if template else ""))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file in WAL mode, whose last writes may still sit in the
    -wal file beside it."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _from_template(template: Template, folder: Path, pg_suffix: str) -> str:
    """A copy of the template's database and queue for an app configured on `folder`."""
    shutil.copy(template.queue, folder / "queue.db")
    if PG_URL:
        return _pg_database(pg_suffix, template=template.database)
    shutil.copy(template.database, folder / "test.db")
    return f"sqlite:///{folder / 'test.db'}"


def build_template(request: pytest.FixtureRequest, build: Callable[[Flask], Any],
                   start: Template | None = None) -> Template:
    """For a session-scoped fixture named `<name>_template`: `build(app)` run once, on a copy
    of `start` or else of the populated database; a test that asks for the fixture `<name>`
    gets a copy of what it left (see `database_url`)."""
    name = request.fixturename
    folder = request.getfixturevalue("tmp_path_factory").mktemp(name)
    if start is not None:
        url = _from_template(start, folder, name)
    elif PG_URL:
        url = _pg_database(name)
        reset_database(url)
    else:
        shutil.copy(request.getfixturevalue("sqlite_template"), folder / "test.db")
        url = f"sqlite:///{folder / 'test.db'}"
    app = create_app(_config(url, folder))
    if PG_URL and start is None:
        _populate(app)
    value = build(app)
    app.extensions["db_engine"].dispose()
    queue = folder / "template-queue.db"
    if Path(app.config["QUEUE_PATH"]).exists():
        _sqlite_copy(Path(app.config["QUEUE_PATH"]), queue)
    else:  # nothing was queued: an empty queue
        closing(sqlite3.connect(queue)).close()
    if "huey" in app.extensions:
        app.extensions["huey"].storage.close()
    if PG_URL:
        return Template(sa.engine.make_url(url).database or "", queue, value)
    database = folder / "template.db"
    _sqlite_copy(folder / "test.db", database)
    return Template(str(database), queue, value)


def _run_demo(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="session")
def demo_template(request: pytest.FixtureRequest) -> Template:
    """`flask demo` run once per test process: two cycles of 150 responses, each analysed and
    charted, take seconds that a test asking for `demo` need not spend again."""
    return build_template(request, _run_demo)


@pytest.fixture(scope="session")
def settled_demo_template(request: pytest.FixtureRequest, demo_template: Template) -> Template:
    """The demo once the workers have done what it asked for, the PDFs aside (`settle`)."""

    def build(app: Flask) -> str:
        settle(app)
        return str(demo_template.value)

    return build_template(request, build, start=demo_template)


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The test's own database: a copy of the template of a state it asked for (a fixture
    `<name>` beside a session fixture `<name>_template`), or else of the populated one."""
    wanted = [f"{name}_template" for name in request.fixturenames
              if f"{name}_template" in request.fixturenames]
    assert len(wanted) <= 1, f"a test can start from one template only: {wanted}"
    if wanted:
        return _from_template(request.getfixturevalue(wanted[0]), tmp_path, "copy")
    if PG_URL:
        _reset_postgres(request.getfixturevalue("postgres_seed"))
        return PG_URL
    path = tmp_path / "test.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator:
    app = create_app(_config(database_url, tmp_path))
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def demo(app, demo_template: Template) -> str:  # type: ignore[no-untyped-def]
    """The app's database as `flask demo` leaves it; what the command printed."""
    return str(demo_template.value)


@pytest.fixture
def settled_demo(app, settled_demo_template: Template) -> str:  # type: ignore[no-untyped-def]
    """The app's database as `flask demo` and then the workers (PDFs aside) leave it; what the
    command printed."""
    return str(settled_demo_template.value)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


def csrf_token(client, url: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get(url)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


class Auth:
    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.client = client

    def login(self, email: str = "admin@example.org", password: str = ADMIN_PASSWORD):  # type: ignore[no-untyped-def]
        token = csrf_token(self.client, "/login")
        return self.client.post("/login", data={"email": email, "password": password,
                                                "csrf_token": token})


@pytest.fixture
def auth(client) -> Auth:  # type: ignore[no-untyped-def]
    return Auth(client)


def make_assessment(app, *, status: str = "open", anonymous: bool = False,  # type: ignore[no-untyped-def]
                    teams=("Sales", "Finance"), roles=("Manager", "Staff"),
                    bank: str = "alignment", min_group_size: int = 5) -> int:
    from assessment.models import AssessmentStatus

    with app.app_context():
        session = db.session()
        a = svc.create_assessment(session, bank=find_bank(session, bank), name="Test",
                                  teams=list(teams), roles=list(roles),
                                  min_group_size=min_group_size, anonymous=anonymous)
        if status != "draft":
            svc.set_status(session, a, AssessmentStatus.OPEN)
        if status == "closed":
            svc.set_status(session, a, AssessmentStatus.CLOSED)
        return a.id


def make_tokens(app, assessment_id: int, n: int = 1, team: str = "Sales",  # type: ignore[no-untyped-def]
                role: str = "Staff") -> list[str]:
    from assessment.models import Assessment

    with app.app_context():
        session = db.session()
        a = session.get(Assessment, assessment_id)
        links = svc.generate_invitations(session, a, team=team, role=role, count=n,
                                         base_url="http://testserver")
        return [link.url.rsplit("/", 1)[1] for link in links]


def count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session().scalar(sa.select(sa.func.count()).select_from(model))


def release(app, assessment_id: int) -> None:  # type: ignore[no-untyped-def]
    """Release what has been submitted, as an admin's "release now" does."""
    from assessment.models import Assessment
    from assessment.services import releases

    with app.app_context():
        session = db.session()
        releases.release(session, session.get(Assessment, assessment_id))


def run_jobs(app, kinds: tuple[str, ...] | None = None,  # type: ignore[no-untyped-def]
             assessment_id: int | None = None) -> int:
    """Do the queued jobs now, in this process, through the queue's real storage (as a worker
    would, one after another); with `kinds`, only jobs of those kinds, and with
    `assessment_id`, only that assessment's (the others stay queued: a test that reads the
    workbook need not lay out the PDF, nor one about a later cycle the earlier cycle's files).
    Returns how many ran."""
    from assessment.models import Job
    from assessment.queue import huey

    queue = huey(app)
    ran, skipped = 0, []
    while (task := queue.dequeue()) is not None:
        if (kinds is not None or assessment_id is not None) and task.name == "run_job":
            with app.app_context():
                job = db.session().get(Job, task.args[0])
                if job is None or (kinds is not None and job.kind not in kinds) or (
                        assessment_id is not None and job.assessment_id != assessment_id):
                    skipped.append(task)
                    continue
        queue.execute(task)
        ran += 1
    for task in skipped:  # left on the queue for a later call
        queue.enqueue(task)
    return ran


CHEAP_JOBS = ("release", "close", "xlsx", "csv", "html", "view")


def settle(app, kinds: tuple[str, ...] | None = CHEAP_JOBS,  # type: ignore[no-untyped-def]
           assessment_id: int | None = None) -> int:
    """What the workers do in the background, done now: the sweep asks for the releases that
    are due and the files a release lacks, then the queued jobs run (by default all but the
    PDFs, which take seconds to lay out; with `assessment_id`, that assessment's only)."""
    from assessment.tasks import sweep

    with app.app_context():
        sweep(db.session(), app.config["JOB_LEASE_SECONDS"])
    return run_jobs(app, kinds, assessment_id)

"""The database: engine, one session per app context, and the SQLite settings that make it safe.

SQLite is the default for a single machine. It has one writer at a time, and in WAL mode a
transaction that has read and then tries to write fails at once with "database is locked" if
another connection committed in between (its snapshot is stale), whatever the busy timeout. Taking
the write lock for every transaction avoided that, but made every read wait for every write: a
health probe or a dashboard held up every respondent's save.

So a transaction is one of two kinds, chosen before its first statement:

- a **read** (the default inside a web request): a deferred `BEGIN`, which takes no lock; WAL gives
  it a consistent snapshot while writers carry on;
- a **write**: `BEGIN IMMEDIATE`, which takes the write lock before the first read, so a read
  followed by a write can never fail on the upgrade. Every service that writes calls
  `begin_write(session)` before its first statement; that ends the request's read transaction, if
  any, and starts a write one. Commands outside a request (`init-db`, `invite`, `demo`) and bare
  engine connections write by default, as before.

A flag on the transaction, rather than a second "writer" session, keeps one session (and one
identity map) per request: the objects a view loaded stay usable after the switch. A write
statement inside a read transaction is a bug (it may fail under load): with `strict_writes` (the
test suite) it raises, so the tests find any write path that forgot to say so; otherwise it is
logged.

On PostgreSQL neither kind locks a table: the write paths lock the rows they change (SELECT ... FOR
UPDATE). A read runs in autocommit mode: at PostgreSQL's READ COMMITTED level every statement
sees its own snapshot whether or not a transaction is open, so the open transaction bought
nothing but a BEGIN and a ROLLBACK, two round trips on every page. `begin_write` starts a real
transaction there too, and the same check (a write, or a row lock, in a read) guards it: in
autocommit mode such a statement would take effect, or let go of its lock, at once.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from flask import Flask, current_app, g, has_request_context

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

SQLITE_BUSY_TIMEOUT_MS = 15_000
# Execution option (and connection info key): does this transaction write?
WRITE = "assessment_write"
WRITE_STATEMENT = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
ROW_LOCK = re.compile(r"\bFOR (UPDATE|NO KEY UPDATE|SHARE)\b", re.IGNORECASE)
log = logging.getLogger(__name__)


class WriteInReadTransaction(RuntimeError):
    """A write statement ran in a transaction that was begun as a read (see the module's doc)."""


def make_engine(url: str, *, sqlite_foreign_keys: bool = True, strict_writes: bool = False,
                **kwargs: Any) -> sa.Engine:
    """An engine for the URL. Migrations pass `sqlite_foreign_keys=False`: SQLite alters a table
    by copying and dropping it, and with foreign keys on, dropping the old table would cascade
    deletes into every table that references it."""
    import sqlalchemy as sa

    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _private_file(engine.url.database)
        _configure_sqlite(engine, foreign_keys=sqlite_foreign_keys, strict_writes=strict_writes)
        return engine
    engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
    _guard_writes(engine, strict_writes=strict_writes, row_locks=True)
    return engine


def _private_file(database: str | None) -> None:
    """Create the SQLite file readable by its owner only (SQLite itself would create it 0644,
    and gives the -wal and -shm files the database's own permissions), and tighten an existing
    one: it holds every answer and password hash."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if each.exists() and each.stat().st_mode & 0o077:
                each.chmod(0o600)
    except OSError as exc:  # another owner's file, say: SQLite will report what matters
        log.warning("could not make %s private: %s", path, exc)


def _configure_sqlite(engine: sa.Engine, *, foreign_keys: bool, strict_writes: bool) -> None:
    import sqlalchemy as sa

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get(WRITE, True)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
        connection.info[WRITE] = write

    _guard_writes(engine, strict_writes=strict_writes, row_locks=False, marks_begin=False)


def _guard_writes(engine: sa.Engine, *, strict_writes: bool, row_locks: bool,
                  marks_begin: bool = True) -> None:
    """Catch a write statement (and, with `row_locks`, a SELECT ... FOR UPDATE) that runs in a
    read (see the module's doc)."""
    import sqlalchemy as sa

    if marks_begin:
        @sa.event.listens_for(engine, "begin")
        def on_begin(connection: sa.Connection) -> None:
            connection.info[WRITE] = connection.get_execution_options().get(WRITE, True)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def on_execute(connection: sa.Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if connection.info.get(WRITE, True):
            return
        if not (WRITE_STATEMENT.match(statement) or (row_locks and ROW_LOCK.search(statement))):
            return
        message = (f"{statement.split(None, 1)[0]} in a read transaction: call "
                   "db.begin_write(session) before the first statement of a write")
        if strict_writes:
            raise WriteInReadTransaction(message)
        log.warning(message)


def begin_write(session: Session) -> None:
    """Make the session's transaction a write transaction (see the module's doc). Call it before
    the first statement of anything that writes; it is a no-op in a write transaction. A read
    in progress is ended first (it has nothing to commit; with `expire_on_commit=False` the
    objects it loaded stay usable), so what the write relies on must be read again after this
    call, under the lock (the survey locks its invitation)."""
    if session.in_transaction():
        if session.connection().info.get(WRITE, True):
            return
        session.commit()
    writing: dict[str, Any] = {WRITE: True}
    bind = session.get_bind()
    if bind.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        # Out of the reads' autocommit mode (PostgreSQL), into a transaction.
        writing["isolation_level"] = getattr(bind.dialect, "default_isolation_level",
                                             None) or "READ COMMITTED"
    session.connection(execution_options=writing)


def init_app(app: Flask, *, connect: bool = True) -> None:
    """Set the database up for the app. With `connect=False` (the app a `flask` command loads)
    the engine is made on first use instead: SQLAlchemy takes longer to import than Flask, and
    a command that reads through the driver alone (`assessment list`) never needs it."""
    app.teardown_appcontext(_close_session)
    if connect:
        _connect(app)


_connecting = threading.Lock()


def _extensions() -> dict[str, Any]:
    found = current_app.extensions
    if "db_engine" not in found:
        with _connecting:
            if "db_engine" not in found:
                _connect(current_app)
    return found


def _connect(app: Flask) -> None:
    from sqlalchemy.orm import sessionmaker

    engine = make_engine(app.config["DATABASE_URL"], strict_writes=app.testing)
    app.extensions["db_engine"] = engine
    # The same engine and pool, beginning read transactions (in autocommit mode on PostgreSQL).
    reading: dict[str, Any] = {WRITE: False}
    if engine.dialect.name != "sqlite":
        reading["isolation_level"] = "AUTOCOMMIT"
    app.extensions["db_read_engine"] = engine.execution_options(**reading)
    # Sessions of web requests begin read transactions; commands' sessions write (see above).
    app.extensions["db_sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["db_read_sessionmaker"] = sessionmaker(
        app.extensions["db_read_engine"], expire_on_commit=False)


def engine() -> sa.Engine:
    found: sa.Engine = _extensions()["db_engine"]
    return found


def read_engine() -> sa.Engine:
    found: sa.Engine = _extensions()["db_read_engine"]
    return found


def session() -> Session:
    """The session of the current app context, opened on first use: reading by default in a web
    request, writing by default in a command."""
    if "db_session" not in g:
        maker = "db_read_sessionmaker" if has_request_context() else "db_sessionmaker"
        g.db_session = _extensions()[maker]()
    opened: Session = g.db_session
    return opened


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is None:
        return
    from sqlalchemy.exc import DBAPIError

    try:
        db_session.close()
    except DBAPIError:
        # The connection died after the view had finished (the database restarted, say): the
        # response is already made, so throw the connection away rather than turn a good
        # page into the server's bare 500.
        log.warning("database connection lost while closing the session")
        db_session.invalidate()


def rowcount(result: sa.Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (its result is a cursor result)."""
    return int(cast("sa.CursorResult[Any]", result).rowcount)

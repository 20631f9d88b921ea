"""The database: engine, one session per app context, and the SQLite settings that make it safe.

SQLite is the default for a single machine. Every transaction starts with BEGIN IMMEDIATE, which
takes the write lock up front: two transactions that both read and then write can otherwise
deadlock on the lock upgrade, and one of them fails with "database is locked" whatever the busy
timeout. WAL lets readers proceed while a writer holds that lock.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000
log = logging.getLogger(__name__)


def make_engine(url: str, *, sqlite_foreign_keys: bool = True, **kwargs: Any) -> sa.Engine:
    """An engine for the URL. Migrations pass `sqlite_foreign_keys=False`: SQLite alters a table
    by copying and dropping it, and with foreign keys on, dropping the old table would cascade
    deletes into every table that references it."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _configure_sqlite(engine, foreign_keys=sqlite_foreign_keys)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: sa.Engine, *, foreign_keys: bool) -> None:
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
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine() -> sa.Engine:
    return current_app.extensions["db_engine"]


def session() -> Session:
    """The session of the current app context, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is None:
        return
    try:
        db_session.close()
    except sa.exc.DBAPIError:
        # The connection died after the view had finished (the database restarted, say): the
        # response is already made, so throw the connection away rather than turn a good
        # page into the server's bare 500.
        log.warning("database connection lost while closing the session")
        db_session.invalidate()

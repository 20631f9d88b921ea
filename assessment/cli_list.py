"""`flask --app app assessment list`, read through the database driver.

The one command people run to see where things stand, and the one scripts poll, so it should
answer in about the time Flask takes to import. SQLAlchemy alone takes longer than that to
import, so on a SQLite file (the default) the listing is one SQL statement through Python's own
`sqlite3`, opened read-only; any other database goes through the app's engine with the same
statement. `tests/test_cli.py` checks that the listing agrees with the admin pages' query
(`services.assessments.list_assessments`) on both databases.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
from flask import current_app
from flask.cli import with_appcontext

LIST_SQL = """
SELECT a.id, a.name, b.bank_id, b.version, a.status, COALESCE(s.submitted, 0),
       a.anonymous, a.min_group_size
FROM assessments AS a
JOIN banks AS b ON b.id = a.bank_version_id
LEFT JOIN (SELECT assessment_id, COUNT(*) AS submitted FROM responses
           WHERE submitted_at IS NOT NULL GROUP BY assessment_id) AS s
       ON s.assessment_id = a.id
ORDER BY a.id DESC
"""


def sqlite_file(url: str) -> Path | None:
    """The file of a plain SQLite URL (`sqlite:///relative.db`, `sqlite:////absolute.db`);
    None for anything else (another database, memory, a URL with options)."""
    for scheme in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(scheme):
            path = url[len(scheme):]
            if not path or path == ":memory:" or "?" in path or path.startswith("file:"):
                return None
            return Path(path)
    return None


def _rows_from_file(path: Path) -> list[tuple[Any, ...]]:
    if not path.is_file():
        raise click.ClickException(
            f"there is no database at {path}: run `flask --app app init-db` first")
    # Read-only: listing never creates or changes the file (nor its permissions).
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=15)
    try:
        return connection.execute(LIST_SQL).fetchall()
    except sqlite3.OperationalError as exc:
        raise click.ClickException(
            f"the database at {path} cannot be listed ({exc}): run `flask --app app init-db`"
        ) from exc
    finally:
        connection.close()


def _rows_from_engine() -> list[tuple[Any, ...]]:
    from . import db

    with db.engine().connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(LIST_SQL)]


def listing(url: str) -> list[dict[str, Any]]:
    """All assessments, newest first, as `assessment list --json` prints them."""
    path = sqlite_file(url)
    rows = _rows_from_file(path) if path is not None else _rows_from_engine()
    return [
        {"id": row[0], "name": row[1], "bank": row[2], "bank_version": row[3], "status": row[4],
         "submitted": int(row[5]), "anonymous": bool(row[6]), "min_group_size": row[7]}
        for row in rows
    ]


@click.command("list")
@with_appcontext
@click.option("--json", "as_json", is_flag=True)
def assessment_list(as_json: bool) -> None:
    """All assessments, newest first, with their submitted counts."""
    entries = listing(current_app.config["DATABASE_URL"])
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    for e in entries:
        click.echo(f"{e['id']}\t{e['status']}\t{e['submitted']} submitted\t"
                   f"{e['bank']} v{e['bank_version']}\t{e['name']}")

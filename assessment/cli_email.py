"""Commands for rosters, emails and the keys that keep links: `roster import`, `email
invitations`, `email reminders`, `keys generate`, `keys rotate`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from . import db
from .cli import fail as _fail
from .models import MailKind
from .services import assessments as svc
from .services.errors import InvalidInput, ServiceError

roster_cli = AppGroup("roster", help="Import a roster of people to invite.")
email_cli = AppGroup("email", help="Email invitations and reminders to the roster.")
keys_cli = AppGroup("keys", help="The keys that keep invitation links encrypted (TOKEN_KEYS).")


@roster_cli.command("import")
@click.argument("assessment_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--links", "links_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the links as CSV (url,team,role,email) here.")
def roster_import(assessment_id: int, file: Path, links_out: Path | None) -> None:
    """Invite everyone in FILE.csv (email,team,role); all rows or none."""
    from .services import tokens

    session = db.session()
    try:
        assessment = svc.get_assessment(session, assessment_id)
        links = svc.import_roster(session, assessment, file.read_bytes(),
                                  base_url=current_app.config["BASE_URL"],
                                  max_rows=current_app.config["ROSTER_MAX_ROWS"])
    except InvalidInput as exc:
        _fail(str(exc), exc.problems)
    except ServiceError as exc:
        _fail(str(exc))
    click.echo(f"Imported {len(links)} people into assessment {assessment_id}.")
    if links_out is not None:
        links_out.write_text(svc.links_csv(links, with_email=True))
        links_out.chmod(0o600)
        click.echo(f"Wrote their links to {links_out}.")
    if not tokens.available():
        click.echo("TOKEN_KEYS is not set: these links cannot be emailed, only handed out "
                   "from the file (see the README).", err=True)


def _send(assessment_id: int, kind: MailKind, dry_run: bool) -> None:
    from .services import mail

    session = db.session()
    try:
        assessment = svc.get_assessment(session, assessment_id)
        if dry_run:
            tally = mail.send(session, assessment.id, kind, dry_run=True)
            click.echo(f"Dry run: {tally.sent} would be sent, {tally.skipped} skipped.")
            return
        with click.progressbar(length=0, label=f"Sending {kind.value}s",
                               file=sys.stderr) as bar:
            state: dict[str, Any] = {"done": 0}

            def progress(step: int, total: int, _label: str) -> None:
                bar.length = total
                bar.update(step - state["done"])
                state["done"] = step

            tally = mail.send(session, assessment.id, kind, progress=progress)
    except mail.Deferred as exc:
        _fail(f"{exc}. What was sent is recorded; run the command again to send the rest.")
    except ServiceError as exc:
        _fail(str(exc))
    click.echo(f"{tally.sent} sent, {tally.skipped} skipped, {tally.failed} failed.")
    for line in tally.failures:
        click.echo(f"  failed: {line}", err=True)
    if not current_app.config.get("MAIL_SERVER"):
        click.echo(f"MAIL_SERVER is not set: the messages were written to "
                   f"{mail.outbox_folder()}.", err=True)


@email_cli.command("invitations")
@click.argument("assessment_id", type=int)
@click.option("--dry-run", is_flag=True, help="Count who would be emailed; send nothing.")
def email_invitations(assessment_id: int, dry_run: bool) -> None:
    """Email each person on the roster not yet invited by email their own link."""
    _send(assessment_id, MailKind.INVITATION, dry_run)


@email_cli.command("reminders")
@click.argument("assessment_id", type=int)
@click.option("--dry-run", is_flag=True, help="Count who would be reminded; send nothing.")
def email_reminders(assessment_id: int, dry_run: bool) -> None:
    """Remind now everyone invited by email who has not submitted (one email a day at most)."""
    _send(assessment_id, MailKind.REMINDER, dry_run)


@keys_cli.command("generate")
def keys_generate() -> None:
    """Print a new key, to put in front of TOKEN_KEYS."""
    from .services import tokens

    click.echo(tokens.generate_key())


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored link with the first key of TOKEN_KEYS."""
    from .services import tokens

    try:
        done, unreadable = tokens.rotate(db.session())
    except ServiceError as exc:
        _fail(str(exc))
    click.echo(f"Re-encrypted {done} link(s) with the first key.")
    if unreadable:
        _fail(f"{unreadable} link(s) were made with a key that is no longer in TOKEN_KEYS; put "
              "it back (after the new one) and run this again before dropping it.")
    click.echo("The older keys can now be removed from TOKEN_KEYS.")

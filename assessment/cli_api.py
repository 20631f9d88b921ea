"""`flask --app app api-token ...`: issue, list and revoke API tokens from the command line.

For operators and scripts that set up an integration without a browser. `create` prints the
token alone on its last line so a script can capture it with `tail -n 1`.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from . import db
from .services import api_tokens
from .services.errors import ServiceError

api_token_cli = AppGroup("api-token", help="Create, list and revoke JSON API tokens.")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(1)


@api_token_cli.command("create")
@click.argument("email")
@click.option("--name", default="command line", show_default=True,
              help="What the token is for.")
@click.option("--write", is_flag=True,
              help="Let the token also change actions and targets (read-only without).")
def create(email: str, name: str, write: bool) -> None:
    """Create a token for the user EMAIL; printed once, on the last line."""
    session = db.session()
    try:
        user = api_tokens.user_by_email(session, email)
        token, clear = api_tokens.create(session, user, name, can_write=write)
    except ServiceError as exc:
        _fail(str(exc))
    click.echo(f"Created API token {token.id} '{token.name}' for {user.email}. "
               "It is shown once, below; only its hash is kept.")
    click.echo(clear)


@api_token_cli.command("list")
@click.argument("email")
def list_tokens(email: str) -> None:
    """The tokens of the user EMAIL: id, status, created, last used, name."""
    session = db.session()
    try:
        user = api_tokens.user_by_email(session, email)
    except ServiceError as exc:
        _fail(str(exc))
    tokens = api_tokens.tokens_of(session, user)
    if not tokens:
        click.echo(f"{user.email} has no API tokens.")
        return
    for t in tokens:
        status = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        click.echo(f"{t.id}\t{status}\tcreated {t.created_at:%Y-%m-%d %H:%M}\t{used}\t{t.name}")


@api_token_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """Revoke the token TOKEN_ID (see `list`); programs using it are refused from now on."""
    try:
        token = api_tokens.revoke(db.session(), token_id)
    except ServiceError as exc:
        _fail(str(exc))
    click.echo(f"API token {token.id} '{token.name}' is revoked.")

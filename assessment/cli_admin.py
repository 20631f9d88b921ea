"""The commands that create and change things: users, banks, assessments, links, the demo.

`assessment.cli` names them; this module is imported only when one of them runs. Commands print
what a person needs and exit non-zero with a one-line message on a user error; they never show
a traceback for something the user can fix.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from . import db
from .cli import fail as _fail
from .models import Assessment, AssessmentStatus, UserRole
from .services import assessments as svc
from .services.errors import InvalidInput, ServiceError
from .services.users import create_user, set_password

bank_cli = AppGroup("bank", help="Validate and register question banks.")
db_cli = AppGroup("db", help="Database schema migrations.")


def upgrade_and_register() -> list[str]:
    """Bring the schema up to date and register the bank files; returns the bank problems."""
    from . import migrations
    from .services.banks import register_bank_dir

    migrations.upgrade(current_app.config["DATABASE_URL"])
    result = register_bank_dir(db.session(), current_app.config["BANKS_DIR"])
    for label, names in (("added", result.added), ("updated", result.updated)):
        for name in names:
            click.echo(f"bank {label}: {name}")
    return result.problems


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the schema and register the banks in question_banks/ (idempotent)."""
    problems = upgrade_and_register()
    for line in problems:
        click.echo(line, err=True)
    if problems:
        sys.exit(1)
    click.echo("Database ready.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply schema migrations up to the newest."""
    from . import migrations

    migrations.upgrade(current_app.config["DATABASE_URL"])
    click.echo("Schema is current.")


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in UserRole]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(email: str, role: str, password_stdin: bool) -> None:
    """Create an admin or lead account."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(db.session(), email, password, UserRole(role))
    except ServiceError as exc:
        _fail(str(exc))
    click.echo(f"Created {user.role.value} {user.email}.")


@click.command("set-password")
@with_appcontext
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password_command(email: str, password_stdin: bool) -> None:
    """Give an account a new password; every session opened with the old one ends."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        user = set_password(db.session(), email, password)
    except ServiceError as exc:
        _fail(str(exc))
    click.echo(f"New password set for {user.email}; their open sessions have ended.")


@bank_cli.command("validate")
@click.argument("paths", nargs=-1, required=True)
def bank_validate(paths: tuple[str, ...]) -> None:
    """Check bank files; one line per problem (`file: field.path: message`), exit 1 if any."""
    from .banks import validate_paths

    lines = validate_paths(list(paths))
    for line in lines:
        click.echo(line)
    if lines:
        sys.exit(1)


@bank_cli.command("list")
def bank_list() -> None:
    """The registered banks and versions."""
    from sqlalchemy import select

    from .models import BankVersion

    rows = db.session().scalars(select(BankVersion).order_by(BankVersion.bank_id,
                                                             BankVersion.version))
    for row in rows:
        click.echo(f"{row.bank_id}\tv{row.version}\t{row.title}")


@click.command("create")
@with_appcontext
@click.option("--bank", "bank_id", required=True, help="Bank id (its newest version is pinned).")
@click.option("--bank-version", type=int, default=None, help="Pin this version instead.")
@click.option("--name", required=True)
@click.option("--teams", required=True, help='Comma-separated, e.g. "Sales,Finance".')
@click.option("--roles", required=True, help='Comma-separated, e.g. "Manager,Staff".')
@click.option("--min-group-size", type=int, default=5, show_default=True)
@click.option("--anonymous", is_flag=True)
@click.option("--interim-releases", is_flag=True,
              help="Release results while open, whenever enough new responses have arrived.")
@click.option("--previous", "previous_id", type=int, default=None,
              help="Make this the next cycle of assessment ID (same bank).")
def assessment_create(bank_id: str, bank_version: int | None, name: str, teams: str, roles: str,
                      min_group_size: int, anonymous: bool, interim_releases: bool,
                      previous_id: int | None) -> None:
    """Create a draft assessment; prints its id alone on the last line."""
    session = db.session()
    previous = _assessment(previous_id) if previous_id is not None else None
    from .services.banks import find_bank

    bank = find_bank(session, bank_id, bank_version)
    if bank is None:
        _fail(f"no registered bank '{bank_id}'" + (f" version {bank_version}" if bank_version
                                                    else "") + "; run init-db or bank list")
    try:
        a = svc.create_assessment(
            session, bank=bank, name=name, teams=svc.parse_names(teams, "team"),
            roles=svc.parse_names(roles, "role"), min_group_size=min_group_size,
            anonymous=anonymous, previous=previous, interim_releases=interim_releases)
    except InvalidInput as exc:
        _fail(str(exc))
    click.echo(f"Created assessment '{a.name}' on {bank.bank_id} v{bank.version} (draft).")
    click.echo(a.id)


def _assessment(assessment_id: int) -> Assessment:
    try:
        return svc.get_assessment(db.session(), assessment_id)
    except ServiceError as exc:
        _fail(str(exc))


def _set_status(assessment_id: int, status: AssessmentStatus) -> None:
    a = _assessment(assessment_id)
    try:
        svc.set_status(db.session(), a, status)
    except ServiceError as exc:
        _fail(str(exc))
    click.echo(f"Assessment {a.id} is {a.status.value}.")


@click.command("open")
@with_appcontext
@click.argument("assessment_id", type=int)
def assessment_open(assessment_id: int) -> None:
    """Open an assessment for answers."""
    _set_status(assessment_id, AssessmentStatus.OPEN)


@click.command("close")
@with_appcontext
@click.argument("assessment_id", type=int)
def assessment_close(assessment_id: int) -> None:
    """Close an assessment: links stop accepting answers, and the results are released."""
    from .services import releases

    a = _assessment(assessment_id)
    try:
        click.echo(releases.close(db.session(), a))
    except ServiceError as exc:
        _fail(str(exc))


@click.command("release")
@with_appcontext
@click.argument("assessment_id", type=int)
def assessment_release(assessment_id: int) -> None:
    """Release the responses that arrived since the last release, if the rule allows it:
    at least the minimum group size of new ones in every team and role that has any."""
    from .services import releases

    a = _assessment(assessment_id)
    try:
        made = releases.release(db.session(), a)
    except ServiceError as exc:
        _fail(str(exc))
    click.echo(f"Release {made.seq} of assessment {a.id}: {made.n_respondents} responses shown.")


@click.command("status")
@with_appcontext
@click.argument("assessment_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def assessment_status(assessment_id: int, as_json: bool) -> None:
    """Invited, started and submitted counts per team, and the number of stored responses."""
    session = db.session()
    a = _assessment(assessment_id)
    counts = svc.team_counts(session, a)
    data = {
        "id": a.id,
        "name": a.name,
        "status": a.status.value,
        "responses": svc.response_count(session, a.id, submitted_only=False),
        "submitted": svc.response_count(session, a.id),
        "teams": {t: {"invited": c.invited, "started": c.started, "submitted": c.submitted}
                  for t, c in counts.items()},
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"{a.name} ({a.status.value}): {data['responses']} responses stored, "
               f"{data['submitted']} submitted")
    width = max([len(t) for t in counts] + [4])
    click.echo(f"{'team':<{width}}  invited  started  submitted")
    for team, c in counts.items():
        click.echo(f"{team:<{width}}  {c.invited:>7}  {c.started:>7}  {c.submitted:>9}")


@click.command("share")
@with_appcontext
@click.argument("assessment_id", type=int)
@click.option("--lead", "lead_email", required=True, help="The lead's email address.")
def assessment_share(assessment_id: int, lead_email: str) -> None:
    """Let a lead read this assessment's results."""
    from .services.access import share

    a = _assessment(assessment_id)
    try:
        lead = share(db.session(), a, lead_email)
    except ServiceError as exc:
        _fail(str(exc))
    click.echo(f"Shared assessment {a.id} with {lead.email}.")


@click.command("invite")
@with_appcontext
@click.argument("assessment_id", type=int)
@click.option("--team", required=True)
@click.option("--role", required=True)
@click.option("--count", type=int, required=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the CSV here instead of standard output.")
def invite_command(assessment_id: int, team: str, role: str, count: int, out: str | None) -> None:
    """Generate COUNT invitation links for a team and role, as CSV (url,team,role)."""
    a = _assessment(assessment_id)
    try:
        links = svc.generate_invitations(
            db.session(), a, team=team, role=role, count=count,
            base_url=current_app.config["BASE_URL"],
            max_count=current_app.config["INVITE_MAX_COUNT"])
    except ServiceError as exc:
        _fail(str(exc))
    text = svc.links_csv(links)
    if out:
        Path(out).write_text(text)
        click.echo(f"Wrote {len(links)} links to {out}.", err=True)
    else:
        click.echo(text, nl=False)


@click.command("demo")
@with_appcontext
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing if the database has assessments.")
@click.option("--link", is_flag=True, help="Print a fresh unused respondent link.")
def demo_command(seed: int, if_empty: bool, link: bool) -> None:
    """Create the demo organisation, a lead user and ~150 submitted responses."""
    from .services import demo

    problems = upgrade_and_register()
    if problems:
        _fail("the question banks have problems", problems)
    session = db.session()
    info = demo.existing(session)
    if info is None or not if_empty:
        info = demo.create(session, seed=seed, instance_path=current_app.instance_path)
        click.echo(f"Created the demo assessment '{info.assessment_name}' "
                   f"with {info.responses} submitted responses.")
    click.echo(f"Lead login:      {info.lead_email} / {info.lead_password}")
    click.echo(f"Admin login:     {info.admin_email} / {info.admin_password}")
    if link or not if_empty:
        url = demo.fresh_link(session, info, base_url=current_app.config["BASE_URL"])
        click.echo(f"Respondent link: {url}")

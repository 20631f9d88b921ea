"""Creating and running assessments: teams, roles, status, invitations, rosters and counts."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..db import begin_write
from ..models import (
    Assessment,
    AssessmentStatus,
    BankVersion,
    Invitation,
    InvitationStatus,
    Response,
    Role,
    Team,
    utcnow,
)
from . import tokens
from .errors import Conflict, InvalidInput, NotFound

NAME_MAX = 100
EMAIL = re.compile(r"^[^@\s,;\x00-\x1f\x7f]+@[^@\s,;\x00-\x1f\x7f]+\.[^@\s,;\x00-\x1f\x7f]+$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh invitation token and its hash; the token itself is stored only encrypted
    (`tokens.seal`), and only when TOKEN_KEYS is set."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def parse_names(text: str, what: str) -> list[str]:
    """Team or role names from a comma- or newline-separated list, trimmed, order kept."""
    names = [n.strip() for n in re.split(r"[,\n]", text or "") if n.strip()]
    if not names:
        raise InvalidInput(f"Give at least one {what} name.")
    if any(CONTROL.search(n) for n in names):
        raise InvalidInput(f"{what.capitalize()} names cannot contain control characters.")
    too_long = [n for n in names if len(n) > NAME_MAX]
    if too_long:
        raise InvalidInput(f"{what.capitalize()} names are limited to {NAME_MAX} characters.")
    lowered = [n.casefold() for n in names]
    dupes = sorted({n for n in names if lowered.count(n.casefold()) > 1})
    if dupes:
        raise InvalidInput(f"{what.capitalize()} named more than once: {', '.join(dupes)}.")
    return names


def get_assessment(session: Session, assessment_id: int) -> Assessment:
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"There is no assessment {assessment_id}.")
    return assessment


def create_assessment(
    session: Session,
    *,
    bank: BankVersion,
    name: str,
    teams: list[str],
    roles: list[str],
    min_group_size: int = 5,
    anonymous: bool = False,
    closes_at: datetime | None = None,
    previous: Assessment | None = None,
    interim_releases: bool = False,
) -> Assessment:
    """A draft assessment; `previous` makes it the next cycle of an earlier assessment on the
    same bank, so its results show the change since then."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("Give the assessment a name of at most 200 characters.")
    if not 2 <= min_group_size <= 1000:
        raise InvalidInput("The minimum group size must be between 2 and 1000.")
    if previous is not None and previous.bank.bank_id != bank.bank_id:
        raise InvalidInput(
            f"A next cycle must use the same question bank as the previous one "
            f"('{previous.bank.bank_id}').")
    begin_write(session)
    assessment = Assessment(
        name=name,
        bank=bank,
        min_group_size=min_group_size,
        anonymous=anonymous,
        interim_releases=interim_releases,
        closes_at=closes_at,
        previous=previous,
        teams=[Team(name=t) for t in parse_names(",".join(teams), "team")],
        roles=[Role(name=r) for r in parse_names(",".join(roles), "role")],
    )
    session.add(assessment)
    session.commit()
    return assessment


PREVIOUS_CHOICES = 200  # the newest assessments offered as the previous cycle of a new one


def new_assessment_choices(session: Session) -> tuple[list[BankVersion], list[Assessment]]:
    """What a new assessment can be made from: the latest version of each bank, and the newest
    assessments it may follow as their next cycle."""
    from .banks import latest_banks

    earlier = session.scalars(sa.select(Assessment).order_by(Assessment.id.desc())
                              .limit(PREVIOUS_CHOICES)).all()
    return list(latest_banks(session)), list(earlier)


@dataclass(frozen=True)
class NewAssessment:
    """A new assessment as the form gives it: teams and roles as typed (one per line or comma
    separated), the closing day rather than a moment."""

    name: str
    bank: BankVersion
    teams: str
    roles: str
    min_group_size: int = 5
    anonymous: bool = False
    closes_on: date | None = None
    previous: Assessment | None = None
    interim_releases: bool = False


def create_from_form(session: Session, new: NewAssessment) -> Assessment:
    """A draft assessment from the form. Raises InvalidInput; a problem with the team or role
    names is in its `fields` under "teams" or "roles", every problem in `problems`."""
    names: dict[str, list[str]] = {}
    fields: dict[str, str] = {}
    for what, field, text in (("team", "teams", new.teams), ("role", "roles", new.roles)):
        try:
            names[what] = parse_names(text, what)
        except InvalidInput as exc:
            fields[field] = str(exc)
    if fields:
        raise InvalidInput("Correct the names and try again.", list(fields.values()), fields)
    # The assessment stays open through its whole closing day.
    closes_at = datetime.combine(new.closes_on, time.max) if new.closes_on else None
    return create_assessment(
        session, bank=new.bank, name=new.name, teams=names["team"], roles=names["role"],
        min_group_size=new.min_group_size, anonymous=new.anonymous, closes_at=closes_at,
        previous=new.previous, interim_releases=new.interim_releases)


def set_status(session: Session, assessment: Assessment, status: AssessmentStatus) -> None:
    allowed = {
        AssessmentStatus.OPEN: {AssessmentStatus.DRAFT, AssessmentStatus.CLOSED},
        AssessmentStatus.CLOSED: {AssessmentStatus.OPEN},
    }
    if assessment.status == status:
        return
    if assessment.status not in allowed.get(status, set()):
        raise Conflict(f"An assessment that is {assessment.status} cannot become {status}.")
    begin_write(session)
    assessment.status = status
    if status == AssessmentStatus.OPEN and assessment.closes_at and assessment.closes_at < utcnow():
        assessment.closes_at = None
    session.commit()


def _lookup(items: list[Team] | list[Role], name: str, what: str) -> Team | Role:
    for item in items:
        if item.name.casefold() == name.strip().casefold():
            return item
    known = ", ".join(i.name for i in items)
    raise InvalidInput(f"Unknown {what} '{name}'; the assessment has: {known}.")


@dataclass
class IssuedLink:
    url: str
    team: str
    role: str
    email: str | None = None


def respondent_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"


def generate_invitations(
    session: Session, assessment: Assessment, *, team: str, role: str, count: int,
    base_url: str, max_count: int = 5000,
) -> list[IssuedLink]:
    """N anonymous-by-default links for one team and role. The tokens exist only in the return
    value: download them now, they cannot be shown again."""
    if not 1 <= count <= max_count:
        raise InvalidInput(f"The number of links must be between 1 and {max_count}.")
    if assessment.status == AssessmentStatus.CLOSED:
        raise Conflict("The assessment is closed; reopen it before issuing links.")
    team_row = _lookup(assessment.teams, team, "team")
    role_row = _lookup(assessment.roles, role, "role")
    begin_write(session)
    links = []
    for _ in range(count):
        token, digest = new_token()
        session.add(Invitation(assessment=assessment, token_hash=digest, team_id=team_row.id,
                               role_id=role_row.id, token_encrypted=tokens.seal(token)))
        links.append(IssuedLink(respondent_url(base_url, token), team_row.name, role_row.name))
    session.commit()
    return links


def import_roster(
    session: Session, assessment: Assessment, data: bytes | str, *, base_url: str,
    max_rows: int = 20_000,
) -> list[IssuedLink]:
    """Invitations from an `email,team,role` CSV. All or nothing: any bad row is reported by its
    row number (the header is row 1) and nothing is imported."""
    if assessment.status == AssessmentStatus.CLOSED:
        raise Conflict("The assessment is closed; reopen it before importing a roster.")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("The roster is not UTF-8 text; save it as CSV (UTF-8).") from None
    # newline="": the csv module then takes CR, LF and CRLF line ends alike (Excel for Mac
    # writes bare CRs) and CRs inside quoted cells.
    reader = csv.reader(io.StringIO(data, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        raise InvalidInput(f"row 1: {exc}") from None
    if header != ["email", "team", "role"]:
        raise InvalidInput("The first row must be the header: email,team,role")
    teams = {t.name.casefold(): t for t in assessment.teams}
    roles = {r.name.casefold(): r for r in assessment.roles}
    begin_write(session)  # from the check of existing emails to the insert
    existing = set(
        session.scalars(
            sa.select(sa.func.lower(Invitation.email)).where(
                Invitation.assessment_id == assessment.id, Invitation.email.is_not(None)
            )
        )
    )
    problems: list[str] = []
    rows: list[tuple[str, Team, Role]] = []
    seen: set[str] = set()
    for number, row in _rows(reader, problems):
        if not any(cell.strip() for cell in row):
            continue
        if len(rows) + len(problems) >= max_rows:
            problems.append(f"row {number}: more than {max_rows} rows; split the roster")
            break
        if len(row) != 3:
            problems.append(f"row {number}: expected 3 columns (email,team,role), found {len(row)}")
            continue
        email, team, role = (c.strip() for c in row)
        row_problems = []
        if not EMAIL.match(email) or len(email) > 254:
            row_problems.append(f"'{email[:60]}' is not an email address")
        elif email.lower() in seen:
            row_problems.append(f"{email} appears twice in the roster")
        elif email.lower() in existing:
            row_problems.append(f"{email} already has an invitation")
        if team.casefold() not in teams:
            row_problems.append(f"unknown team '{team[:60]}'")
        if role.casefold() not in roles:
            row_problems.append(f"unknown role '{role[:60]}'")
        if row_problems:
            problems.append(f"row {number}: " + "; ".join(row_problems))
            continue
        seen.add(email.lower())
        rows.append((email, teams[team.casefold()], roles[role.casefold()]))
    if problems:
        raise InvalidInput("Nothing was imported; correct these rows and try again.", problems)
    if not rows:
        raise InvalidInput("The roster has no rows under the header.")
    links = []
    for email, team_row, role_row in rows:
        token, digest = new_token()
        session.add(Invitation(assessment=assessment, token_hash=digest, team_id=team_row.id,
                               role_id=role_row.id, email=email,
                               token_encrypted=tokens.seal(token)))
        links.append(IssuedLink(respondent_url(base_url, token), team_row.name, role_row.name,
                                email))
    session.commit()
    return links


def _rows(reader: Iterator[list[str]],
          problems: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) from a csv reader; a row the csv module cannot read (a field over its
    size limit, a stray line break) is reported by number, and reading stops there."""
    number = 1
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(f"row {number}: cannot be read ({exc})")
            return
        yield number, row


def links_csv(links: list[IssuedLink], *, with_email: bool = False) -> str:
    out = io.StringIO()
    # CRLF line ends, as spreadsheets expect: the writer then also quotes any cell holding a CR,
    # which a spreadsheet would otherwise take for the start of a new row.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["url", "team", "role", "email"] if with_email else ["url", "team", "role"])
    for link in links:
        row = [link.url, link.team, link.role] + ([link.email or ""] if with_email else [])
        writer.writerow([_neutralise(v) for v in row])
    return out.getvalue()


def _neutralise(value: str) -> str:
    """A spreadsheet must never run a cell as a formula (team names are user input)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@dataclass
class TeamCounts:
    invited: int = 0
    started: int = 0
    submitted: int = 0


def team_counts(session: Session, assessment: Assessment) -> dict[str, TeamCounts]:
    """Per team: invitations issued, started and submitted. Counts only, never answers.

    Submitted counts come from responses (in anonymous mode those no longer link to an invitation);
    invited counts every invitation issued."""
    counts = {t.name: TeamCounts() for t in assessment.teams}
    names = {t.id: t.name for t in assessment.teams}
    inv = session.execute(
        sa.select(Invitation.team_id, Invitation.status, sa.func.count())
        .where(Invitation.assessment_id == assessment.id)
        .group_by(Invitation.team_id, Invitation.status)
    )
    for team_id, status, n in inv:
        c = counts[names[team_id]]
        c.invited += n
        if status == InvitationStatus.STARTED:
            c.started += n
    resp = session.execute(
        sa.select(Response.team_id, sa.func.count())
        .where(Response.assessment_id == assessment.id, Response.submitted_at.is_not(None))
        .group_by(Response.team_id)
    )
    for team_id, n in resp:
        counts[names[team_id]].submitted = n
    return counts


def response_count(session: Session, assessment_id: int, *, submitted_only: bool = True) -> int:
    stmt = sa.select(sa.func.count()).select_from(Response).where(
        Response.assessment_id == assessment_id
    )
    if submitted_only:
        stmt = stmt.where(Response.submitted_at.is_not(None))
    return session.scalar(stmt) or 0


def list_assessments(session: Session) -> sa.Select[Any]:
    """Assessments newest first with their submitted counts, as a select the caller can page."""
    submitted = (
        sa.select(Response.assessment_id, sa.func.count().label("submitted"))
        .where(Response.submitted_at.is_not(None))
        .group_by(Response.assessment_id)
        .subquery()
    )
    return (
        sa.select(Assessment, sa.func.coalesce(submitted.c.submitted, 0))
        .outerjoin(submitted, submitted.c.assessment_id == Assessment.id)
        .order_by(Assessment.id.desc())
    )

"""The respondent's side: find an invitation by token, save answers page by page, submit once.

Every write first locks the invitation row (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
write transaction's BEGIN IMMEDIATE, see `db.begin_write`, serialises writers), so a
double-clicked submit, a replayed post or the same link used on two devices at once cannot
produce two responses or change a submitted one.

This is the path every respondent's request takes, many times over, so it speaks SQLAlchemy
Core, not the ORM: its statements are built once, here, and run on the session's connection
(the same transaction as the rest of the request), and what they read comes back as small
frozen records rather than mapped objects. Built per call and loaded through the ORM, the same
reads cost three to five times as much CPU, and the survey's throughput with them.
"""

from __future__ import annotations

import re
import secrets
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..banks import Bank, Dimension, Question
from ..db import begin_write
from ..models import (
    Answer,
    Assessment,
    AssessmentStatus,
    BankVersion,
    Comment,
    Invitation,
    InvitationStatus,
    Response,
    Role,
    Team,
    utcnow,
)
from .assessments import hash_token
from .banks import bank_by_id
from .errors import Conflict, InvalidInput, NotFound

DONT_KNOW = "dk"
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AlreadySubmitted(Conflict):
    pass


class NotAccepting(Conflict):
    """The assessment is not open (draft, closed or past its close date)."""


@dataclass(frozen=True, slots=True)
class LinkInvitation:
    id: int
    assessment_id: int
    team_id: int
    role_id: int
    status: InvitationStatus


@dataclass(frozen=True, slots=True)
class LinkAssessment:
    """What the survey's pages and rules need of an assessment (the same names and rules as
    `models.Assessment`)."""

    id: int
    name: str
    status: AssessmentStatus
    closes_at: datetime | None
    anonymous: bool
    interim_releases: bool
    min_group_size: int

    def is_past_close(self, now: datetime | None = None) -> bool:
        return Assessment.is_past_close(self, now)  # type: ignore[arg-type]

    def is_accepting(self, now: datetime | None = None) -> bool:
        return Assessment.is_accepting(self, now)  # type: ignore[arg-type]


@dataclass(slots=True)
class LinkResponse:
    id: int
    current_page: int


@dataclass
class Survey:
    invitation: LinkInvitation
    assessment: LinkAssessment
    bank: Bank
    response: LinkResponse | None

    @property
    def pages(self) -> int:
        return len(self.bank.dimensions)

    def dimension(self, page: int) -> Dimension:
        return self.bank.dimensions[page - 1]

    def questions(self, page: int) -> list[Question]:
        return self.bank.questions_in(self.dimension(page).id)

    @property
    def submitted(self) -> bool:
        return self.invitation.status == InvitationStatus.SUBMITTED


class UnknownLink(NotFound):
    """No invitation has this token (as opposed to a page or an answer that does not exist):
    the web layer counts these per address."""


# -- the statements, built once ----------------------------------------------------------------

def _table(model: type[Any]) -> sa.Table:
    table: sa.Table = model.__table__
    return table


_inv, _a, _bank = _table(Invitation), _table(Assessment), _table(BankVersion)
_resp, _answer, _comment = _table(Response), _table(Answer), _table(Comment)
_team, _role = _table(Team), _table(Role)
_LINK_COLUMNS = (
    _inv.c.id, _inv.c.assessment_id, _inv.c.team_id, _inv.c.role_id, _inv.c.status,
    _a.c.name, _a.c.status.label("assessment_status"), _a.c.closes_at, _a.c.anonymous,
    _a.c.interim_releases, _a.c.min_group_size, _a.c.bank_version_id, _bank.c.content_hash,
)
_LINK_FROM = (_inv.join(_a, _a.c.id == _inv.c.assessment_id)
              .join(_bank, _bank.c.id == _a.c.bank_version_id))
# Read: the invitation, its assessment, its bank's id and hash and its response, in one row.
READ_LINK = (sa.select(*_LINK_COLUMNS, _resp.c.id.label("response_id"), _resp.c.current_page)
             .select_from(_LINK_FROM.outerjoin(_resp, _resp.c.invitation_id == _inv.c.id))
             .where(_inv.c.token_hash == sa.bindparam("token_hash")))
# Locked: the invitation row only (`FOR UPDATE OF invitations`), so that saves of one
# assessment never queue behind each other; the response is read after the lock is held.
LOCK_LINK = (sa.select(*_LINK_COLUMNS).select_from(_LINK_FROM)
             .where(_inv.c.token_hash == sa.bindparam("token_hash"))
             .with_for_update(of=_inv))
READ_RESPONSE = (sa.select(_resp.c.id, _resp.c.current_page)
                 .where(_resp.c.invitation_id == sa.bindparam("invitation_id")))
GROUP_NAMES = (sa.select(_team.c.name, _role.c.name)
               .join(_role, _role.c.assessment_id == _team.c.assessment_id)
               .where(_team.c.id == sa.bindparam("team_id"),
                      _role.c.id == sa.bindparam("role_id")))
SET_INVITATION_STATUS = (_inv.update().where(_inv.c.id == sa.bindparam("invitation_id"))
                         .values(status=sa.bindparam("new_status")))
SET_CURRENT_PAGE = (_resp.update().where(_resp.c.id == sa.bindparam("response_id"))
                    .values(current_page=sa.bindparam("page")))
DELETE_COMMENT = _comment.delete().where(_comment.c.response_id == sa.bindparam("response_id"),
                                         _comment.c.dimension_id == sa.bindparam("dimension_id"))
# A response's answers and comments in one statement: every page and the review show both.
STORED = sa.union_all(
    sa.select(sa.literal("a").label("kind"), _answer.c.question_id.label("key"),
              _answer.c.value.label("value"), sa.cast(sa.null(), sa.Text).label("text"))
    .where(_answer.c.response_id == sa.bindparam("response_id")),
    sa.select(sa.literal("c"), _comment.c.dimension_id, sa.cast(sa.null(), sa.Float),
              _comment.c.text)
    .where(_comment.c.response_id == sa.bindparam("response_id")),
)


_UPSERTS: dict[int, sa.TextClause] = {}


def _upsert_answers(n: int) -> sa.TextClause:
    """INSERT ... VALUES (n rows) ON CONFLICT (response, question) DO UPDATE, one statement for
    a page's answers (an executemany sends one statement per row: on PostgreSQL, n round
    trips). SQLite and PostgreSQL spell it alike. As text, because SQLAlchemy compiles a
    multi-row VALUES construct afresh on every execution; text is compiled once. Parameters:
    `response_id`, and `q0`, `v0`, `q1`, `v1`, ... Built once per size."""
    if n not in _UPSERTS:
        rows = ", ".join(f"(:response_id, :q{i}, :v{i})" for i in range(n))
        _UPSERTS[n] = sa.text(
            f"INSERT INTO answers (response_id, question_id, value) VALUES {rows} "
            "ON CONFLICT (response_id, question_id) DO UPDATE SET value = excluded.value")
    return _UPSERTS[n]


UPSERT_COMMENT = sa.text(
    "INSERT INTO comments (response_id, dimension_id, text) "
    "VALUES (:response_id, :dimension_id, :text) "
    "ON CONFLICT (response_id, dimension_id) DO UPDATE SET text = excluded.text")


# -- reading -----------------------------------------------------------------------------------

def _survey(session: Session, row: Any, response: LinkResponse | None) -> Survey:
    invitation = LinkInvitation(row.id, row.assessment_id, row.team_id, row.role_id, row.status)
    assessment = LinkAssessment(row.assessment_id, row.name, row.assessment_status, row.closes_at,
                                bool(row.anonymous), bool(row.interim_releases),
                                row.min_group_size)
    bank = bank_by_id(session, row.bank_version_id, row.content_hash)
    return Survey(invitation, assessment, bank, response)


def _token_hash(token: str) -> str:
    if not token or len(token) > 128:
        raise UnknownLink("unknown link")
    return hash_token(token)


def load(session: Session, token: str, *, lock: bool = False) -> Survey:
    """The survey behind a link. Read (`lock=False`) it is one statement: the invitation, its
    assessment and bank and its response, if any, in one row. Locked, the response is read in
    a second statement, after the lock is held: on PostgreSQL a statement sees the rows
    committed before it began, and a response another device created while this request waited
    for the lock must be seen (see `_writable`). On SQLite the write transaction holds the
    database's lock from its BEGIN, so the one-statement read is already under it."""
    token_hash = _token_hash(token)
    connection = session.connection()
    if lock and connection.dialect.name != "sqlite":
        row = connection.execute(LOCK_LINK, {"token_hash": token_hash}).first()
        if row is None:
            raise UnknownLink("unknown link")
        found = connection.execute(READ_RESPONSE, {"invitation_id": row.id}).first()
        response = LinkResponse(found.id, found.current_page) if found else None
        return _survey(session, row, response)
    row = connection.execute(READ_LINK, {"token_hash": token_hash}).first()
    if row is None:
        raise UnknownLink("unknown link")
    response = (LinkResponse(row.response_id, row.current_page)
                if row.response_id is not None else None)
    return _survey(session, row, response)


def group_names(session: Session, invitation: LinkInvitation) -> tuple[str, str]:
    """The team and role a person answers as (the introduction says so), in one statement."""
    row = session.connection().execute(
        GROUP_NAMES, {"team_id": invitation.team_id, "role_id": invitation.role_id}).one()
    return row[0], row[1]


def stored(session: Session, response: LinkResponse | None
           ) -> tuple[dict[str, float | None], dict[str, str]]:
    """A response's stored answers (question id to value, None for "don't know") and comments
    (dimension id to text)."""
    if response is None:
        return {}, {}
    found_answers: dict[str, float | None] = {}
    found_comments: dict[str, str] = {}
    for kind, key, value, text in session.connection().execute(
            STORED, {"response_id": response.id}):
        if kind == "a":
            found_answers[key] = value
        else:
            found_comments[key] = text
    return found_answers, found_comments


# -- writing -----------------------------------------------------------------------------------

def _writable(session: Session, token: str) -> Survey:
    """The survey, locked for a write. Callers need not read it first: a write request reads
    the invitation only here, under the lock, so it is read once and never stale."""
    begin_write(session)
    survey = load(session, token, lock=True)
    if survey.submitted:
        raise AlreadySubmitted("This link has already been used to submit answers.")
    if not survey.assessment.is_accepting():
        raise NotAccepting("This assessment is not accepting answers.")
    return survey


def start(session: Session, token: str) -> Survey:
    """Create the response on first use; opening the link again resumes the same response."""
    survey = _writable(session, token)
    if survey.response is not None:
        session.commit()
        return survey
    inv = survey.invitation
    values: dict[str, Any] = {"assessment_id": inv.assessment_id, "invitation_id": inv.id,
                              "team_id": inv.team_id, "role_id": inv.role_id, "current_page": 1,
                              "started_at": utcnow()}
    if survey.assessment.anonymous:
        values.update(_unlinkable())
    connection = session.connection()
    try:
        result = connection.execute(_resp.insert().values(**values))
        connection.execute(SET_INVITATION_STATUS, {"invitation_id": inv.id,
                                                   "new_status": InvitationStatus.STARTED})
        session.commit()
    except IntegrityError:
        # Another device created it between our read and write: use theirs.
        session.rollback()
        return load(session, token)
    key = result.inserted_primary_key
    assert key is not None
    survey.response = LinkResponse(values.get("id", key[0]), 1)
    return survey


_options: dict[int, tuple[Bank, list[tuple[str, str]], frozenset[str]]] = {}


def _prepared(bank: Bank) -> tuple[Bank, list[tuple[str, str]], frozenset[str]]:
    """Prepared once per parsed bank: a bank version never changes, and `bank_of` keeps one
    parsed bank per version (the bank is kept here too, so its id cannot be reused)."""
    found = _options.get(id(bank))
    if found is None or found[0] is not bank:
        prepared = [(str(p), str(bank.scale.labels.get(p, p))) for p in bank.scale.points]
        found = _options[id(bank)] = (bank, prepared, frozenset(v for v, _ in prepared))
    return found


def options(bank: Bank) -> list[tuple[str, str]]:
    """The scale's answer options as (posted value, label), for the survey page."""
    return _prepared(bank)[1]


def parse_value(raw: str, bank: Bank) -> float | None:
    """A posted answer: a scale point, or "dk" for don't know. Anything else is refused."""
    if raw == DONT_KNOW and bank.scale.not_applicable:
        return None
    if raw in _prepared(bank)[2]:  # exactly what the form offers
        return float(raw)
    raise ValueError(raw)


def save_page(
    session: Session,
    token: str,
    page: int,
    answers: Mapping[str, str],
    comment: str | None,
    *,
    comment_max: int,
) -> Survey:
    """Store one page's answers and comment. Every value is checked first; if any is refused,
    nothing is changed and InvalidInput lists the problems."""
    survey = _writable(session, token)
    if not 1 <= page <= survey.pages:
        raise NotFound("no such page")
    on_page = {q.id: q for q in survey.questions(page)}
    problems: list[str] = []
    fields: dict[str, str] = {}
    values: dict[str, float | None] = {}
    for qid, raw in answers.items():
        if qid not in on_page:
            problems.append(f"'{qid[:40]}' is not a question on this page.")
            continue
        try:
            values[qid] = parse_value(raw, survey.bank)
        except ValueError:
            # Named by its statement: the person never sees the question's id.
            statement = textwrap.shorten(on_page[qid].text, 90, placeholder="…")
            problems.append(f"The answer to “{statement}” is not one of the options offered.")
            fields[qid] = problems[-1]
    # Control characters cannot be typed and PostgreSQL cannot store NUL: keep lines and tabs.
    comment = CONTROL_CHARS.sub("", comment or "").strip()
    if len(comment) > comment_max:
        problems.append(f"The comment is {len(comment)} characters; the limit is {comment_max}.")
        fields["comment"] = problems[-1]
    if problems:
        session.rollback()
        raise InvalidInput("Nothing was saved.", problems, fields)

    if survey.response is None:
        session.rollback()
        survey = start(session, token)
        survey = _writable(session, token)
    response = survey.response
    assert response is not None
    # Upserts in one statement each, under the invitation's lock: no answer is read first, and
    # the unique (response, question) and (response, dimension) keys keep one row each.
    connection = session.connection()
    if values:
        params: dict[str, Any] = {"response_id": response.id}
        for i, (qid, value) in enumerate(values.items()):
            params[f"q{i}"], params[f"v{i}"] = qid, value
        connection.execute(_upsert_answers(len(values)), params)
    dim_id = survey.dimension(page).id
    if comment:
        connection.execute(UPSERT_COMMENT,
                           {"response_id": response.id, "dimension_id": dim_id, "text": comment})
    else:
        connection.execute(DELETE_COMMENT, {"response_id": response.id, "dimension_id": dim_id})
    reached = max(response.current_page, min(page + 1, survey.pages + 1))
    if reached != response.current_page:
        connection.execute(SET_CURRENT_PAGE, {"response_id": response.id, "page": reached})
        response.current_page = reached
    session.commit()
    return survey


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


ANONYMOUS_ID_RANGE = (1 << 20, (1 << 31) - 1)


def _unlinkable() -> dict[str, Any]:
    """An anonymous response carries nothing that lines it up with a server's access log: no
    time finer than the day, and an id drawn at random rather than the next in answering order
    (a clash with an existing id fails the insert, and the person simply retries the page)."""
    return {"id": secrets.SystemRandom().randint(*ANONYMOUS_ID_RANGE),
            "started_at": _day(utcnow())}


def submit(session: Session, token: str) -> Survey:
    """Submit exactly once. In anonymous mode the response is cut loose from its invitation, which
    keeps only the fact that it was used."""
    survey = _writable(session, token)
    response = survey.response
    if response is None:
        session.rollback()
        raise Conflict("There are no answers to submit yet.")
    submitted: dict[str, Any] = {"submitted_at": utcnow()}
    if survey.assessment.anonymous:
        submitted = {"submitted_at": _day(submitted["submitted_at"]), "invitation_id": None}
    connection = session.connection()
    connection.execute(_resp.update().where(_resp.c.id == response.id).values(**submitted))
    connection.execute(SET_INVITATION_STATUS, {"invitation_id": survey.invitation.id,
                                               "new_status": InvitationStatus.SUBMITTED})
    session.commit()
    survey.invitation = replace(survey.invitation, status=InvitationStatus.SUBMITTED)
    return survey

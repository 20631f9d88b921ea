"""The respondent's side: find an invitation by token, save answers page by page, submit once.

Every write first locks the invitation row (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
write transaction's BEGIN IMMEDIATE, see `db.begin_write`, serialises writers), so a
double-clicked submit, a replayed post or the same link used on two devices at once cannot
produce two responses or change a submitted one.
"""

from __future__ import annotations

import re
import secrets
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..banks import Bank, Dimension, Question
from ..db import begin_write
from ..models import (
    Answer,
    Assessment,
    Comment,
    Invitation,
    InvitationStatus,
    Response,
    Role,
    Team,
    utcnow,
)
from .assessments import hash_token
from .banks import bank_of
from .errors import Conflict, InvalidInput, NotFound

DONT_KNOW = "dk"
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AlreadySubmitted(Conflict):
    pass


class NotAccepting(Conflict):
    """The assessment is not open (draft, closed or past its close date)."""


@dataclass
class Survey:
    invitation: Invitation
    assessment: Assessment
    bank: Bank
    response: Response | None

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


def _invitation(session: Session, token: str, *, lock: bool = False) -> Invitation:
    """The invitation with its assessment (and the assessment's bank row), in one statement.

    Locked, it is read under `FOR UPDATE OF invitations` on PostgreSQL: the assessment comes in
    the same statement but is not locked, so saves of one assessment never queue behind each
    other. `populate_existing`: the row may already be in the session from an earlier unlocked
    read; what counts is its state once the lock is held."""
    if not token or len(token) > 128:
        raise UnknownLink("unknown link")
    stmt = (sa.select(Invitation).where(Invitation.token_hash == hash_token(token))
            .options(joinedload(Invitation.assessment, innerjoin=True)))
    if lock:
        stmt = stmt.with_for_update(of=Invitation).execution_options(populate_existing=True)
    invitation = session.scalar(stmt)
    if invitation is None:
        raise UnknownLink("unknown link")
    return invitation


def load(session: Session, token: str, *, lock: bool = False) -> Survey:
    """The survey behind a link. Read (`lock=False`) it is one statement: the invitation, its
    assessment and bank row and its response, if any, in one row. Locked, the response is read
    in a second statement, after the lock is held: on PostgreSQL a statement sees the rows
    committed before it began, and a response another device created while this request waited
    for the lock must be seen (see `_writable`)."""
    if lock:
        invitation = _invitation(session, token, lock=True)
        response = session.scalar(
            sa.select(Response).where(Response.invitation_id == invitation.id)
            .execution_options(populate_existing=True))
    else:
        if not token or len(token) > 128:
            raise UnknownLink("unknown link")
        row = session.execute(
            sa.select(Invitation, Response)
            .outerjoin(Response, Response.invitation_id == Invitation.id)
            .where(Invitation.token_hash == hash_token(token))
            .options(joinedload(Invitation.assessment, innerjoin=True))
        ).first()
        if row is None:
            raise UnknownLink("unknown link")
        invitation, response = row
    assessment = invitation.assessment
    return Survey(invitation, assessment, bank_of(assessment.bank), response)


def group_names(session: Session, invitation: Invitation) -> tuple[str, str]:
    """The team and role a person answers as (the introduction says so), in one statement."""
    row = session.execute(
        sa.select(Team.name, Role.name)
        .join(Role, Role.assessment_id == Team.assessment_id)
        .where(Team.id == invitation.team_id, Role.id == invitation.role_id)
    ).one()
    return row[0], row[1]


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
    if survey.response is None:
        inv = survey.invitation
        survey.response = Response(assessment_id=inv.assessment_id, invitation_id=inv.id,
                                   team_id=inv.team_id, role_id=inv.role_id)
        if survey.assessment.anonymous:
            _unlinkable(survey.response)
        session.add(survey.response)
        inv.status = InvitationStatus.STARTED
        try:
            session.commit()
        except IntegrityError:
            # Another device created it between our read and write: use theirs.
            session.rollback()
            return load(session, token)
    else:
        session.commit()
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
    if values:
        session.execute(
            _upsert(session, Answer, ("response_id", "question_id"), "value"),
            [{"response_id": response.id, "question_id": qid, "value": value}
             for qid, value in values.items()])
    dim_id = survey.dimension(page).id
    if comment:
        session.execute(_upsert(session, Comment, ("response_id", "dimension_id"), "text"),
                        [{"response_id": response.id, "dimension_id": dim_id, "text": comment}])
    else:
        session.execute(sa.delete(Comment).where(Comment.response_id == response.id,
                                                 Comment.dimension_id == dim_id))
    reached = max(response.current_page, min(page + 1, survey.pages + 1))
    if reached != response.current_page:
        session.execute(sa.update(Response).where(Response.id == response.id)
                        .values(current_page=reached))
        set_committed_value(response, "current_page", reached)
    session.commit()
    return survey


def _upsert(session: Session, model: type[Answer] | type[Comment], key: tuple[str, str],
            column: str) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE SET column, in the session's dialect (SQLite and
    PostgreSQL spell it alike; SQLAlchemy has one construct per dialect)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        pg = postgresql.insert(model)
        return pg.on_conflict_do_update(index_elements=list(key),
                                        set_={column: getattr(pg.excluded, column)})
    from sqlalchemy.dialects import sqlite

    lite = sqlite.insert(model)
    return lite.on_conflict_do_update(index_elements=list(key),
                                      set_={column: getattr(lite.excluded, column)})


def stored(session: Session, response: Response | None
           ) -> tuple[dict[str, float | None], dict[str, str]]:
    """A response's stored answers (question id to value, None for "don't know") and comments
    (dimension id to text), in one statement: every page and the review show both."""
    if response is None:
        return {}, {}
    answers = sa.select(sa.literal("a").label("kind"), Answer.question_id.label("key"),
                        Answer.value.label("value"), sa.cast(sa.null(), sa.Text).label("text")
                        ).where(Answer.response_id == response.id)
    comments = sa.select(sa.literal("c"), Comment.dimension_id, sa.cast(sa.null(), sa.Float),
                         Comment.text).where(Comment.response_id == response.id)
    found_answers: dict[str, float | None] = {}
    found_comments: dict[str, str] = {}
    for kind, key, value, text in session.execute(sa.union_all(answers, comments)):
        if kind == "a":
            found_answers[key] = value
        else:
            found_comments[key] = text
    return found_answers, found_comments


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


ANONYMOUS_ID_RANGE = (1 << 20, (1 << 31) - 1)


def _unlinkable(response: Response) -> None:
    """An anonymous response carries nothing that lines it up with a server's access log: no
    time finer than the day, and an id drawn at random rather than the next in answering order
    (a clash with an existing id fails the insert, and the person simply retries the page)."""
    response.id = secrets.SystemRandom().randint(*ANONYMOUS_ID_RANGE)
    response.started_at = _day(utcnow())


def submit(session: Session, token: str) -> Survey:
    """Submit exactly once. In anonymous mode the response is cut loose from its invitation, which
    keeps only the fact that it was used."""
    survey = _writable(session, token)
    response = survey.response
    if response is None:
        session.rollback()
        raise Conflict("There are no answers to submit yet.")
    response.submitted_at = utcnow()
    survey.invitation.status = InvitationStatus.SUBMITTED
    if survey.assessment.anonymous:
        response.invitation_id = None
        response.submitted_at = _day(response.submitted_at)
    session.commit()
    return survey

"""Typed SQLAlchemy models: what is stored, and the constraints that keep it consistent.

Invitation tokens are stored only as SHA-256 hashes; a response in anonymous mode loses its link
to the invitation when it is submitted.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class UserRole(enum.StrEnum):
    ADMIN = "admin"
    LEAD = "lead"


class AssessmentStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class InvitationStatus(enum.StrEnum):
    INVITED = "invited"
    STARTED = "started"
    SUBMITTED = "submitted"


def _enum(cls: type[enum.Enum], name: str) -> sa.Enum:
    return sa.Enum(cls, name=name, native_enum=False, length=16,
                   values_callable=lambda e: [m.value for m in e])


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[UserRole] = mapped_column(_enum(UserRole, "user_role"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Stored in each session at login and compared on every request: raising it ends every
    # session of the user (logout, a new password, a lockout), copies of the cookie included.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    def set_password(self, password: str) -> None:
        """A new password ends the sessions opened with the old one."""
        self.password_hash = generate_password_hash(password)
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN


class BankVersion(Base):
    """One version of a question bank; assessments pin a row of this table."""

    __tablename__ = "banks"
    __table_args__ = (sa.UniqueConstraint("bank_id", "version", name="uq_banks_bank_id_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    # Loaded only when a bank is parsed (once per process, see `services.banks.bank_of`), not
    # with every assessment that joins its bank: every survey page loads one.
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON, deferred=True)
    source: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        sa.CheckConstraint("min_group_size >= 2", name="min_group_size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    bank_version_id: Mapped[int] = mapped_column(sa.ForeignKey("banks.id"))
    status: Mapped[AssessmentStatus] = mapped_column(
        _enum(AssessmentStatus, "assessment_status"), default=AssessmentStatus.DRAFT
    )
    min_group_size: Mapped[int] = mapped_column(default=5)
    # Free-text comments identify people more easily than numbers, so they need a larger group.
    comment_min_group_size: Mapped[int] = mapped_column(default=10, server_default="10")
    anonymous: Mapped[bool] = mapped_column(default=False)
    closes_at: Mapped[datetime | None]
    previous_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="SET NULL"))
    # Off: results are released once, when the assessment closes. On: a release is also made
    # while it is open, whenever enough new responses have arrived (see services.releases).
    interim_releases: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    bank: Mapped[BankVersion] = relationship(lazy="joined")
    teams: Mapped[list[Team]] = relationship(
        back_populates="assessment", order_by="Team.name", cascade="all, delete-orphan"
    )
    roles: Mapped[list[Role]] = relationship(
        back_populates="assessment", order_by="Role.name", cascade="all, delete-orphan"
    )
    previous: Mapped[Assessment | None] = relationship(remote_side="Assessment.id")
    leads: Mapped[list[User]] = relationship(secondary="assessment_shares", order_by="User.email")

    def is_past_close(self, now: datetime | None = None) -> bool:
        """Closed by hand, or its close date has passed (it then takes no more answers)."""
        now = now or utcnow()
        return self.status == AssessmentStatus.CLOSED or (
            self.status == AssessmentStatus.OPEN and self.closes_at is not None
            and now >= self.closes_at)

    def is_accepting(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.status == AssessmentStatus.OPEN and (
            self.closes_at is None or now < self.closes_at
        )


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "name", name="uq_teams_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("assessments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))

    assessment: Mapped[Assessment] = relationship(back_populates="teams")


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "name", name="uq_roles_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("assessments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))

    assessment: Mapped[Assessment] = relationship(back_populates="roles")


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id"))
    role_id: Mapped[int] = mapped_column(sa.ForeignKey("roles.id"))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    status: Mapped[InvitationStatus] = mapped_column(
        _enum(InvitationStatus, "invitation_status"), default=InvitationStatus.INVITED
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The token encrypted with TOKEN_KEYS (services/tokens.py), so that the same link can be
    # emailed again; NULL for links made without a key (those can only be given out once).
    token_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    # The person asked for no more email about this assessment (one-click unsubscribe).
    # The day of an opt-out, never the moment: in anonymous mode no time on an invitation may be
    # set to a person's action.
    unsubscribed_on: Mapped[date | None]

    assessment: Mapped[Assessment] = relationship()
    team: Mapped[Team] = relationship()
    role: Mapped[Role] = relationship()


class Response(Base):
    """One person's answers. `invitation_id` is unique, so one invitation has at most one response;
    in anonymous mode it is set to NULL on submission."""

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    invitation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invitations.id", ondelete="SET NULL"), unique=True
    )
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id"))
    role_id: Mapped[int] = mapped_column(sa.ForeignKey("roles.id"))
    current_page: Mapped[int] = mapped_column(default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    # The release that first showed this response; NULL while it waits for one.
    release_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("releases.id", ondelete="SET NULL"), index=True)

    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan")
    comments: Mapped[list[Comment]] = relationship(cascade="all, delete-orphan")
    team: Mapped[Team] = relationship()
    role: Mapped[Role] = relationship()


class Answer(Base):
    """A value on the bank's scale, or NULL for "don't know"."""

    __tablename__ = "answers"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "question_id", name="uq_answers_response_question"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("responses.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(sa.String(64))
    value: Mapped[float | None]


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "dimension_id", name="uq_comments_response_dimension"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("responses.id", ondelete="CASCADE"))
    dimension_id: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)


class AssessmentShare(Base):
    """A lead may read the results of the assessments shared with them (admins read all)."""

    __tablename__ = "assessment_shares"

    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class Release(Base):
    """A frozen analysis of an assessment: what leads and admins read. Each release shows every
    response of the earlier ones plus a batch of new ones; `services.releases` decides when a
    batch may be shown, so that no two releases differ by fewer than `min_group_size` people in
    any group."""

    __tablename__ = "releases"
    __table_args__ = (sa.UniqueConstraint("assessment_id", "seq", name="uq_releases_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]  # 1, 2, ... per assessment
    released_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(sa.String(16))  # closed | interim | manual
    n_respondents: Mapped[int]
    min_group_size: Mapped[int]
    # The analysis, the response rates per team and the comments that may be shown, all as
    # of the release; `hidden` lists the teams, roles and team x role cells it suppressed,
    # which stay suppressed in every later release.
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    rates: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    comments: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    hidden: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    seconds: Mapped[float] = mapped_column(default=0.0)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Off: the token reads only. On: it may also change actions and targets (see `web.api_actions`).
    can_write: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    user: Mapped[User] = relationship()


class RateLimit(Base):
    """A counter per key and fixed window (e.g. failed logins from one address), kept in the
    database so that every instance of the service sees the same count."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=0)


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(Base):
    """A piece of background work and how it went: the ledger beside the task queue.

    The queue (huey) delivers a job's id to a worker and retries it on failure; this row is what
    survives a worker killed mid-job (the queue has already forgotten the message), and what an
    admin reads: status, attempts, progress and the last error. `key` names the work, so that a
    job asked for twice while it waits is queued once."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    key: Mapped[str] = mapped_column(sa.String(200), index=True)
    assessment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "job_status"), index=True,
                                              default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    progress_step: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    progress_label: Mapped[str] = mapped_column(sa.String(200), default="")
    error: Mapped[str | None] = mapped_column(sa.Text)
    worker: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class StoredReport(Base):
    """A file built from a release in the background and served as it is: a report download
    (pdf, xlsx, html, csv), the release's charts (`charts`) or the comparison with earlier
    cycles (`view`). `variant` says which earlier cycles it compares with (their ids and
    releases, "" for none), since a lead may not read every earlier cycle; a file depends on
    its release and variant alone."""

    __tablename__ = "stored_reports"
    __table_args__ = (sa.UniqueConstraint("release_id", "kind", "variant",
                                          name="uq_stored_reports_release_kind_variant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(
        sa.ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    variant: Mapped[str] = mapped_column(sa.String(200), default="")
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    size: Mapped[int]
    seconds: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class Target(Base):
    """The score (0-100) a lead aims for on a dimension, or on one lens of it (`lens` "" is the
    whole dimension). A next cycle without targets of its own reads its predecessor's."""

    __tablename__ = "targets"
    __table_args__ = (
        sa.UniqueConstraint("assessment_id", "dimension", "lens", name="uq_targets_dimension"),
        sa.CheckConstraint("value >= 0 AND value <= 100", name="value_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    dimension: Mapped[str] = mapped_column(sa.String(64))
    lens: Mapped[str] = mapped_column(sa.String(16), default="")
    value: Mapped[float]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(sa.String(254), default="")


class Action(Base):
    """Something a lead decided to change, with an owner (a name or an email: owners need no
    account) and a due date, against a dimension (and lens) of the assessment. Every change is
    kept in `events`, so the history says who changed what and when."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    owner: Mapped[str] = mapped_column(sa.String(254))
    due: Mapped[date]
    status: Mapped[ActionStatus] = mapped_column(
        _enum(ActionStatus, "action_status"), default=ActionStatus.PLANNED, index=True)
    dimension: Mapped[str] = mapped_column(sa.String(64))
    lens: Mapped[str | None] = mapped_column(sa.String(16))
    recommendation: Mapped[str | None] = mapped_column(sa.String(100))
    statements: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    teams: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    events: Mapped[list[ActionEvent]] = relationship(
        order_by="ActionEvent.id", cascade="all, delete-orphan", back_populates="action")


class ActionEvent(Base):
    """One change of an action: who, when, and each changed field as [before, after]."""

    __tablename__ = "action_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        sa.ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(16))  # created | changed
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON)

    action: Mapped[Action] = relationship(back_populates="events")


class ActionFeed(Base):
    """The secret of an assessment's calendar feed of due dates; only its SHA-256 hash is kept,
    and revoking replaces it, so an old link stops working at once."""

    __tablename__ = "action_feeds"

    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailStatus(enum.StrEnum):
    SENDING = "sending"  # recorded before handing to the mail server; stays so after a crash
    SENT = "sent"
    FAILED = "failed"  # refused for good (SMTP 5xx), with the reason


class MailKind(enum.StrEnum):
    INVITATION = "invitation"
    REMINDER = "reminder"


class MailMessage(Base):
    """One email to one invitation, recorded before it is handed to the mail server. The unique
    key (invitation, kind, day) is what makes sending at most once: a job run again after a
    crash finds the row and moves on, whatever state it was left in."""

    __tablename__ = "mail_messages"
    __table_args__ = (sa.UniqueConstraint("invitation_id", "kind", "day",
                                          name="uq_mail_messages_invitation_kind_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    invitation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invitations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MailKind] = mapped_column(_enum(MailKind, "mail_kind"))
    day: Mapped[date]  # UTC
    status: Mapped[MailStatus] = mapped_column(_enum(MailStatus, "mail_status"),
                                               default=MailStatus.SENDING)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class MailTemplate(Base):
    """An assessment's own email texts and reminder schedule; without a row the defaults
    (services/mail.py) apply."""

    __tablename__ = "mail_templates"

    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True)
    invitation_subject: Mapped[str] = mapped_column(sa.String(200))
    invitation_body: Mapped[str] = mapped_column(sa.Text)
    reminder_subject: Mapped[str] = mapped_column(sa.String(200))
    reminder_body: Mapped[str] = mapped_column(sa.Text)
    reminder_days: Mapped[str] = mapped_column(sa.String(100), default="3,7")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

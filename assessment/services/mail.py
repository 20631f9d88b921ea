"""Invitation and reminder emails: their texts, who is due one, and sending each at most once.

**At most once.** Before a message is handed to the mail server, a row (invitation, kind, day)
is committed in `mail_messages` under a unique key; it is marked sent afterwards. A job run again
after a crash, a second worker, or the command racing a job finds the row and moves on. A crash
between the two steps leaves a row "sending": the message may or may not have gone out, and it
is *not* sent again automatically (a second copy of an email cannot be taken back; a missing
one is noticed on the admin page, which lists such rows as unconfirmed). A mail server that
answers 4xx (try later) did not take the message: its row is removed and the job is retried by
the queue. A connection lost while a message was being handed over is as uncertain as a crash
and is treated the same way. A 5xx answer is final: the row is marked failed with the reason.

**Who gets what.** An invitation email goes once to each roster address whose link is stored
encrypted (`services.tokens`). Reminders go to people invited by email who have not submitted
(the invitation's used/not-used state only, also in anonymous mode: the response is never
read), who have not opted out, while the assessment accepts answers, at most one email per
person per day (UTC); the schedule counts days since the invitation email.

**Texts.** Subjects and bodies are the assessment's, with the placeholders `{assessment}`,
`{closes}` and `{link}` only; anything else an admin types stays as typed (the same rule as the
bank texts, `assessment.banks.texts`), so no text can break a send or show internals.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import string
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import db
from ..db import begin_write
from ..models import (
    Assessment,
    AssessmentStatus,
    Invitation,
    InvitationStatus,
    Job,
    JobStatus,
    MailKind,
    MailMessage,
    MailStatus,
    MailTemplate,
    utcnow,
)
from . import tokens
from .assessments import respondent_url
from .errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]

PLACEHOLDERS = ("assessment", "closes", "link")
SUBJECT_MAX = 200
BODY_MAX = 10_000
DEFAULT_REMINDER_DAYS = "3,7"
REMINDER_DAYS_MAX = 10
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_parser = string.Formatter()


# -- texts ---------------------------------------------------------------------------------------


def text_problems(text: str) -> list[str]:
    """What is wrong with the placeholders of a subject or body, one message each."""
    try:
        parsed = list(_parser.parse(text))
    except ValueError:
        return ["a { or } without its partner; write {{ and }} for a literal brace"]
    problems = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = ("{" + name + (f"!{conversion}" if conversion else "")
                     + (f":{spec}" if spec else "") + "}")[:60]
            problems.append(f"unknown placeholder '{shown}'; use {{assessment}}, {{closes}} or "
                            "{link}, or write {{ and }} for a brace")
    return problems


def _render(text: str, values: Mapping[str, str], *, html: bool = False) -> str:
    """The text with its placeholders filled; a placeholder the rules refuse, or a brace
    without its partner, stays as written. Never raises. In HTML every part is escaped and the
    link becomes an anchor."""
    try:
        parsed = list(_parser.parse(text))
    except ValueError:
        return escape(text) if html else text
    out: list[str] = []
    for literal, name, spec, conversion in parsed:
        out.append(escape(literal) if html else literal)
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raw = ("{" + name + (f"!{conversion}" if conversion else "")
                   + (f":{spec}" if spec else "") + "}")
            out.append(escape(raw) if html else raw)
        elif html and name == "link":
            link = escape(values[name])
            out.append(f'<a href="{link}">{link}</a>')
        else:
            out.append(escape(values[name]) if html else values[name])
    return "".join(out)


def _html_paragraphs(html_text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", html_text.strip()) if p.strip()]
    return "\n".join("<p>" + p.strip().replace("\n", "<br>\n") + "</p>" for p in paragraphs)


def who_sees_what(assessment: Assessment) -> str:
    """The confidentiality promise, in the product's plain words, from the assessment's own
    settings (so it is true for this assessment)."""
    lines = (f"Who sees what: your answers are combined with those of your colleagues. Results "
             f"are shown only for groups of at least {assessment.min_group_size} people, and "
             f"comments only for groups of at least {assessment.comment_min_group_size}. "
             "Nobody sees your answers on their own.")
    if assessment.anonymous:
        lines += " Once you submit, your answers keep no link to you or to this email."
    return lines


@dataclass(frozen=True)
class MailTexts:
    invitation_subject: str
    invitation_body: str
    reminder_subject: str
    reminder_body: str
    reminder_days: str

    def subject(self, kind: MailKind) -> str:
        return self.invitation_subject if kind == MailKind.INVITATION else self.reminder_subject

    def body(self, kind: MailKind) -> str:
        return self.invitation_body if kind == MailKind.INVITATION else self.reminder_body


def default_texts(assessment: Assessment) -> MailTexts:
    promise = who_sees_what(assessment).replace("{", "{{").replace("}", "}}")
    return MailTexts(
        invitation_subject="Your view on how we work: {assessment}",
        invitation_body=(
            "Hello,\n\n"
            "You are invited to answer a short questionnaire, “{assessment}”, about how work "
            "is organised between teams and how well our systems support it. It takes about "
            "fifteen minutes. You can stop at any time and carry on later with the same link.\n\n"
            "Your personal link (please do not forward it):\n{link}\n\n"
            "The questionnaire closes: {closes}.\n\n"
            f"{promise}\n\nThank you."),
        reminder_subject="Reminder: {assessment}",
        reminder_body=(
            "Hello,\n\n"
            "A reminder about the questionnaire “{assessment}”. If you have started already, "
            "the same link takes you back to where you stopped.\n\n"
            "Your personal link:\n{link}\n\n"
            "The questionnaire closes: {closes}.\n\n"
            f"{promise}\n\nThank you."),
        reminder_days=DEFAULT_REMINDER_DAYS,
    )


def texts_of(session: Session, assessment: Assessment) -> MailTexts:
    row = session.get(MailTemplate, assessment.id)
    if row is None:
        return default_texts(assessment)
    return MailTexts(row.invitation_subject, row.invitation_body, row.reminder_subject,
                     row.reminder_body, row.reminder_days)


def parse_days(text: str) -> tuple[int, ...]:
    """A reminder schedule: days after the invitation email, e.g. "3,7"; empty for none."""
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    try:
        days = sorted({int(p) for p in parts})
    except ValueError:
        raise InvalidInput("Reminder days must be whole numbers separated by commas, "
                           "such as 3,7 (or empty for no reminders).") from None
    if any(d < 1 or d > 365 for d in days):
        raise InvalidInput("Each reminder day must be between 1 and 365.")
    if len(days) > REMINDER_DAYS_MAX:
        raise InvalidInput(f"At most {REMINDER_DAYS_MAX} reminders.")
    return tuple(days)


def save_texts(session: Session, assessment: Assessment, texts: MailTexts) -> dict[str, str]:
    """Store the assessment's texts; returns problems by field name (nothing stored then)."""
    problems: dict[str, str] = {}
    for name in ("invitation_subject", "reminder_subject"):
        value = getattr(texts, name)
        if not value.strip() or len(value) > SUBJECT_MAX:
            problems[name] = f"Give a subject of at most {SUBJECT_MAX} characters."
        elif CONTROL.search(value):
            problems[name] = "A subject is one line."
    for name in ("invitation_body", "reminder_body"):
        value = getattr(texts, name)
        if len(value) > BODY_MAX:
            problems[name] = f"A text is limited to {BODY_MAX} characters."
        elif "{link}" not in value:
            problems[name] = "The text must contain {link}: it is each person's own link."
    for name in ("invitation_subject", "invitation_body", "reminder_subject", "reminder_body"):
        found = text_problems(getattr(texts, name))
        if found and name not in problems:
            problems[name] = "; ".join(found)
    try:
        days = parse_days(texts.reminder_days)
    except InvalidInput as exc:
        problems["reminder_days"] = str(exc)
    if problems:
        return problems
    begin_write(session)
    row = session.get(MailTemplate, assessment.id)
    if row is None:
        row = MailTemplate(assessment_id=assessment.id)
        session.add(row)
    row.invitation_subject = texts.invitation_subject.strip()
    row.invitation_body = texts.invitation_body.replace("\r\n", "\n")
    row.reminder_subject = texts.reminder_subject.strip()
    row.reminder_body = texts.reminder_body.replace("\r\n", "\n")
    row.reminder_days = ",".join(str(d) for d in days)
    session.commit()
    return {}


def closes_text(assessment: Assessment) -> str:
    if assessment.closes_at is None:
        return "when the organisers close it"
    return f"{assessment.closes_at:%A} {assessment.closes_at.day} {assessment.closes_at:%B %Y}"


def unsubscribe_token(invitation_id: int) -> str:
    """A signed id, not the link's token: the unsubscribe address in an email header must not
    open the questionnaire."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe").dumps(
        invitation_id)


def unsubscribe_url(invitation_id: int) -> str:
    return f"{current_app.config['BASE_URL']}/unsubscribe/{unsubscribe_token(invitation_id)}"


def invitation_for_unsubscribe(session: Session, token: str) -> Invitation:
    try:
        invitation_id = URLSafeSerializer(current_app.config["SECRET_KEY"],
                                          salt="unsubscribe").loads(token)
    except BadSignature:
        raise NotFound("unknown link") from None
    invitation = session.get(Invitation, invitation_id) if isinstance(invitation_id, int) else None
    if invitation is None:
        raise NotFound("unknown link")
    return invitation


def unsubscribe(session: Session, token: str) -> Invitation:
    """No more email about this assessment to this invitation (idempotent)."""
    invitation = invitation_for_unsubscribe(session, token)
    begin_write(session)
    session.execute(sa.update(Invitation).where(Invitation.id == invitation.id,
                                                Invitation.unsubscribed_on.is_(None))
                    .values(unsubscribed_on=utcnow().date()))
    session.commit()
    return invitation


def compose(assessment: Assessment, texts: MailTexts, kind: MailKind, *, to: str, link: str,
            invitation_id: int | None) -> EmailMessage:
    """The message: plain text and HTML parts from the same text; a reminder carries the
    one-click unsubscribe headers of RFC 8058 and a line saying how to stop reminders."""
    config = current_app.config
    values = {"assessment": assessment.name, "closes": closes_text(assessment), "link": link}
    subject = CONTROL.sub(" ", _render(texts.subject(kind), values))[:300]
    body = texts.body(kind).replace("\r\n", "\n")
    text = _render(body, values)
    html = _html_paragraphs(_render(body, values, html=True))
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    if config.get("MAIL_REPLY_TO"):
        message["Reply-To"] = config["MAIL_REPLY_TO"]
    message["Date"] = formatdate(localtime=False, usegmt=True)
    sender_domain = config["MAIL_DEFAULT_SENDER"].rsplit("@", 1)[-1].strip("> ")
    message["Message-ID"] = make_msgid(domain=sender_domain or None)
    message["Auto-Submitted"] = "auto-generated"
    if kind == MailKind.REMINDER and invitation_id is not None:
        stop = unsubscribe_url(invitation_id)
        message["List-Unsubscribe"] = f"<{stop}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        footer = ("You receive this reminder because you are on the list for this "
                  "questionnaire. To receive no more reminders about it, open:\n" + stop)
        text += "\n\n--\n" + footer
        html += (f'\n<hr>\n<p style="font-size:small">You receive this reminder because you are'
                 f' on the list for this questionnaire. <a href="{escape(stop)}">Receive no '
                 "more reminders about it</a>.</p>")
    message.set_content(text)
    lang = ' lang="en"'
    message.add_alternative(
        f"<!doctype html>\n<html{lang}><head><meta charset=\"utf-8\"><title>{escape(subject)}"
        f"</title></head>\n<body>\n{html}\n</body></html>\n", subtype="html")
    return message


def preview(session: Session, assessment: Assessment, kind: MailKind,
            texts: MailTexts | None = None) -> EmailMessage:
    """The message as a person would get it, with a sample link."""
    sample = respondent_url(current_app.config["BASE_URL"], "example-personal-link")
    return compose(assessment, texts or texts_of(session, assessment), kind,
                   to="person@example.org", link=sample, invitation_id=0)


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


# -- transport -------------------------------------------------------------------------------


class Refused(Exception):
    """The mail server refused the message for good (5xx): recorded, not retried."""


class Deferred(Exception):
    """Not sent now, maybe later: the queue retries the job. `taken` says whether the server
    may have accepted the message (a lost connection) or surely did not (a 4xx answer)."""

    def __init__(self, message: str, *, taken: bool) -> None:
        super().__init__(message)
        self.taken = taken


class Postman(Protocol):
    def open(self) -> None: ...

    def send(self, message: EmailMessage) -> None: ...


def _reason(code: int, text: bytes | str) -> str:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {said}".strip()[:500]


class SmtpPostman:
    """One SMTP connection for a batch (smtplib; Flask-Mail is unmaintained)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        config = self.config
        host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
        context = ssl.create_default_context()
        try:
            if config["MAIL_USE_SSL"]:
                self.smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            else:
                self.smtp = smtplib.SMTP(host, port, timeout=timeout)
                if config["MAIL_USE_TLS"]:
                    self.smtp.starttls(context=context)
            if config.get("MAIL_USERNAME"):
                self.smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise Conflict("The mail server refused the login (MAIL_USERNAME, MAIL_PASSWORD): "
                           + _reason(exc.smtp_code, exc.smtp_error)) from None
        except smtplib.SMTPNotSupportedError as exc:
            self.close()
            raise Conflict(f"The mail server does not offer what the settings ask for: {exc}"
                           ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise Deferred(f"Cannot reach the mail server {host}:{port}: {exc}",
                           taken=False) from exc

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self.open()
        assert self.smtp is not None
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, said = next(iter(exc.recipients.values()))
            self._refused(code, said)
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused
            self._refused(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.smtp = None
            raise Deferred(f"The connection to the mail server was lost: {exc}",
                           taken=True) from exc

    def _refused(self, code: int, said: bytes | str) -> None:
        if 500 <= code < 600:
            raise Refused(_reason(code, said))
        raise Deferred(_reason(code, said), taken=False)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


class OutboxPostman:
    """No MAIL_SERVER: each message is written to the outbox folder, readable by its owner only,
    and listed on the admin's Outbox page."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def open(self) -> None:
        pass

    def send(self, message: EmailMessage) -> None:
        from .outbox import write

        write(self.folder, message)

    def close(self) -> None:
        pass


def outbox_folder() -> Path:
    return Path(current_app.config.get("OUTBOX_DIR") or Path(current_app.instance_path) / "outbox")


@contextmanager
def postman() -> Iterator[Postman]:
    config = current_app.config
    carrier: SmtpPostman | OutboxPostman = (
        SmtpPostman(config) if config.get("MAIL_SERVER") else OutboxPostman(outbox_folder()))
    try:
        carrier.open()  # before anything is recorded: a refused login sends and records nothing
        yield carrier
    finally:
        carrier.close()


class Pacer:
    """At most `per_minute` messages a minute, evenly spaced (a relay's limit is usually per
    minute or per hour; a burst is what gets a sender throttled)."""

    def __init__(self, per_minute: int) -> None:
        self.interval = 60.0 / per_minute
        self.next_at = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            time.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


# -- who is due ------------------------------------------------------------------------------


def today() -> date:
    return utcnow().date()


def _first_invited(assessment_id: int) -> sa.Subquery:
    return (sa.select(MailMessage.invitation_id, sa.func.min(MailMessage.day).label("day"))
            .where(MailMessage.assessment_id == assessment_id,
                   MailMessage.kind == MailKind.INVITATION,
                   MailMessage.status == MailStatus.SENT)
            .group_by(MailMessage.invitation_id).subquery())


def invitations_due(session: Session, assessment: Assessment) -> list[int]:
    """Roster people not yet invited by email (nor refused), whose link can be sent."""
    tried = sa.select(MailMessage.invitation_id).where(
        MailMessage.assessment_id == assessment.id, MailMessage.kind == MailKind.INVITATION)
    return list(session.scalars(
        sa.select(Invitation.id).where(
            Invitation.assessment_id == assessment.id, Invitation.email.is_not(None),
            Invitation.token_encrypted.is_not(None), Invitation.unsubscribed_on.is_(None),
            Invitation.status != InvitationStatus.SUBMITTED, Invitation.id.not_in(tried))
        .order_by(Invitation.id)))


def reminders_due(session: Session, assessment: Assessment, *, on: date | None = None,
                  scheduled: bool = True) -> list[int]:
    """People invited by email who have not submitted, have not opted out and have had no
    email today; with `scheduled`, only those whose schedule calls for another reminder by now
    ("remind now" leaves the schedule out). None once the assessment takes no answers."""
    on = on or today()
    if not assessment.is_accepting():
        return []
    days = parse_days(texts_of(session, assessment).reminder_days)
    if scheduled and not days:
        return []
    first = _first_invited(assessment.id)
    reminded = (sa.select(MailMessage.invitation_id, sa.func.count().label("n"))
                .where(MailMessage.assessment_id == assessment.id,
                       MailMessage.kind == MailKind.REMINDER)
                .group_by(MailMessage.invitation_id).subquery())
    emailed_today = sa.select(MailMessage.invitation_id).where(
        MailMessage.assessment_id == assessment.id, MailMessage.day == on)
    rows = session.execute(
        sa.select(Invitation.id, first.c.day, sa.func.coalesce(reminded.c.n, 0))
        .join(first, first.c.invitation_id == Invitation.id)
        .outerjoin(reminded, reminded.c.invitation_id == Invitation.id)
        .where(Invitation.assessment_id == assessment.id, Invitation.email.is_not(None),
               Invitation.token_encrypted.is_not(None), Invitation.unsubscribed_on.is_(None),
               Invitation.status != InvitationStatus.SUBMITTED,
               Invitation.id.not_in(emailed_today))
        .order_by(Invitation.id)).all()
    if not scheduled:
        return [row[0] for row in rows]
    due = []
    for invitation_id, invited_on, sent in rows:
        elapsed = (on - invited_on).days
        if sent < sum(1 for d in days if d <= elapsed):
            due.append(invitation_id)
    return due


# -- sending ---------------------------------------------------------------------------------


@dataclass
class Tally:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    deferred: str | None = None
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.sent} sent, {self.skipped} skipped, {self.failed} failed"


def _claim(session: Session, assessment: Assessment, invitation_id: int, kind: MailKind,
           on: date) -> Invitation | None:
    """Record the message before sending it; None when it must not be sent (already recorded,
    or the person has since submitted or opted out). The invitation row is locked while
    checking, and the unique key settles any race that remains."""
    begin_write(session)
    invitation = session.scalar(
        sa.select(Invitation).where(Invitation.id == invitation_id).with_for_update()
        .execution_options(populate_existing=True))
    if (invitation is None or invitation.unsubscribed_on is not None
            or invitation.status == InvitationStatus.SUBMITTED or not invitation.email
            or not invitation.token_encrypted):
        session.rollback()
        return None
    earlier = sa.select(MailMessage.id).where(MailMessage.invitation_id == invitation_id)
    earlier = (earlier.where(MailMessage.kind == MailKind.INVITATION)
               if kind == MailKind.INVITATION else earlier.where(MailMessage.day == on))
    if session.scalar(earlier.limit(1)) is not None:
        session.rollback()
        return None
    session.add(MailMessage(assessment_id=assessment.id, invitation_id=invitation_id, kind=kind,
                            day=on, status=MailStatus.SENDING))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return invitation


def _mark(session: Session, invitation_id: int, kind: MailKind, on: date,
          status: MailStatus | None, error: str | None = None) -> None:
    """Record the outcome; None removes the record (the server surely did not take it)."""
    begin_write(session)
    where = sa.and_(MailMessage.invitation_id == invitation_id, MailMessage.kind == kind,
                    MailMessage.day == on)
    if status is None:
        session.execute(sa.delete(MailMessage).where(where))
    else:
        session.execute(sa.update(MailMessage).where(where).values(
            status=status, error=error, sent_at=utcnow() if status == MailStatus.SENT else None))
    session.commit()


def ensure_accepting(assessment: Assessment, kind: MailKind) -> None:
    """Links of a draft or closed assessment only show a polite refusal: mail none."""
    if assessment.is_accepting():
        return
    if assessment.status == AssessmentStatus.DRAFT:
        raise Conflict("The assessment is a draft: open it before sending invitations or "
                       "reminders.")
    raise Conflict(f"The assessment is not accepting answers, so no {kind.value}s are sent.")


def ensure_can_send() -> None:
    tokens.keyring()  # raises the "set TOKEN_KEYS" conflict


def send(session: Session, assessment_id: int, kind: MailKind, *, scheduled: bool = False,
         dry_run: bool = False, progress: Progress | None = None) -> Tally:
    """Send the invitations (or reminders) that are due, paced at MAIL_RATE_PER_MINUTE; with
    `dry_run`, only count them. Raises `Deferred` (the queue retries) when the mail server asks
    to try later or the connection is lost; what was sent until then stays recorded."""
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"There is no assessment {assessment_id}.")
    ensure_can_send()
    ensure_accepting(assessment, kind)
    on = today()
    due = (invitations_due(session, assessment) if kind == MailKind.INVITATION
           else reminders_due(session, assessment, on=on, scheduled=scheduled))
    roster = session.scalar(sa.select(sa.func.count()).select_from(Invitation).where(
        Invitation.assessment_id == assessment.id, Invitation.email.is_not(None))) or 0
    tally = Tally(skipped=roster - len(due))
    if dry_run:
        tally.sent = len(due)  # would be sent
        return tally
    texts = texts_of(session, assessment)
    base_url = current_app.config["BASE_URL"]
    pacer = Pacer(current_app.config["MAIL_RATE_PER_MINUTE"])
    label = "invitations" if kind == MailKind.INVITATION else "reminders"
    session.commit()
    with postman() as carrier:
        for step, invitation_id in enumerate(due, start=1):
            if kind == MailKind.REMINDER and not assessment.is_accepting():
                tally.skipped += len(due) - step + 1
                break
            invitation = _claim(session, assessment, invitation_id, kind, on)
            if invitation is None:
                tally.skipped += 1
                continue
            assert invitation.email and invitation.token_encrypted
            link = respondent_url(base_url, tokens.unseal(invitation.token_encrypted))
            message = compose(assessment, texts, kind, to=invitation.email, link=link,
                              invitation_id=invitation.id)
            pacer.wait()
            try:
                carrier.send(message)
            except Refused as exc:
                _mark(session, invitation_id, kind, on, MailStatus.FAILED, str(exc))
                tally.failed += 1
                tally.failures.append(f"{invitation.email}: {exc}")
            except Conflict:  # reconnecting was refused: this message was not handed over
                _mark(session, invitation_id, kind, on, None)
                raise
            except Deferred as exc:
                if not exc.taken:
                    _mark(session, invitation_id, kind, on, None)
                log.warning("sending %s of assessment %s deferred: %s", label, assessment_id,
                            exc)
                raise
            else:
                _mark(session, invitation_id, kind, on, MailStatus.SENT)
                tally.sent += 1
            if progress is not None:
                progress(step, len(due), f"{label}: {tally.summary()}")
    return tally


def send_test(assessment: Assessment, texts: MailTexts, to: str) -> None:
    """Both messages to the admin, with a sample link; a refusal is raised as a Conflict."""
    sample = respondent_url(current_app.config["BASE_URL"], "example-personal-link")
    with postman() as carrier:
        for kind in (MailKind.INVITATION, MailKind.REMINDER):
            message = compose(assessment, texts, kind, to=to, link=sample, invitation_id=0)
            del message["Subject"]
            message["Subject"] = "[Test] " + CONTROL.sub(
                " ", _render(texts.subject(kind), {"assessment": assessment.name,
                                                   "closes": closes_text(assessment),
                                                   "link": sample}))[:300]
            try:
                carrier.send(message)
            except Refused as exc:
                raise Conflict(f"The mail server refused the test message: {exc}") from None


# -- what the admin reads ------------------------------------------------------------------------


@dataclass
class MailOverview:
    roster: int = 0
    sendable: int = 0
    without_key: int = 0
    unsubscribed: int = 0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def count(self, kind: str, status: str) -> int:
        return self.counts.get((kind, status), 0)


def overview(session: Session, assessment: Assessment) -> MailOverview:
    """Counts only: never who has submitted."""
    found = MailOverview()
    row = session.execute(
        sa.select(sa.func.count(),
                  sa.func.count(Invitation.token_encrypted),
                  sa.func.count(Invitation.unsubscribed_on))
        .where(Invitation.assessment_id == assessment.id, Invitation.email.is_not(None))).one()
    found.roster, found.sendable, found.unsubscribed = row[0], row[1], row[2]
    found.without_key = found.roster - found.sendable
    for kind, status, n in session.execute(
            sa.select(MailMessage.kind, MailMessage.status, sa.func.count())
            .where(MailMessage.assessment_id == assessment.id)
            .group_by(MailMessage.kind, MailMessage.status)):
        found.counts[(kind.value, status.value)] = n
    return found


def problems_select(assessment: Assessment) -> sa.Select[tuple[MailMessage, str | None]]:
    """Messages refused (with the reason) or unconfirmed, newest first, for paging."""
    stale = utcnow() - timedelta(minutes=10)
    return (sa.select(MailMessage, Invitation.email)
            .join(Invitation, Invitation.id == MailMessage.invitation_id)
            .where(MailMessage.assessment_id == assessment.id,
                   sa.or_(MailMessage.status == MailStatus.FAILED,
                          sa.and_(MailMessage.status == MailStatus.SENDING,
                                  MailMessage.created_at < stale)))
            .order_by(MailMessage.id.desc()))


def due_reminder_assessments(session: Session) -> list[int]:
    """Open assessments with a reminder due today, for the minute sweep."""
    now = utcnow()
    ids = session.scalars(
        sa.select(Assessment.id).where(
            Assessment.status == "open",
            sa.or_(Assessment.closes_at.is_(None), Assessment.closes_at > now),
            Assessment.id.in_(sa.select(MailMessage.assessment_id).where(
                MailMessage.kind == MailKind.INVITATION,
                MailMessage.status == MailStatus.SENT).distinct()))).all()
    due = []
    for assessment_id in ids:
        assessment = session.get(Assessment, assessment_id)
        if assessment is not None and reminders_due(session, assessment):
            due.append(assessment_id)
    return due



def job_key(assessment_id: int, kind: MailKind) -> str:
    return f"email:{assessment_id}:{kind.value}"


def request_sending(assessment: Assessment, kind: MailKind, *, scheduled: bool = False) -> Job:
    """Queue the sending (once, however often it is asked for while it waits)."""
    from .. import queue
    from . import jobs

    ensure_can_send()
    ensure_accepting(assessment, kind)
    key = job_key(assessment.id, kind)
    busy = jobs.current(db.session(), key)
    if busy is not None and busy.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        return busy  # one sender per assessment and kind keeps to MAIL_RATE_PER_MINUTE
    return queue.enqueue("email", key,
                         {"assessment_id": assessment.id, "kind": kind.value,
                          "scheduled": scheduled}, assessment.id)


def request_test(assessment: Assessment, to: str) -> Job:
    from .. import queue

    return queue.enqueue("email_test", f"email_test:{assessment.id}:{to}"[:200],
                         {"assessment_id": assessment.id, "to": to}, assessment.id)

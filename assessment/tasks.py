"""What the workers do: the body of each kind of job, and the sweep that runs every minute.

Every job is idempotent: it reads what is stored, does what is still missing and stores the
result under a unique key, so a job run twice (sent again after its worker died, or raced by
a second worker) leaves one result. The analysis and charting stack is imported inside the
bodies, in the worker, never by a web process that only queues jobs.

| kind | params | does |
|---|---|---|
| `release` | assessment_id | makes the release the policy calls for and computes claimed ones |
| `close` | assessment_id | closes an assessment whose close date has passed, then as `release` |
| `pdf`, `xlsx`, `html`, `csv` | release_id, variant | builds and stores a report file |
| `view` | release_id, variant | the comparison with earlier cycles and its trend chart |
| `email` | assessment_id, kind, scheduled | sends the invitations or reminders that are due |
| `email_test` | assessment_id, to | sends both texts with a sample link to an admin |
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import (
    Assessment,
    AssessmentStatus,
    Job,
    JobStatus,
    MailKind,
    Release,
    Response,
    utcnow,
)
from .services import jobs, releases, stored

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]


def perform(session: Session, job: Job, progress: Progress) -> None:
    body = BODIES.get(job.kind)
    if body is None:
        raise ValueError(f"unknown kind of job '{job.kind}'")
    body(session, job.params, progress)


def _release(session: Session, params: dict[str, Any], progress: Progress) -> None:
    assessment = session.get(Assessment, params["assessment_id"])
    if assessment is None:  # deleted meanwhile
        return
    progress(1, 2, "Computing the release")
    latest = releases.ensure_current(session, assessment)
    progress(2, 2, "Queueing its reports")
    if latest is not None:
        stored.request_builds(session, assessment, latest)


def _close(session: Session, params: dict[str, Any], progress: Progress) -> None:
    assessment = session.get(Assessment, params["assessment_id"])
    if assessment is None:
        return
    if assessment.status == AssessmentStatus.OPEN and assessment.is_past_close():
        log.info("assessment %s: %s", assessment.id, releases.close(session, assessment))
    _release(session, params, progress)


def _current_release(session: Session, params: dict[str, Any]) -> tuple[Release, Assessment] | None:
    """The release to build from, unless a newer one has replaced it (nobody reads it then)."""
    release = session.get(Release, params["release_id"])
    if release is None or release.n_respondents == 0:
        return None
    assessment = session.get(Assessment, release.assessment_id)
    latest = releases.latest(session, assessment) if assessment else None
    if assessment is None or latest is None or latest.id != release.id:
        return None
    return release, assessment


def _report(session: Session, params: dict[str, Any], progress: Progress) -> None:
    from .services.reports import build_report, release_context

    found = _current_release(session, params)
    kind, variant = params["kind"], params["variant"]
    if found is None or stored.get(session, params["release_id"], kind, variant,
                                   with_content=False) is not None:
        return
    release, assessment = found
    context = release_context(session, assessment, release, stored.readable_cycles(variant))
    started = time.perf_counter()
    data = build_report(context, kind, progress)
    stored.store(session, release.id, kind, variant, data, time.perf_counter() - started)


def _view(session: Session, params: dict[str, Any], progress: Progress) -> None:
    from .reporting.prepared import trend_chart
    from .services import cycles
    from .services.banks import bank_of

    found = _current_release(session, params)
    variant = params["variant"]
    if found is None or stored.get(session, params["release_id"], stored.VIEW, variant,
                                   with_content=False) is not None:
        return
    release, assessment = found
    started = time.perf_counter()
    progress(1, 2, "Comparing with the earlier cycles")
    comparison = cycles.compare_with_previous(session, assessment,
                                              releases.analysis_of(release), None,
                                              readable=stored.readable_cycles(variant))
    titles = {d.id: d.title for d in bank_of(assessment.bank).dimensions}
    session.commit()  # no transaction (on SQLite, no write lock) while drawing
    data: dict[str, Any] = {"comparison": None, "trend_chart": None}
    if comparison is not None:
        previous = comparison.previous
        data["comparison"] = {
            "previous": {"id": previous.id, "name": previous.name} if previous else None,
            "change": comparison.change, "trend": comparison.trend,
            "not_shared": comparison.not_shared,
        }
        progress(2, 2, "Drawing the trend")
        data["trend_chart"] = trend_chart(comparison.trend, titles)
    stored.store(session, release.id, stored.VIEW, variant, stored.dumps(data),
                 time.perf_counter() - started)


def _email(session: Session, params: dict[str, Any], progress: Progress) -> None:
    """At most once per person, kind and day (see services.mail); a mail server that asks to
    try later raises, and the queue retries the job."""
    from .services import mail

    tally = mail.send(session, params["assessment_id"], MailKind(params["kind"]),
                      scheduled=params.get("scheduled", False), progress=progress)
    progress(1, 1, f"Done: {tally.summary()}")


def _email_test(session: Session, params: dict[str, Any], progress: Progress) -> None:
    from .services import mail

    assessment = session.get(Assessment, params["assessment_id"])
    if assessment is None:
        return
    mail.send_test(assessment, mail.texts_of(session, assessment), params["to"])


BODIES: dict[str, Callable[[Session, dict[str, Any], Progress], None]] = {
    "release": _release,
    "close": _close,
    "pdf": _report,
    "xlsx": _report,
    "html": _report,
    "csv": _report,
    "view": _view,
    "email": _email,
    "email_test": _email_test,
}


def _dead_here(worker: str | None) -> bool:
    """The job's worker ran on this machine and its process is gone."""
    if not worker or ":" not in worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def sweep(session: Session, lease_seconds: float) -> None:
    """Every minute and when a worker starts: send again the jobs whose worker died (or whose
    message was lost), close assessments whose close date has passed, ask for the releases
    that are due and the report files a current release lacks, and clean up."""
    from . import queue

    lost = list(jobs.orphans(session, lease_seconds))
    seen = {job.id for job in lost}
    lost += [job for job in session.scalars(sa.select(Job).where(Job.status == JobStatus.RUNNING))
             if job.id not in seen and _dead_here(job.worker)]
    for job in lost:
        log.warning("job %s (%s) lost its worker %s; sending it again", job.id, job.key,
                    job.worker or "-")
        jobs.resent(session, job.id)
        queue.send(job.id)

    waiting_ids = set(session.scalars(sa.select(Response.assessment_id).where(
        Response.submitted_at.is_not(None), Response.release_id.is_(None)).distinct()))
    claimed_ids = set(session.scalars(sa.select(Release.assessment_id).where(
        Release.n_respondents == 0).distinct()))
    closing_ids = set(session.scalars(sa.select(Assessment.id).where(
        Assessment.status == AssessmentStatus.OPEN, Assessment.closes_at.is_not(None),
        Assessment.closes_at <= utcnow())))
    for assessment_id in sorted(waiting_ids | claimed_ids | closing_ids):
        assessment = session.get(Assessment, assessment_id)
        if assessment is None:
            continue
        if (assessment_id in claimed_ids or assessment_id in closing_ids
                or releases.due(assessment, releases.waiting(session, assessment))):
            releases.request(session, assessment)

    for assessment in session.scalars(sa.select(Assessment).where(Assessment.id.in_(
            sa.select(Release.assessment_id).where(Release.n_respondents > 0)))).all():
        latest = releases.latest(session, assessment)
        if latest is not None:
            stored.request_builds(session, assessment, latest)

    _remind(session)
    stored.clean(session)
    jobs.clean(session)


def _remind(session: Session) -> None:
    """Queue the reminders the schedules call for (none without TOKEN_KEYS)."""
    from .services import mail, tokens

    if not tokens.available():
        return
    for assessment_id in mail.due_reminder_assessments(session):
        assessment = session.get(Assessment, assessment_id)
        if assessment is not None:
            mail.request_sending(assessment, MailKind.REMINDER, scheduled=True)

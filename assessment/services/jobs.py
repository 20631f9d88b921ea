"""The job ledger: one row per piece of background work, beside the task queue that delivers it.

The queue (huey, see `assessment.queue`) takes a message off its storage when a worker picks it
up, so a worker killed mid-job takes the message with it. The ledger is what survives: a job is
written here before its message is sent, a worker claims it here (atomically, so two messages
for one job never run it twice at once), reports a heartbeat and its progress while it runs, and
marks it done or failed with the error. A running job whose heartbeat stops is taken over by the
next sweep; admins read failures here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..db import begin_write, rowcount
from ..models import Job, JobStatus, utcnow

DONE_KEPT = timedelta(days=7)
FAILED_KEPT = timedelta(days=30)
QUEUED_LEASES = 10


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def request(session: Session, kind: str, key: str, params: dict[str, Any],
            assessment_id: int | None = None) -> tuple[Job, bool]:
    """The job for `key`, queued: an existing one still waiting, or a new one. Returns the job
    and whether it is new (and so needs a message on the queue). A job already running is not
    reused, since it may have read its inputs before the change that asks for it again."""
    begin_write(session)
    found = session.scalar(sa.select(Job).where(Job.key == key, Job.status == JobStatus.QUEUED)
                           .order_by(Job.id).limit(1))
    if found is not None:
        session.commit()
        return found, False
    job = Job(kind=kind, key=key, params=params, assessment_id=assessment_id,
              status=JobStatus.QUEUED)
    session.add(job)
    session.commit()
    return job, True


def claim(session: Session, job_id: int, lease_seconds: float) -> bool:
    """Take the job for this worker: a queued one, or a running one whose worker has stopped
    reporting. False when another worker has it or it is finished."""
    begin_write(session)
    now = utcnow()
    stale = now - timedelta(seconds=lease_seconds)
    taken = rowcount(session.execute(
        sa.update(Job).where(
            Job.id == job_id,
            sa.or_(Job.status == JobStatus.QUEUED,
                   sa.and_(Job.status == JobStatus.RUNNING, Job.heartbeat_at < stale)))
        .values(status=JobStatus.RUNNING, worker=worker_name(), started_at=now,
                heartbeat_at=now, attempts=Job.attempts + 1, progress_step=0,
                progress_total=0, progress_label="")))
    session.commit()
    return taken == 1


def beat(engine: sa.Engine, job_id: int, progress: tuple[int, int, str] | None = None) -> None:
    """The running job is alive (and, optionally, how far it is); on a connection of its own,
    so that it never joins the job's transaction."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        step, total, label = progress
        values.update(progress_step=step, progress_total=total, progress_label=label[:200])
    with engine.begin() as conn:
        conn.execute(sa.update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING,
                                          Job.worker == worker_name()).values(**values))


def finish(session: Session, job_id: int) -> None:
    begin_write(session)
    session.execute(sa.update(Job).where(Job.id == job_id).values(
        status=JobStatus.DONE, finished_at=utcnow(), error=None))
    session.commit()


def fail(session: Session, job_id: int, error: str, *, final: bool) -> None:
    """Record the error; a job with retries left goes back to waiting for the queue's retry."""
    begin_write(session)
    session.execute(sa.update(Job).where(Job.id == job_id).values(
        status=JobStatus.FAILED if final else JobStatus.QUEUED, error=error[:4000],
        finished_at=utcnow() if final else None, enqueued_at=utcnow()))
    session.commit()


def orphans(session: Session, lease_seconds: float) -> Sequence[Job]:
    """Jobs whose message may be gone: running without a heartbeat for a lease, or queued for
    ten leases without a worker taking them (the process that queued them stopped before
    sending, or the queue's storage was emptied)."""
    now = utcnow()
    stale = now - timedelta(seconds=lease_seconds)
    # A queued job may simply wait behind long ones: give it many leases before resending.
    forgotten = now - timedelta(seconds=lease_seconds * QUEUED_LEASES)
    return session.scalars(sa.select(Job).where(sa.or_(
        sa.and_(Job.status == JobStatus.RUNNING, Job.heartbeat_at < stale),
        sa.and_(Job.status == JobStatus.QUEUED, Job.enqueued_at < forgotten)))
        .order_by(Job.id)).all()


def resent(session: Session, job_id: int) -> None:
    begin_write(session)
    session.execute(sa.update(Job).where(Job.id == job_id).values(
        status=JobStatus.QUEUED, enqueued_at=utcnow()))
    session.commit()


def active_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of `keys` have a job queued, running, or failed for good (not asked for again
    automatically: an admin retries it)."""
    if not keys:
        return set()
    return set(session.scalars(sa.select(Job.key).where(Job.key.in_(keys))
                               .where(Job.status != JobStatus.DONE)))


def current(session: Session, key: str) -> Job | None:
    """The newest job for `key`."""
    return session.scalar(sa.select(Job).where(Job.key == key).order_by(Job.id.desc()).limit(1))


def recent(session: Session, limit: int = 100, failed_only: bool = False) -> Sequence[Job]:
    stmt = sa.select(Job).order_by(Job.id.desc()).limit(limit)
    if failed_only:
        stmt = stmt.where(Job.status == JobStatus.FAILED)
    return session.scalars(stmt).all()


def retry(session: Session, job_id: int) -> Job | None:
    """An admin asks for a failed job again: a fresh job for the same work."""
    begin_write(session)
    old = session.get(Job, job_id)
    if old is None or old.status != JobStatus.FAILED:
        session.rollback()
        return None
    job, _ = request(session, old.kind, old.key, old.params, old.assessment_id)
    return job


def clean(session: Session) -> int:
    """Forget finished jobs after a week and failed ones after a month."""
    begin_write(session)
    now = utcnow()
    gone = rowcount(session.execute(sa.delete(Job).where(sa.or_(
        sa.and_(Job.status == JobStatus.DONE, Job.finished_at < now - DONE_KEPT),
        sa.and_(Job.status == JobStatus.FAILED, Job.finished_at < now - FAILED_KEPT)))))
    session.commit()
    return gone

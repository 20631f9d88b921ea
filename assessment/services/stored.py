"""Files built from a release in the background, and the variants a viewer reads.

A release's report files, its charts and its comparison with earlier cycles are built by jobs
once per release and stored (`StoredReport`), so a download or a dashboard serves them at once.
Everything in a release is the same for every reader except the comparison with earlier cycles:
a lead reads only the earlier cycles shared with them. So files that include the comparison are
stored per *variant*, the set of earlier cycles (each with the release read of it) that the
comparison draws on; a viewer is served only the variant of the cycles they may read. Usually
there is one (every lead is shared all the cycles); a lead shared the later cycle only gets a
variant of their own that mentions no earlier cycle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only

from ..db import begin_write, rowcount
from ..models import Assessment, Job, Release, StoredReport, User, UserRole
from ..reporting.formats import FORMATS
from . import access, jobs, releases
from .cycles import chain

REPORT_KINDS = tuple(FORMATS)  # pdf, xlsx, html, csv
CHARTS = "charts"  # the results pages' charts (the same for every viewer: variant "")
VIEW = "view"  # the comparison with earlier cycles and its trend chart, per variant


def variant(session: Session, assessment: Assessment, viewer: User | None) -> str:
    """The earlier cycles `viewer` may read (None: the command line, which reads all), each with
    its latest release, as `"<cycle id>@<release id>,..."`; "" when there are none. A new release
    of an earlier cycle makes a new variant, so a stored comparison never goes stale."""
    parts = []
    for cycle in chain(assessment)[:-1]:
        if viewer is not None and viewer.role != UserRole.ADMIN and session.scalar(
                access.visible_assessments(viewer).where(Assessment.id == cycle.id)) is None:
            continue
        latest = releases.latest(session, cycle)
        parts.append(f"{cycle.id}@{latest.id if latest else 0}")
    return ",".join(parts)


def readable_cycles(variant_key: str) -> set[int]:
    return {int(part.split("@")[0]) for part in variant_key.split(",") if part}


def viewer_variants(session: Session, assessment: Assessment) -> set[str]:
    """The variants the people who may read the assessment need: admins' (every cycle) and
    each shared lead's."""
    found = {variant(session, assessment, None)}
    for lead in assessment.leads:
        found.add(variant(session, assessment, lead))
    return found


def needs_view(assessment: Assessment) -> bool:
    return assessment.previous_id is not None


def get(session: Session, release_id: int, kind: str, variant_key: str = "",
        *, with_content: bool = True) -> StoredReport | None:
    stmt = sa.select(StoredReport).where(StoredReport.release_id == release_id,
                                         StoredReport.kind == kind,
                                         StoredReport.variant == variant_key)
    if not with_content:
        stmt = stmt.options(load_only(StoredReport.id, StoredReport.kind, StoredReport.size,
                                      StoredReport.created_at))
    return session.scalar(stmt)


def ready(session: Session, release_id: int, variant_key: str) -> set[str]:
    """Which report formats of the release are stored for the variant."""
    return set(session.scalars(sa.select(StoredReport.kind).where(
        StoredReport.release_id == release_id, StoredReport.variant == variant_key,
        StoredReport.kind.in_(REPORT_KINDS))))


def store(session: Session, release_id: int, kind: str, variant_key: str, content: bytes,
          seconds: float) -> bool:
    """Keep a built file; False when another worker stored the same one first (the work is
    idempotent, so either copy will do)."""
    begin_write(session)
    session.add(StoredReport(release_id=release_id, kind=kind, variant=variant_key,
                             content=content, size=len(content), seconds=seconds))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def dumps(data: Any) -> bytes:
    """JSON of charts and comparisons, whose numbers may be numpy scalars."""
    return json.dumps(data, default=lambda o: o.item() if hasattr(o, "item") else str(o),
                      separators=(",", ":")).encode("utf-8")


def loads(content: bytes) -> Any:
    return json.loads(content.decode("utf-8"))


def job_key(kind: str, release_id: int, variant_key: str = "") -> str:
    return f"{kind}:{release_id}:{variant_key}"


def missing(session: Session, assessment: Assessment, release: Release,
            variants: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(kind, variant) of the files this release should have and has not, leaving out those a
    job is already working on or has given up on."""
    wanted = []
    for v in sorted(variants if variants is not None else viewer_variants(session, assessment)):
        wanted += [(kind, v) for kind in REPORT_KINDS]
        if needs_view(assessment):
            wanted.append((VIEW, v))
    have = set(session.execute(sa.select(StoredReport.kind, StoredReport.variant).where(
        StoredReport.release_id == release.id)).tuples())
    busy = jobs.active_keys(session, [job_key(k, release.id, v) for k, v in wanted])
    return [(k, v) for k, v in wanted
            if (k, v) not in have and job_key(k, release.id, v) not in busy]


def request_builds(session: Session, assessment: Assessment, release: Release,
                   variants: Iterable[str] | None = None) -> list[Job]:
    """Queue a job for every file of the release not stored yet."""
    from .. import queue

    return [queue.enqueue(kind, job_key(kind, release.id, v),
                          {"release_id": release.id, "kind": kind, "variant": v},
                          assessment_id=assessment.id)
            for kind, v in missing(session, assessment, release, variants)]


def request_build(session: Session, assessment: Assessment, release: Release, kind: str,
                  variant_key: str) -> Job | None:
    """The job that builds one file: the one at work on it (or failed at it), or a new one."""
    from .. import queue

    key = job_key(kind, release.id, variant_key)
    current = jobs.current(session, key)
    if current is not None and current.status != "done":
        return current
    return queue.enqueue(kind, key, {"release_id": release.id, "kind": kind,
                                     "variant": variant_key}, assessment_id=assessment.id)


def clean(session: Session) -> int:
    """Drop the files of releases that are no longer the latest of their assessment: nobody
    can read those releases any more."""
    begin_write(session)
    latest = (sa.select(Release.assessment_id, sa.func.max(Release.seq).label("seq"))
              .where(Release.n_respondents > 0).group_by(Release.assessment_id).subquery())
    current_ids = sa.select(Release.id).join(
        latest, sa.and_(Release.assessment_id == latest.c.assessment_id,
                        Release.seq == latest.c.seq))
    gone = rowcount(session.execute(sa.delete(StoredReport).where(
        StoredReport.release_id.not_in(current_ids))))
    session.commit()
    return gone

"""Releases: the frozen analyses that leads and admins read, and the rule for when one may be made.

A lead who keeps every page, download and API answer could otherwise compare two of them taken
either side of one person's submission and read that person's answers off the difference. So
nobody reads live results; they read releases, and the rule makes any difference between two
releases describe at least `min_group_size` people in every group:

1. A release shows every response of the earlier releases plus a *batch* of new ones. A batch
   holds, for every team x role cell, either none of its new responses or at least
   `min_group_size` of them, and at least `min_group_size` in all. Every published figure is a
   sum over cells, so whatever a lead subtracts between releases describes whole cell-batches:
   `min_group_size` people or more, or nobody. New responses of a cell with fewer waiting are
   held back (stored, never lost) until enough more of that cell arrive.
2. A team, role or team x role cell hidden in an earlier release stays hidden in every later
   one. Shown later, its growth would give away the people who were hidden before (the hidden
   remainder of the first release minus that of the second would be exactly them).

The first release has no earlier one to be compared with: it shows everyone, with the usual
suppression of small groups within it. By default an assessment is released once, when it
closes; with interim releases on, a release is made whenever the rule allows one.

Releases are made in two steps, so that two workers can never make the same one twice and the
analysis runs outside any transaction: a short transaction claims the batch (a release row
without a result, and the batch's responses pointing at it), then the analysis is computed and
stored. A claimed release whose analysis is missing (the worker died) is completed by the next
reader.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import begin_write
from ..models import (
    Assessment,
    AssessmentStatus,
    Job,
    Release,
    Response,
    StoredReport,
    utcnow,
)
from .assessments import set_status, team_counts
from .banks import bank_of
from .errors import Conflict

if TYPE_CHECKING:
    import pandas as pd

    from ..analysis.result import AnalysisResult

log = logging.getLogger(__name__)
# Parsed stored results, by release: pages of the same release read it once.
_ANALYSES: dict[tuple[int, int, object], AnalysisResult] = {}
_ANALYSES_KEPT = 32


@dataclass(frozen=True)
class Waiting:
    """Submitted responses not in any release yet."""

    total: int
    releasable: list[int]  # ids of those a release may show now
    short: int  # responses still needed so that every waiting one could be shown

    @property
    def held(self) -> int:
        return self.total - len(self.releasable)


def _min_size(assessment: Assessment) -> int:
    return assessment.min_group_size


def releases(session: Session, assessment: Assessment) -> list[Release]:
    return list(session.scalars(
        sa.select(Release).where(Release.assessment_id == assessment.id).order_by(Release.seq)))


def analysis_of(release: Release) -> AnalysisResult:
    """A release's stored analysis as the typed result (read once per release and kept: a
    release's result never changes once computed)."""
    key = (release.id, release.n_respondents, release.released_at)
    found = _ANALYSES.get(key)
    if found is None:
        # The models cost a worker a fifth of a second to build: loaded on first use, so a
        # process that serves only respondents never pays for them.
        from ..analysis.result import AnalysisResult

        found = AnalysisResult.model_validate(release.result)
        if len(_ANALYSES) >= _ANALYSES_KEPT:
            _ANALYSES.pop(next(iter(_ANALYSES)))
        _ANALYSES[key] = found
    return found


def latest(session: Session, assessment: Assessment) -> Release | None:
    """The newest release with its analysis computed."""
    return session.scalar(
        sa.select(Release).where(Release.assessment_id == assessment.id,
                                 Release.n_respondents > 0)
        .order_by(Release.seq.desc()).limit(1))


def latest_stamps(session: Session, assessment_ids: list[int]
                  ) -> dict[int, tuple[datetime, int]]:
    """When each assessment's newest computed release was made and how many responses it
    shows, for a listing: one statement for the whole page, and none of the stored analyses
    (megabytes each for a large assessment) read."""
    if not assessment_ids:
        return {}
    newest = (sa.select(Release.assessment_id, sa.func.max(Release.seq).label("seq"))
              .where(Release.assessment_id.in_(assessment_ids), Release.n_respondents > 0)
              .group_by(Release.assessment_id).subquery())
    rows = session.execute(
        sa.select(Release.assessment_id, Release.released_at, Release.n_respondents)
        .join(newest, sa.and_(Release.assessment_id == newest.c.assessment_id,
                              Release.seq == newest.c.seq)))
    return {aid: (at, n) for aid, at, n in rows}


def waiting(session: Session, assessment: Assessment) -> Waiting:
    """Which waiting responses a release could show now, under the rule in the module doc."""
    k = _min_size(assessment)
    rows = session.execute(
        sa.select(Response.id, Response.team_id, Response.role_id)
        .where(Response.assessment_id == assessment.id, Response.submitted_at.is_not(None),
               Response.release_id.is_(None))
        .order_by(Response.id)).all()
    first = session.scalar(sa.select(sa.func.count()).select_from(Release).where(
        Release.assessment_id == assessment.id)) == 0
    if first:
        ids = [r.id for r in rows]
        return Waiting(len(rows), ids if len(ids) >= k else [], max(k - len(ids), 0))
    cells = Counter((r.team_id, r.role_id) for r in rows)
    ok = {cell for cell, n in cells.items() if n >= k}
    ids = [r.id for r in rows if (r.team_id, r.role_id) in ok]
    short = sum(k - n for cell, n in cells.items() if cell not in ok)
    if len(ids) < k:  # never a batch smaller than the minimum in all
        return Waiting(len(rows), [], short + (k - len(ids) if not short else 0))
    return Waiting(len(rows), ids, short)


def release(session: Session, assessment: Assessment, reason: str = "manual") -> Release:
    """Make a release now if the rule allows one; Conflict (one line, with how many more
    responses are needed) if not."""
    complete_pending(session, assessment)
    return _compute(session, assessment, _claim_or_refuse(session, assessment, reason))


def _claim_or_refuse(session: Session, assessment: Assessment, reason: str) -> int:
    """Claim the batch the rule allows now; Conflict, saying why, when there is none."""
    found = waiting(session, assessment)
    if not found.releasable:
        session.rollback()
        raise Conflict(_refusal(assessment, found))
    claimed = _claim(session, assessment, found.releasable, reason)
    if claimed is None:
        raise Conflict("Another release of this assessment is being made right now; "
                       "try again in a moment.")
    return claimed


def _refusal(assessment: Assessment, found: Waiting) -> str:
    k = _min_size(assessment)
    if found.total == 0:
        return "No new responses have been submitted since the last release."
    return (f"Not released: {found.total} new response{'s' if found.total != 1 else ''} "
            f"waiting, and a release needs at least {k} new ones in every team and role that "
            f"has any; {found.short} more needed.")


def _claim(session: Session, assessment: Assessment, ids: list[int],
           reason: str) -> int | None:
    """Claim a batch in one short transaction; None if another worker claimed first."""
    begin_write(session)
    seq = (session.scalar(sa.select(sa.func.max(Release.seq)).where(
        Release.assessment_id == assessment.id)) or 0) + 1
    row = Release(assessment_id=assessment.id, seq=seq, reason=reason, n_respondents=0,
                  min_group_size=assessment.min_group_size, result={}, rates={},
                  comments={}, hidden={}, released_at=utcnow())
    session.add(row)
    try:
        session.flush()
        updated = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            done = session.execute(
                sa.update(Response).where(Response.id.in_(chunk), Response.release_id.is_(None))
                .values(release_id=row.id))
            updated += cast(sa.CursorResult[Any], done).rowcount
        if updated != len(ids):  # someone else took some of them meanwhile
            session.rollback()
            return None
        session.commit()
    except IntegrityError:  # the same seq claimed by another worker
        session.rollback()
        return None
    return row.id


def complete_pending(session: Session, assessment: Assessment) -> None:
    """Finish releases claimed but never computed (the worker that claimed them stopped)."""
    for row in releases(session, assessment):
        if row.n_respondents == 0:
            _compute(session, assessment, row.id)


def _compute(session: Session, assessment: Assessment, release_id: int) -> Release:
    # The analysis stack loads here, in the worker or the command line, never for a page; and
    # outside any transaction, since on SQLite one holds the write lock for its duration.
    session.commit()
    from .. import repository
    from ..analysis import analyze
    from ..analysis.publish import rounded
    from ..reporting.prepared import page_charts
    from . import stored

    row = session.get(Release, release_id)
    assert row is not None
    earlier = [r for r in releases(session, assessment) if r.seq < row.seq]
    always_hidden: dict[str, list[Any]] = {"groups": [], "roles": [], "group_roles": []}
    for r in earlier:
        for key in always_hidden:
            always_hidden[key].extend(x for x in r.hidden.get(key, [])
                                      if x not in always_hidden[key])
    bank = bank_of(assessment.bank)
    frames = repository.submitted_answers(session, assessment.id, bank.question_ids,
                                          release_seq=row.seq)
    invited = {team: c.invited for team, c in team_counts(session, assessment).items()}
    comments = repository.comments_by_team(session, assessment.id, release_seq=row.seq)
    session.commit()  # no transaction (on SQLite, no write lock) during the analysis
    started = time.perf_counter()
    total_invited = sum(invited.values())
    rate = len(frames.answers) / total_invited if total_invited else None
    analysis = analyze(frames.answers, bank, groups=frames.groups, roles=frames.roles,
                       min_group_size=assessment.min_group_size,
                       response_rate=min(rate, 1.0) if rate is not None else None,
                       always_hidden=always_hidden)
    hidden = (always_hidden if analysis.suppressed is None
              else analysis.suppressed.model_dump(mode="json"))
    result = rounded(analysis.model_copy(update={"suppressed": None}).to_json())
    team_sizes = cast(dict[str, int], frames.groups.value_counts().to_dict())
    rates = _rates(assessment, team_sizes, invited, hidden["groups"])
    shown_comments = _comments(assessment, comments, team_sizes, hidden["groups"])
    # The pages' charts are drawn now and stored with the release, so that its first reader
    # waits for nothing; the report files follow in jobs of their own.
    from ..analysis.result import AnalysisResult

    drawn = stored.dumps(page_charts(AnalysisResult.model_validate(result), bank))
    seconds = time.perf_counter() - started
    begin_write(session)
    row = session.get(Release, release_id, populate_existing=True)
    assert row is not None
    if row.n_respondents == 0:  # not completed by another worker meanwhile
        row.result, row.rates, row.comments, row.hidden = result, rates, shown_comments, hidden
        row.n_respondents, row.seconds = len(frames.answers), seconds
        row.released_at = utcnow()
        session.add(StoredReport(release_id=row.id, kind=stored.CHARTS, variant="",
                                 content=drawn, size=len(drawn), seconds=seconds))
        session.commit()
        try:
            stored.request_builds(session, assessment, row)
        except Exception:  # noqa: BLE001 - the sweep asks again; the release stands
            session.rollback()
            log.exception("could not queue the report files of release %s", row.id)
    log.info("released assessment %s (release %s): %d responses in %.2fs", assessment.id,
             row.seq, len(frames.answers), seconds)
    return row


def _rates(assessment: Assessment, sizes: dict[str, int], invited: dict[str, int],
           always_hidden: list[str]) -> dict[str, Any]:
    """Submitted and invited per team as of the release, small teams suppressed (with a
    complement, so a hidden team is not the total minus the shown ones)."""
    import pandas as pd

    from ..analysis.confidentiality import suppressed_keys

    series = pd.Series({t: float(sizes.get(t, 0)) for t in invited}, dtype=float)
    hidden = (suppressed_keys(series, assessment.min_group_size, always_hidden)
              if len(series) else series)
    teams = []
    for team, n_invited in invited.items():
        if bool(hidden.get(team, False)):
            teams.append({"team": team, "suppressed": True})
        else:
            n = sizes.get(team, 0)
            teams.append({"team": team, "invited": n_invited, "submitted": n,
                          "rate": round(n / n_invited, 3) if n_invited else None,
                          "suppressed": False})
    return {"teams": teams, "submitted": sum(sizes.values()), "invited": sum(invited.values())}


def _comments(assessment: Assessment, frame: pd.DataFrame, sizes: dict[str, int],
              always_hidden: list[str]) -> dict[str, Any]:
    """Comments by dimension and team, from teams with at least the comment threshold of
    responses in the release; each team's comments in a random order, so that neither the
    order they were written in nor one person's comments across dimensions can be lined up."""
    threshold = max(assessment.comment_min_group_size, assessment.min_group_size)
    shown: dict[str, list[Any]] = {}
    if not frame.empty:
        keep = frame["team"].map(lambda t: sizes.get(t, 0) >= threshold
                                 and t not in always_hidden).astype(bool)
        shuffle = random.SystemRandom()
        for (dimension, team), texts in frame[keep].groupby(["dimension", "team"],
                                                            sort=True)["text"]:
            texts_list = list(texts)
            shuffle.shuffle(texts_list)
            shown.setdefault(str(dimension), []).append([str(team), texts_list])
    return {"threshold": threshold, "by_dimension": shown}


def ensure_current(session: Session, assessment: Assessment) -> Release | None:
    """Release what the policy says should be released by now (after the close date, or at
    any time with interim releases on) and the rule allows; the latest release."""
    complete_pending(session, assessment)
    if assessment.is_past_close() or assessment.interim_releases:
        found = waiting(session, assessment)
        if found.releasable:
            reason = "closed" if assessment.is_past_close() else "interim"
            claimed = _claim(session, assessment, found.releasable, reason)
            if claimed is not None:
                _compute(session, assessment, claimed)
    return latest(session, assessment)


def pending(session: Session, assessment: Assessment) -> bool:
    """A release has been claimed and its analysis is not computed yet."""
    return (session.scalar(sa.select(sa.func.count()).select_from(Release).where(
        Release.assessment_id == assessment.id, Release.n_respondents == 0)) or 0) > 0


def due(assessment: Assessment, found: Waiting) -> bool:
    """The policy calls for a release now (after the close date, or with interim releases on)
    and the rule allows one."""
    return bool(found.releasable) and (assessment.is_past_close() or assessment.interim_releases)


class Closable(Protocol):
    """What `request` needs of an assessment: a mapped one, or the survey's record of one."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> AssessmentStatus: ...
    def is_past_close(self, now: datetime | None = None) -> bool: ...


def request(session: Session, assessment: Closable) -> Job:
    """Ask a worker to make the releases that are due and compute the claimed ones (closing the
    assessment first when its close date has passed). Web requests call this and never compute:
    an analysis and its charts take seconds."""
    from .. import queue

    if assessment.status == AssessmentStatus.OPEN and assessment.is_past_close():
        return queue.enqueue("close", f"close:{assessment.id}", {"assessment_id": assessment.id},
                             assessment_id=assessment.id)
    return queue.enqueue("release", f"release:{assessment.id}",
                         {"assessment_id": assessment.id}, assessment_id=assessment.id)


def begin(session: Session, assessment: Assessment, reason: str = "manual") -> Release:
    """Claim a release now if the rule allows one (Conflict, with how many more responses are
    needed, if not) and leave its analysis to a worker: what an admin's button does."""
    row = session.get(Release, _claim_or_refuse(session, assessment, reason))
    assert row is not None
    request(session, assessment)
    return row


def close_later(session: Session, assessment: Assessment) -> str:
    """Close an assessment and claim the release the rule allows, computed by a worker; says
    what happened, in a line."""
    set_status(session, assessment, AssessmentStatus.CLOSED)
    try:
        made = begin(session, assessment, "closed")
    except Conflict as exc:
        return f"Closed. {exc}"
    count = session.scalar(sa.select(sa.func.count()).select_from(Response).where(
        Response.release_id.in_(sa.select(Release.id).where(
            Release.assessment_id == assessment.id, Release.seq <= made.seq))))
    return (f"Closed and released: release {made.seq} will show {count} responses; it is "
            "being prepared and appears in a moment.")


def close(session: Session, assessment: Assessment) -> str:
    """Close an assessment and release what the rule allows; says what happened, in a line."""
    set_status(session, assessment, AssessmentStatus.CLOSED)
    try:
        made = release(session, assessment, "closed")
    except Conflict as exc:
        return f"Closed. {exc}"
    return f"Closed and released: release {made.seq} shows {made.n_respondents} responses."


def live_band(count: int, k: int) -> str:
    """A live count as a band of width `k` ("10-14"): progress a lead can follow, which changes
    only every `k` submissions, so the moment one person submits is not visible."""
    if count < k:
        return f"fewer than {k}"
    low = count // k * k
    return f"{low}–{low + k - 1}"

"""An assessment's analysis: computed from its submitted answers, stored, and reused until a new
response is submitted, so a dashboard of 10,000 responses opens from the stored result.

The computation runs outside any database transaction: on SQLite a transaction holds the write
lock, and respondents' saves must not wait for an analysis.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import repository
from ..analysis import analyze
from ..analysis.confidentiality import suppressed_keys
from ..db import begin_write
from ..models import AnalysisResult, Assessment, utcnow
from .assessments import team_counts
from .banks import bank_of

log = logging.getLogger(__name__)


@dataclass
class Results:
    assessment: Assessment
    analysis: dict | None  # None while nobody has submitted
    computed_at: datetime | None
    seconds: float
    from_store: bool


def fingerprint(session: Session, assessment: Assessment) -> str:
    return (f"{repository.fingerprint(session, assessment.id)}:{assessment.min_group_size}:"
            f"{assessment.bank.content_hash}")


def results(session: Session, assessment: Assessment, *, refresh: bool = False) -> Results:
    """The stored analysis if still valid, else a fresh one (stored for next time)."""
    mark = fingerprint(session, assessment)
    stored = session.get(AnalysisResult, assessment.id)
    if stored is not None and stored.fingerprint == mark and not refresh:
        return Results(assessment, stored.result, stored.computed_at, stored.seconds, True)
    bank = bank_of(assessment.bank)
    frames = repository.submitted_answers(session, assessment.id, bank.question_ids)
    invited = sum(c.invited for c in team_counts(session, assessment).values())
    session.commit()  # end the read transaction before the (long) computation
    if frames.answers.empty:
        return Results(assessment, None, None, 0.0, False)
    started = time.perf_counter()
    rate = len(frames.answers) / invited if invited else None
    analysis = analyze(frames.answers, bank, groups=frames.groups, roles=frames.roles,
                       min_group_size=assessment.min_group_size,
                       response_rate=min(rate, 1.0) if rate is not None else None)
    seconds = time.perf_counter() - started
    log.info("analysed assessment %s: %d responses in %.2fs", assessment.id,
             len(frames.answers), seconds)
    computed_at = _store(session, assessment.id, mark, analysis, seconds)
    return Results(assessment, analysis, computed_at, seconds, False)


def _store(session: Session, assessment_id: int, mark: str, analysis: dict,
           seconds: float) -> datetime:
    """Store the analysis; returns its time, the same one later reads of the store give (the
    charts drawn from it are cached under that time)."""
    now = utcnow()
    begin_write(session)
    row = session.get(AnalysisResult, assessment_id)
    if row is None:
        session.add(AnalysisResult(assessment_id=assessment_id, fingerprint=mark,
                                   result=analysis, seconds=seconds, computed_at=now))
    else:
        row.fingerprint, row.result, row.seconds, row.computed_at = (
            mark, analysis, seconds, now)
    try:
        session.commit()
    except IntegrityError:  # another worker stored it first; theirs is as good
        session.rollback()
    return now


@dataclass
class TeamRate:
    team: str
    invited: int | None  # None when suppressed, like submitted: "all invited answered" would
    submitted: int | None  # otherwise give a hidden team's count away
    rate: float | None


def response_rates(session: Session, assessment: Assessment) -> tuple[list[TeamRate], int, int]:
    """Submitted and invited per team, with small teams suppressed (and a complement, so a hidden
    team cannot be recovered from the total). Returns the rows, total submitted, total invited."""
    counts = team_counts(session, assessment)
    sizes = pd.Series({t: c.submitted for t, c in counts.items()}, dtype=float)
    hidden = suppressed_keys(sizes, assessment.min_group_size) if len(sizes) else sizes
    rows = []
    for team, c in counts.items():
        if bool(hidden.get(team, False)):
            rows.append(TeamRate(team, None, None, None))
        else:
            rows.append(TeamRate(team, c.invited, c.submitted,
                                 c.submitted / c.invited if c.invited else None))
    total = sum(c.submitted for c in counts.values())
    invited = sum(c.invited for c in counts.values())
    return rows, total, invited


def visible_comments(session: Session, assessment: Assessment) -> tuple[dict[str, list], int]:
    """Comments by dimension, then team, only from teams with at least the comment threshold of
    submitted responses; smaller teams are left out without being named."""
    threshold = max(assessment.comment_min_group_size, assessment.min_group_size)
    sizes = repository.submitted_per_team(session, assessment.id)
    frame = repository.comments_by_team(session, assessment.id)
    shown: dict[str, list] = {}
    if frame.empty:
        return shown, threshold
    frame = frame[frame["team"].map(lambda t: sizes.get(t, 0) >= threshold).astype(bool)]
    for (dimension, team), texts in frame.groupby(["dimension", "team"], sort=True)["text"]:
        shown.setdefault(dimension, []).append((team, list(texts)))
    return shown, threshold

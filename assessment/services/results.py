"""What leads and admins read of an assessment: its latest release (see `releases`), and live
progress shown only in bands, so that neither can be compared over time into one person's
answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..models import Assessment, Job, Release
from . import releases
from .assessments import team_counts

if TYPE_CHECKING:
    from ..analysis.result import AnalysisResult


@dataclass
class Results:
    assessment: Assessment
    analysis: AnalysisResult | None  # None until the first release
    release: Release | None
    waiting: releases.Waiting
    preparing: Job | None = None  # the job making a new release, while one is being made

    @property
    def computed_at(self) -> datetime | None:
        return self.release.released_at if self.release else None

    @property
    def released_at(self) -> datetime | None:
        return self.computed_at

    @property
    def seconds(self) -> float:
        return self.release.seconds if self.release else 0.0


def results(session: Session, assessment: Assessment) -> Results:
    """The latest release. A release that is due, or claimed and not computed yet, is left to a
    worker (asked for here, once): the reader is told it is being prepared, never kept waiting."""
    found = releases.latest(session, assessment)
    waiting = releases.waiting(session, assessment)
    preparing = None
    if releases.pending(session, assessment) or releases.due(assessment, waiting):
        preparing = releases.request(session, assessment)
    return Results(assessment, releases.analysis_of(found) if found else None, found, waiting,
                   preparing)


@dataclass
class TeamRate:
    team: str
    invited: int | None  # None when suppressed, like submitted: "all invited answered" would
    submitted: int | None  # otherwise give a hidden team's count away
    rate: float | None


def response_rates(release: Release | None) -> tuple[list[TeamRate], int, int]:
    """Submitted and invited per team as of the release, small teams suppressed. Returns the
    rows, total submitted, total invited."""
    if release is None:
        return [], 0, 0
    rows = [TeamRate(t["team"], None, None, None) if t["suppressed"] else
            TeamRate(t["team"], t["invited"], t["submitted"], t["rate"])
            for t in release.rates.get("teams", [])]
    return rows, release.rates.get("submitted", 0), release.rates.get("invited", 0)


@dataclass
class Progress:
    """Live progress since the release, in bands of `min_group_size`."""

    submitted: str  # a band such as "10–14"
    invited: int
    teams: list[tuple[str, str | None]]  # None: a team shown nowhere, so nothing about it
    waiting: int  # a multiple of the band width, rounded down

    @property
    def any_waiting(self) -> bool:
        return self.waiting > 0


def progress(session: Session, assessment: Assessment, release: Release | None) -> Progress:
    k = assessment.min_group_size
    counts = team_counts(session, assessment)
    hidden = set(release.hidden.get("groups", [])) if release else set()
    teams = [(name, None if name in hidden or c.submitted < k else releases.live_band(
        c.submitted, k)) for name, c in counts.items()]
    total = sum(c.submitted for c in counts.values())
    shown = release.n_respondents if release else 0
    waiting = (total - shown) // k * k
    return Progress(releases.live_band(total, k), sum(c.invited for c in counts.values()),
                    teams, waiting)


def visible_comments(release: Release | None) -> tuple[dict[str, list[Any]], int]:
    """Comments by dimension, then team, as the release froze them."""
    if release is None:
        return {}, 0
    shown = {dim: [(team, texts) for team, texts in rows]
             for dim, rows in release.comments.get("by_dimension", {}).items()}
    return shown, release.comments.get("threshold", 0)

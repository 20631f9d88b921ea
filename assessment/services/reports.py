"""Reports of an assessment: gathers what the results pages show (a release: its analysis,
response rates and comments, and the comparison with the previous cycle) into the context the
report builders in `reporting.reports` turn into a file. A report depends on the release and on
the earlier cycles it is compared with alone, so two downloads of one release say the same.

The builders (and with them matplotlib and WeasyPrint) load only when a report is built: in a
worker, or in the `report` command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..models import Assessment, Release, User
from ..reporting.formats import ReportError
from . import cycles, releases, stored
from . import results as results_svc
from .banks import bank_of
from .errors import Conflict

if TYPE_CHECKING:
    from ..reporting.reports import Progress


def report_context(session: Session, assessment: Assessment, viewer: User | None) -> dict[str, Any]:
    """Everything a report shows; raises Conflict until the first release. `viewer` None (the
    command line, in the foreground) first makes the releases that are due and compares with
    every earlier cycle; a user's compares with those they may read."""
    found = (releases.ensure_current(session, assessment) if viewer is None
             else releases.latest(session, assessment))
    if found is None:
        raise Conflict(f"Assessment {assessment.id} has no released results yet: "
                       "there is nothing to report.")
    readable = stored.readable_cycles(stored.variant(session, assessment, viewer))
    return release_context(session, assessment, found, readable)


def release_context(session: Session, assessment: Assessment, release: Release,
                    readable: set[int]) -> dict[str, Any]:
    """The report context of one release, compared with the earlier cycles in `readable`."""
    analysis = releases.analysis_of(release)
    res = results_svc.Results(assessment, analysis, release,
                              releases.waiting(session, assessment))
    bank = bank_of(assessment.bank)
    rates, submitted, invited = results_svc.response_rates(release)
    shown, threshold = results_svc.visible_comments(release)
    comparison = cycles.compare_with_previous(session, assessment, analysis, None,
                                              readable=readable)
    from . import actions

    actions_section = actions.report_section(
        session, assessment, comparison.change if comparison else None, readable)
    # Building a PDF takes seconds: hold no transaction (on SQLite, no write lock) meanwhile.
    session.commit()
    return {
        "a": assessment, "res": res, "r": analysis, "bank": bank,
        "dim_titles": {d.id: d.title for d in bank.dimensions},
        "questions": {q.id: q.text for q in bank.questions},
        "rates": rates, "submitted": submitted, "invited": invited,
        "comparison": comparison,
        "comments": shown, "comment_threshold": threshold,
        "generated_at": release.released_at,
        "actions": actions_section,
    }


def build_report(context: dict[str, Any], fmt: str, progress: Progress | None = None) -> bytes:
    from ..reporting.reports import build_report as build

    return build(context, fmt, progress)


__all__ = ["ReportError", "build_report", "release_context", "report_context"]

"""Reports of an assessment: gathers what the results pages show (the latest release: its analysis,
response rates and comments, and the comparison with the previous cycle) into the context the
report builders in `reporting.reports` turn into a file. A report depends on the release alone,
so two downloads of one release say the same."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import Assessment, User
from ..reporting.reports import ReportError, build_report
from . import cycles
from . import results as results_svc
from .banks import bank_of
from .errors import Conflict


def report_context(session: Session, assessment: Assessment, viewer: User | None) -> dict:
    """Everything a report shows; raises Conflict until the first release. `viewer` None (the
    command line) compares with every earlier cycle; a user, with those they may read."""
    res = results_svc.results(session, assessment)
    if res.analysis is None or res.release is None:
        raise Conflict(f"Assessment {assessment.id} has no released results yet: "
                       "there is nothing to report.")
    bank = bank_of(assessment.bank)
    rates, submitted, invited = results_svc.response_rates(res.release)
    shown, threshold = results_svc.visible_comments(res.release)
    comparison = cycles.compare_with_previous(session, assessment, res.analysis, viewer)
    # Building a PDF takes seconds: hold no transaction (on SQLite, no write lock) meanwhile.
    session.commit()
    return {
        "a": assessment, "res": res, "r": res.analysis, "bank": bank,
        "dim_titles": {d.id: d.title for d in bank.dimensions},
        "questions": {q.id: q.text for q in bank.questions},
        "rates": rates, "submitted": submitted, "invited": invited,
        "comparison": comparison,
        "comments": shown, "comment_threshold": threshold,
        "generated_at": res.release.released_at,
    }


__all__ = ["ReportError", "build_report", "report_context"]

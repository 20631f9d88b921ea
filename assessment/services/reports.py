"""Reports of an assessment: gathers what the results pages show (the stored analysis, response
rates, the comparison with the previous cycle, the comments that may be shown) into the context
the report builders in `reporting.reports` turn into a file."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import Assessment, utcnow
from ..reporting.reports import ReportError, build_report
from . import cycles
from . import results as results_svc
from .banks import bank_of
from .errors import Conflict


def report_context(session: Session, assessment: Assessment) -> dict:
    """Everything a report shows; raises Conflict while nobody has submitted answers."""
    res = results_svc.results(session, assessment)
    if res.analysis is None:
        raise Conflict(f"Assessment {assessment.id} has no submitted responses yet: "
                       "there is nothing to report.")
    bank = bank_of(assessment.bank)
    rates, submitted, invited = results_svc.response_rates(session, assessment)
    shown, threshold = results_svc.visible_comments(session, assessment)
    comparison = cycles.compare_with_previous(session, assessment, res.analysis)
    # Building a PDF takes seconds: hold no transaction (on SQLite, no write lock) meanwhile.
    session.commit()
    return {
        "a": assessment, "res": res, "r": res.analysis, "bank": bank,
        "dim_titles": {d.id: d.title for d in bank.dimensions},
        "questions": {q.id: q.text for q in bank.questions},
        "rates": rates, "submitted": submitted, "invited": invited,
        "comparison": comparison,
        "comments": shown, "comment_threshold": threshold,
        "generated_at": utcnow(),
    }


__all__ = ["ReportError", "build_report", "report_context"]

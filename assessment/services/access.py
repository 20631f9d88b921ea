"""Who may read which assessment's results: admins read all, leads what is shared with them.

Every results page, download and API call goes through `readable_assessment`, so the rule lives
in one place; a refused lead gets the same "not found" as for an id that does not exist.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..db import begin_write
from ..models import Assessment, AssessmentShare, User, UserRole
from .errors import InvalidInput, NotFound

log = logging.getLogger(__name__)


def visible_assessments(user: User) -> sa.Select[tuple[Assessment]]:
    """The assessments a user may read, newest first (a select the caller can page)."""
    stmt = sa.select(Assessment).order_by(Assessment.id.desc())
    if user.role == UserRole.ADMIN:
        return stmt
    return stmt.join(AssessmentShare, AssessmentShare.assessment_id == Assessment.id).where(
        AssessmentShare.user_id == user.id)


def readable_assessment(session: Session, user: User, assessment_id: int) -> Assessment:
    assessment = session.scalar(visible_assessments(user).where(Assessment.id == assessment_id))
    if assessment is None:
        if session.get(Assessment, assessment_id) is not None:
            log.warning("permission refused: user %s, assessment %s", user.id, assessment_id)
        raise NotFound(f"There is no assessment {assessment_id} you can see.")
    return assessment


def share(session: Session, assessment: Assessment, lead_email: str) -> User:
    begin_write(session)
    lead = session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == lead_email.strip().lower()))
    if lead is None:
        raise InvalidInput(f"There is no user {lead_email}; create the lead first.")
    if lead.role != UserRole.LEAD:
        raise InvalidInput(f"{lead.email} is an admin; admins already see every assessment.")
    if lead not in assessment.leads:
        assessment.leads.append(lead)
    session.commit()
    return lead


def unshare(session: Session, assessment: Assessment, user_id: int) -> None:
    begin_write(session)
    assessment.leads = [u for u in assessment.leads if u.id != user_id]
    session.commit()

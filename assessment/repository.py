"""Queries that turn stored rows into data frames for the analysis: the only place that does so."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import Answer, Comment, Invitation, Response, Role, Team


@dataclass
class AnswerFrames:
    """Submitted answers, wide: respondent x question (NaN = don't know or unanswered)."""

    answers: pd.DataFrame
    groups: pd.Series
    roles: pd.Series


def submitted_answers(
    session: Session, assessment_id: int, question_ids: list[str]
) -> AnswerFrames:
    """One query for the respondents and one for their answers, pivoted in pandas. Core rows
    through the session's connection: the ORM's per-row bookkeeping doubles the time at 500,000
    answers and buys nothing here."""
    conn = session.connection()
    people = pd.DataFrame(
        conn.execute(
            sa.select(Response.id, Team.name, Role.name)
            .join(Team, Team.id == Response.team_id)
            .join(Role, Role.id == Response.role_id)
            .where(Response.assessment_id == assessment_id, Response.submitted_at.is_not(None))
            .order_by(Response.id)
        ).all(),
        columns=["response_id", "team", "role"],
    ).set_index("response_id")
    rows = _driver_rows(conn, (
        sa.select(Answer.response_id, Answer.question_id, Answer.value)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.assessment_id == assessment_id, Response.submitted_at.is_not(None))
    ))
    long = pd.DataFrame(rows, columns=["response_id", "question_id", "value"])
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    wide = (
        long.pivot(index="response_id", columns="question_id", values="value")
        .reindex(index=people.index, columns=question_ids)
        .astype(float)
    )
    wide.index.name = "respondent"
    return AnswerFrames(wide, people["team"].astype(str), people["role"].astype(str))


def _driver_rows(conn: sa.Connection, stmt: sa.Select) -> list[tuple]:
    """Plain tuples from the driver's cursor: building SQLAlchemy Row objects costs more than
    the query itself at hundreds of thousands of rows, and these columns need no conversion."""
    result = conn.execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def fingerprint(session: Session, assessment_id: int) -> str:
    """Changes whenever a response is submitted (submitted responses never change after)."""
    n, last = session.execute(
        sa.select(sa.func.count(), sa.func.max(Response.id)).where(
            Response.assessment_id == assessment_id, Response.submitted_at.is_not(None))
    ).one()
    invited = session.scalar(
        sa.select(sa.func.count()).select_from(Invitation).where(
            Invitation.assessment_id == assessment_id))
    return f"{n}:{last}:{invited}"


def comments_by_team(session: Session, assessment_id: int) -> pd.DataFrame:
    """Submitted comments with their team and dimension (columns team, dimension, text)."""
    rows = session.execute(
        sa.select(Team.name, Comment.dimension_id, Comment.text)
        .join(Response, Response.id == Comment.response_id)
        .join(Team, Team.id == Response.team_id)
        .where(Response.assessment_id == assessment_id, Response.submitted_at.is_not(None))
        .order_by(Comment.dimension_id, Team.name, Comment.id)
    ).all()
    return pd.DataFrame(rows, columns=["team", "dimension", "text"])


def submitted_per_team(session: Session, assessment_id: int) -> dict[str, int]:
    rows = session.execute(
        sa.select(Team.name, sa.func.count(Response.id))
        .join(Response, sa.and_(Response.team_id == Team.id, Response.submitted_at.is_not(None)),
              isouter=True)
        .where(Team.assessment_id == assessment_id)
        .group_by(Team.name)
    ).all()
    return {name: n for name, n in rows}

"""Queries that turn stored rows into data frames for the analysis: the only place that does so."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import Answer, Comment, Release, Response, Role, Team


@dataclass
class AnswerFrames:
    """Submitted answers, wide: respondent x question (NaN = don't know or unanswered)."""

    answers: pd.DataFrame
    groups: pd.Series
    roles: pd.Series


def _included(assessment_id: int, release_seq: int | None) -> sa.ColumnElement[bool]:
    """Submitted responses of the assessment; with `release_seq`, only those shown by that
    release (its own batch and the earlier releases')."""
    where = sa.and_(Response.assessment_id == assessment_id, Response.submitted_at.is_not(None))
    if release_seq is None:
        return where
    shown = sa.select(Release.id).where(Release.assessment_id == assessment_id,
                                        Release.seq <= release_seq)
    return sa.and_(where, Response.release_id.in_(shown))


def submitted_answers(
    session: Session, assessment_id: int, question_ids: list[str],
    *, release_seq: int | None = None,
) -> AnswerFrames:
    """One query for the respondents and one for their answers, pivoted in pandas. Core rows
    through the session's connection: the ORM's per-row bookkeeping doubles the time at 500,000
    answers and buys nothing here."""
    conn = session.connection()
    included = _included(assessment_id, release_seq)
    people = pd.DataFrame(
        conn.execute(
            sa.select(Response.id, Team.name, Role.name)
            .join(Team, Team.id == Response.team_id)
            .join(Role, Role.id == Response.role_id)
            .where(included)
            .order_by(Response.id)
        ).all(),
        columns=["response_id", "team", "role"],
    ).set_index("response_id")
    rows = _driver_rows(conn, (
        sa.select(Answer.response_id, Answer.question_id, Answer.value)
        .join(Response, Response.id == Answer.response_id)
        .where(included)
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


def _driver_rows(conn: sa.Connection, stmt: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """Plain tuples from the driver's cursor: building SQLAlchemy Row objects costs more than
    the query itself at hundreds of thousands of rows, and these columns need no conversion."""
    result = conn.execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def comments_by_team(session: Session, assessment_id: int,
                     *, release_seq: int | None = None) -> pd.DataFrame:
    """Submitted comments with their team and dimension (columns team, dimension, text)."""
    rows = session.execute(
        sa.select(Team.name, Comment.dimension_id, Comment.text)
        .join(Response, Response.id == Comment.response_id)
        .join(Team, Team.id == Response.team_id)
        .where(_included(assessment_id, release_seq))
        .order_by(Comment.dimension_id, Team.name, Comment.id)
    ).all()
    return pd.DataFrame(rows, columns=["team", "dimension", "text"])

"""Rate limits and account lockout, counted in the database so every instance shares them.

Limits count failures, not traffic: a respondent whose link works is never limited, and login
failures and unknown-link failures have separate counters, so hammering links cannot lock admins
out and the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import begin_write
from ..models import RateLimit, User, utcnow


@dataclass(frozen=True)
class Limit:
    name: str
    max_failures: int
    window: timedelta


LOGIN_BY_ADDRESS = Limit("login", 20, timedelta(minutes=10))
LINK_BY_ADDRESS = Limit("link", 30, timedelta(minutes=10))
API_BY_ADDRESS = Limit("api", 30, timedelta(minutes=10))
LOCKOUT_AFTER = 5
LOCKOUT_FOR = timedelta(minutes=15)


def _key(limit: Limit, subject: str) -> str:
    return f"{limit.name}:{subject}"[:200]


def is_limited(session: Session, limit: Limit, subject: str) -> bool:
    row = session.get(RateLimit, _key(limit, subject))
    return (row is not None and utcnow() - row.window_start < limit.window
            and row.count >= limit.max_failures)


def record_failure(session: Session, limit: Limit, subject: str) -> None:
    """Count one failure in the current window (a fixed window per key) and commit."""
    key = _key(limit, subject)
    now = utcnow()
    for _attempt in range(2):
        begin_write(session)
        row = session.scalar(sa.select(RateLimit).where(RateLimit.key == key).with_for_update()
                             .execution_options(populate_existing=True))
        if row is None:
            session.add(RateLimit(key=key, window_start=now, count=1))
        elif now - row.window_start >= limit.window:
            row.window_start, row.count = now, 1
        else:
            row.count += 1
        try:
            session.commit()
            return
        except IntegrityError:  # another request created the row first: count on it
            session.rollback()


def locked_until(user: User, now: datetime | None = None) -> datetime | None:
    now = now or utcnow()
    return user.locked_until if user.locked_until and user.locked_until > now else None


def login_failed(session: Session, user: User) -> bool:
    """Count a wrong password; returns True if the account is now locked."""
    begin_write(session)
    user.failed_logins = (user.failed_logins or 0) + 1
    locked = user.failed_logins >= LOCKOUT_AFTER
    if locked:
        user.locked_until = utcnow() + LOCKOUT_FOR
        user.failed_logins = 0
    session.commit()
    return locked


def login_succeeded(session: Session, user: User) -> None:
    if user.failed_logins or user.locked_until:
        begin_write(session)
        user.failed_logins, user.locked_until = 0, None
        session.commit()

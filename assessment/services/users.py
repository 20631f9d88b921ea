"""Staff accounts: admins run assessments, leads read results."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..db import begin_write
from ..models import User, UserRole
from .errors import Conflict, InvalidInput, NotFound

MIN_PASSWORD_LENGTH = 12


def create_user(session: Session, email: str, password: str, role: UserRole) -> User:
    email = (email or "").strip()
    if "@" not in email or len(email) > 254:
        raise InvalidInput(f"'{email}' is not an email address.")
    _check_password(password)
    begin_write(session)
    exists = session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == email.lower()))
    if exists:
        session.rollback()  # end the write transaction: the page is rendered without the lock
        raise Conflict(f"A user with the email {email} already exists.")
    user = User(email=email, role=role)
    user.set_password(password)
    session.add(user)
    session.commit()
    return user


def set_password(session: Session, email: str, password: str) -> User:
    """A new password for an account; it ends every session opened with the old one (see
    `User.set_password`)."""
    _check_password(password)
    begin_write(session)
    user = session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == (email or "").strip().lower()))
    if user is None:
        raise NotFound(f"There is no user {email}.")
    user.set_password(password)
    session.commit()
    return user


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")

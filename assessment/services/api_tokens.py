"""Bearer tokens for the JSON API: issued, listed, revoked, and checked on every API request.

A token is shown to its owner once, when it is created; the database keeps only its SHA-256
hash, so a copy of the database does not give anyone access to the API. Tokens carry a fixed
prefix so that a leaked one is recognisable (secret scanners, logs) and a malformed one is
refused without a database look-up.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..db import begin_write
from ..models import ApiToken, User, utcnow
from .assessments import hash_token
from .errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

PREFIX = "aat_"
NAME_MAX = 100
# `last_used_at` is for people deciding which token to revoke, so minutes are precise enough;
# writing it on every request would make each API read a database write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def create(session: Session, user: User, name: str,
           can_write: bool = False) -> tuple[ApiToken, str]:
    """A new token for `user`. Returns the row and the clear token, which exists only in this
    return value: the caller shows it once and it cannot be recovered afterwards. `can_write`:
    it may also change actions and targets (where its owner may)."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInput(f"Give the token a name of at most {NAME_MAX} characters.")
    clear = PREFIX + secrets.token_urlsafe(32)
    begin_write(session)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(clear),
                     can_write=can_write)
    session.add(token)
    session.commit()
    log.info("api token %s created for user %s", token.id, user.id)
    return token, clear


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (they show when access ended)."""
    return list(session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke(session: Session, token_id: int, *, actor: User | None = None) -> ApiToken:
    """Revoke a token; revoking it again keeps the first revocation time.

    `actor` is the person asking: only the owner or an admin may revoke, and anyone else gets
    the same "not found" as for an unknown id. `None` is the command line, whose operator
    already has the database."""
    begin_write(session)
    token = session.get(ApiToken, token_id)
    if token is None or (actor is not None and not actor.is_admin
                         and token.user_id != actor.id):
        raise NotFound(f"There is no API token {token_id} you can revoke.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
        log.info("api token %s revoked", token.id)
    return token


def authenticate(session: Session, clear: str) -> User | None:
    """The owner of a valid, unrevoked token, or None. Never logs the token itself."""
    if not clear.startswith(PREFIX) or len(clear) > 200:
        return None
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(clear)))
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        begin_write(session)
        token.last_used_at = now
        session.commit()
    return token.user


def user_by_email(session: Session, email: str) -> User:
    """The account with this email (case-insensitive), for the command line."""
    user = session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == (email or "").strip().lower()))
    if user is None:
        raise NotFound(f"There is no user {email}; create the account first.")
    return user


def find(session: Session, clear: str) -> ApiToken | None:
    """The unrevoked token itself (not only its owner), for checking what it may do."""
    if not clear.startswith(PREFIX) or len(clear) > 200:
        return None
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(clear)))
    return token if token is not None and token.revoked_at is None else None

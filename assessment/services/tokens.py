"""Invitation tokens kept so that the same link can be emailed again, without a copy of the
database being enough to answer in someone's name.

A token is looked up by its SHA-256 hash (as before) and also stored encrypted with Fernet
(AES-128-CBC with an HMAC) under the keys in `TOKEN_KEYS`, which live in the environment and
never in the database. `TOKEN_KEYS` lists keys newest first: the first encrypts, every key
decrypts, so a key is rotated by putting a new one in front, re-encrypting (`keys rotate`) and
then dropping the old one.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from ..db import begin_write
from ..models import Invitation
from .errors import Conflict

if TYPE_CHECKING:  # cryptography loads on first use: a respondent's page never needs it
    from cryptography.fernet import MultiFernet

NO_KEY = ("Emailing links needs TOKEN_KEYS: links are kept encrypted so that the same link can "
          "be sent again. Set TOKEN_KEYS (see the README, `flask --app app keys generate`), "
          "restart, and import the roster again.")
ROTATE_BATCH = 500


def generate_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


@lru_cache(maxsize=8)
def _keyring(keys: tuple[str, ...]) -> MultiFernet:
    from cryptography.fernet import Fernet, MultiFernet

    return MultiFernet([Fernet(key) for key in keys])


def configured_keys() -> tuple[str, ...]:
    if not has_app_context():
        return ()
    keys = current_app.config.get("TOKEN_KEYS") or ()
    if isinstance(keys, str):
        keys = tuple(k.strip() for k in keys.split(",") if k.strip())
    return tuple(keys)


def available() -> bool:
    return bool(configured_keys())


def keyring(keys: Sequence[str] | None = None) -> MultiFernet:
    """The configured keys; raises Conflict (shown to the admin) when there are none."""
    keys = tuple(keys) if keys is not None else configured_keys()
    if not keys:
        raise Conflict(NO_KEY)
    return _keyring(keys)


def seal(token: str) -> str | None:
    """The token encrypted with the newest key, or None when no key is configured (the link
    then works but cannot be sent again)."""
    if not available():
        return None
    return keyring().encrypt(token.encode("ascii")).decode("ascii")


def unseal(sealed: str) -> str:
    """The token; Conflict when none of the configured keys opens it (a key was dropped
    before `keys rotate` re-encrypted what it had encrypted)."""
    from cryptography.fernet import InvalidToken

    try:
        return keyring().decrypt(sealed.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise Conflict("A stored link cannot be decrypted with the keys in TOKEN_KEYS; put the "
                       "old key back after the new one and run `flask --app app keys rotate`."
                       ) from None


def rotate(session: Session) -> tuple[int, int]:
    """Re-encrypt every stored token with the newest key, in batches. Returns (re-encrypted,
    unreadable): an unreadable one was made with a key no longer listed."""
    from cryptography.fernet import InvalidToken

    ring = keyring()
    done = unreadable = 0
    last_id = 0
    while True:
        begin_write(session)
        rows = session.scalars(
            sa.select(Invitation).where(Invitation.token_encrypted.is_not(None),
                                        Invitation.id > last_id)
            .order_by(Invitation.id).limit(ROTATE_BATCH)).all()
        if not rows:
            session.commit()
            return done, unreadable
        for row in rows:
            assert row.token_encrypted is not None
            try:
                row.token_encrypted = ring.rotate(row.token_encrypted.encode("ascii")).decode(
                    "ascii")
                done += 1
            except InvalidToken:
                unreadable += 1
        last_id = rows[-1].id
        session.commit()

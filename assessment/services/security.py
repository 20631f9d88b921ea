"""Logins, rate limits and lockout, counted in the database so every instance shares them.

Limits on strangers count failures, not traffic: a respondent whose link works and a program
whose API token works are never limited, and login failures, unknown links and invalid tokens
have separate counters, so hammering links cannot lock admins out and the reverse. The costly
things a logged-in person can start (recomputing an analysis, building a report) are counted per
person instead.

Logins are built so that an outsider learns nothing and blocks no one:

- an unknown email costs the same work as a known one (a password is hashed either way, the
  same counters are written) and gets the same message and status;
- wrong passwords lock logins to an account *from one address* (or from one browser that has
  logged in to that account before), never the account itself: an outsider guessing at the
  admin's account locks only themselves out, and the admin logs in from anywhere else;
- a browser that has logged in to an account before carries a signed "known device" cookie and
  is exempt from the limit on its address, so colleagues behind one office address (or a
  misconfigured proxy) are not refused because someone there kept guessing.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import begin_write
from ..models import RateLimit, User, utcnow


@dataclass(frozen=True)
class Limit:
    """At most `max_events` per `window` and key; once reached, the key is refused for a whole
    `window` from the event that reached it."""

    name: str
    max_events: int
    window: timedelta


LOGIN_BY_ADDRESS = Limit("login", 20, timedelta(minutes=10))
LINK_BY_ADDRESS = Limit("link", 30, timedelta(minutes=10))
API_BY_ADDRESS = Limit("api", 30, timedelta(minutes=10))
LOGIN_LOCKOUT = Limit("lockout", 5, timedelta(minutes=15))
RECOMPUTE_BY_USER = Limit("recompute", 5, timedelta(minutes=10))


def _key(limit: Limit, subject: str) -> str:
    return f"{limit.name}:{subject}"[:200]


def is_limited(session: Session, limit: Limit, subject: str) -> bool:
    row = session.get(RateLimit, _key(limit, subject))
    return (row is not None and utcnow() - row.window_start < limit.window
            and row.count >= limit.max_events)


def record(session: Session, limit: Limit, subject: str) -> bool:
    """Count one event in the current window and commit; returns True if this event reached
    the limit (the key is refused from now on for a whole window)."""
    key = _key(limit, subject)
    now = utcnow()
    for _attempt in range(2):
        begin_write(session)
        row = session.scalar(sa.select(RateLimit).where(RateLimit.key == key).with_for_update()
                             .execution_options(populate_existing=True))
        if row is None:
            row = RateLimit(key=key, window_start=now, count=1)
            session.add(row)
        elif now - row.window_start >= limit.window:
            row.window_start, row.count = now, 1
        else:
            row.count += 1
        reached = row.count == limit.max_events
        if reached:
            row.window_start = now
        try:
            session.commit()
            return reached
        except IntegrityError:  # another request created the row first: count on it
            session.rollback()
    return False


def use(session: Session, limit: Limit, subject: str) -> bool:
    """Count one use of something costly; False, with nothing counted, once `subject` has
    reached the limit."""
    if is_limited(session, limit, subject):
        return False
    record(session, limit, subject)
    return True


def clear(session: Session, limit: Limit, subject: str) -> None:
    key = _key(limit, subject)
    if session.get(RateLimit, key) is None:
        return
    begin_write(session)
    session.execute(sa.delete(RateLimit).where(RateLimit.key == key))
    session.commit()


def end_sessions(session: Session, user: User) -> None:
    """End every copy of every session of `user`: a session carries the version it was opened
    with, and one that no longer matches is refused on its next request (`web.load_user`)."""
    begin_write(session)
    session.execute(sa.update(User).where(User.id == user.id)
                    .values(session_version=User.session_version + 1))
    session.commit()


# -- logging in -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    """A browser that has logged in to account `user_id` before (from its signed cookie)."""

    user_id: int
    id: str

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(8)


REFUSED = ("The email or password is not right, or there were too many wrong attempts: after "
           "five, logins to that account from here wait 15 minutes.")
LIMITED = ("Too many failed logins from your network. Wait ten minutes and try again; a browser "
           "that has logged in to your account before is not affected.")


@dataclass(frozen=True)
class Login:
    """A login's outcome, with what the login page tells the person and the audit log."""

    user: User | None  # set only when the login succeeded
    limited: bool = False  # refused without looking: the address is over its limit
    user_id: int | None = None  # the account the email named, for the audit log only
    locked: bool = False  # logins to that account from here are paused (or now are)
    # On success: the "known device" id this browser keeps (its own if it has logged in to this
    # account before, else a new one).
    device_id: str | None = None

    @property
    def status(self) -> int:
        """The HTTP status of the login page's answer."""
        return 200 if self.user is not None else 429 if self.limited else 401

    @property
    def message(self) -> str | None:
        """The same message for every refusal of its kind: it must not tell which part was
        wrong, or whether the email has an account."""
        return None if self.user is not None else LIMITED if self.limited else REFUSED

    @property
    def audit_event(self) -> str | None:
        if self.user is not None:
            return None
        return ("login_rate_limited" if self.limited
                else "login_locked" if self.locked else "login_failed")


def safe_next(target: str | None) -> str | None:
    """Where to go after logging in: a path on this site, or None. Anything else (another
    host, `//host`, a scheme) would make the login page an open redirect; so would a backslash,
    which browsers read as a slash (`/\\host` is `//host` to them)."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or urlsplit(target).netloc \
            or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    return target


@functools.cache
def _dummy_hash() -> str:
    """A hash made the way real ones are, checked for emails that have no account so that they
    cost the same time as those that do."""
    return generate_password_hash(secrets.token_hex(16))


def login(session: Session, email: str, password: str, *, address: str,
          device: Device | None) -> Login:
    """Check a login; see the module's doc for what an outsider can and cannot learn or do."""
    email = (email or "").strip().lower()
    user = session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
    known_device = device is not None and user is not None and device.user_id == user.id
    if not known_device and is_limited(session, LOGIN_BY_ADDRESS, address):
        return Login(None, limited=True, user_id=user.id if user else None)
    # Keyed by the email as typed, so an unknown email locks exactly like a known one.
    where = f"{email}|device:{device.id}" if known_device and device else f"{email}|{address}"
    locked = is_limited(session, LOGIN_LOCKOUT, where)
    right = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if user is not None and right and not locked:
        clear(session, LOGIN_LOCKOUT, where)
        return Login(user, user_id=user.id,
                     device_id=device.id if known_device and device else Device.new_id())
    if not known_device:
        record(session, LOGIN_BY_ADDRESS, address)
    if not locked and record(session, LOGIN_LOCKOUT, where):
        locked = True
        if user is not None:
            # Someone may have the password: end the sessions already open with it.
            end_sessions(session, user)
    return Login(None, user_id=user.id if user else None, locked=locked)

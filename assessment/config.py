"""Configuration: safe development defaults, overridden by the environment, then by tests.

Every environment setting is parsed here, strictly: a value that does not parse stops the start
with one line naming the variable, instead of being read as a default (`true` silently becoming
false) or failing later with a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from flask.cli import NoAppException
from gunicorn.errors import AppImportError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
# A built wheel carries templates/ and question_banks/ inside the package; a checkout (and an
# editable install) keeps them at the top of the repository.
RESOURCE_ROOT = PACKAGE_DIR if (PACKAGE_DIR / "templates").is_dir() else PROJECT_ROOT
# Installed elsewhere, the package's parent is site-packages: writable state must not go there.
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()
DEFAULT_INSTANCE = (
    PROJECT_ROOT / "instance" if IN_CHECKOUT else Path(sys.prefix) / "var" / "assessment-instance"
)

T = TypeVar("T")

TRUE_SPELLINGS = frozenset({"1", "true", "yes", "on"})
FALSE_SPELLINGS = frozenset({"0", "false", "no", "off"})


class ConfigurationError(NoAppException, AppImportError):
    """The app cannot start as configured. A NoAppException, so that `flask` prints the message
    as one line; an AppImportError, so that gunicorn prints it as one line and stops instead of
    logging a traceback per worker."""


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_SPELLINGS:
        return True
    if word in FALSE_SPELLINGS:
        return False
    raise ValueError("expected one of 1/0, true/false, yes/no, on/off")


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError("expected a whole number") from None
        if value < minimum:
            raise ValueError(f"expected a whole number of at least {minimum}")
        return value

    return parse


def parse_base_url(text: str) -> str:
    url = text.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise ValueError("expected an http:// or https:// address")
    return url


def _text(text: str) -> str:
    return text.strip()


def setting(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T) -> T:
    """An unset or empty variable takes the default; anything else must parse."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw)
    except ValueError as error:
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise ConfigurationError(f"{name}={shown!r} is not valid: {error}.") from None


def instance_path(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return setting(env, "INSTANCE_PATH", _text, str(DEFAULT_INSTANCE))


def from_environment(instance_path: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings read from the environment; secrets never have a default outside debug."""
    env = os.environ if env is None else env
    positive = _int_at_least(1)
    reports = PROJECT_ROOT / "reports" if IN_CHECKOUT else Path(instance_path) / "reports"
    idle_minutes = setting(env, "SESSION_IDLE_MINUTES", positive, 30)
    return {
        "SECRET_KEY": setting(env, "SECRET_KEY", _text, None),
        "DATABASE_URL": setting(
            env, "DATABASE_URL", _text, f"sqlite:///{Path(instance_path) / 'assessment.db'}"
        ),
        "BASE_URL": setting(env, "BASE_URL", parse_base_url, "http://127.0.0.1:5000"),
        "BANKS_DIR": setting(env, "BANKS_DIR", _text, str(RESOURCE_ROOT / "question_banks")),
        "REPORTS_DIR": setting(env, "REPORTS_DIR", _text, str(reports)),
        # Uploads (roster CSVs) and form posts are small; anything larger is refused by Flask.
        "MAX_CONTENT_LENGTH": setting(env, "MAX_CONTENT_LENGTH", positive, 2 * 1024 * 1024),
        "COMMENT_MAX_LENGTH": 2000,
        "ROSTER_MAX_ROWS": 20_000,
        "INVITE_MAX_COUNT": 5_000,
        "PAGE_SIZE": 25,
        "SESSION_IDLE_MINUTES": idle_minutes,
        "SESSION_ABSOLUTE_HOURS": setting(env, "SESSION_ABSOLUTE_HOURS", positive, 12),
        "PERMANENT_SESSION_LIFETIME": 60 * idle_minutes,
        # How many reverse proxies set X-Forwarded-For in front of the service (0: none).
        "TRUSTED_PROXIES": setting(env, "TRUSTED_PROXIES", _int_at_least(0), 0),
        "SESSION_COOKIE_NAME": "assessment_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": setting(env, "SESSION_COOKIE_SECURE", parse_bool, False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        # The task queue (see assessment/queue.py): Redis when REDIS_URL is set, so that workers
        # on several machines share the work; otherwise a SQLite file beside the database.
        "REDIS_URL": env.get("REDIS_URL") or None,
        "QUEUE_NAME": env.get("QUEUE_NAME", "assessment"),
        "QUEUE_PATH": env.get("QUEUE_PATH", str(Path(instance_path) / "queue.db")),
        # A running job whose worker has not reported for this long is taken over by another.
        "JOB_LEASE_SECONDS": float(env.get("JOB_LEASE_SECONDS", 60)),
        "JOB_RETRIES": int(env.get("JOB_RETRIES", 2)),
        "JOB_RETRY_DELAY": float(env.get("JOB_RETRY_DELAY", 10)),
        # Email invitations and reminders (services/mail.py).
        **mail_settings(env),
    }


def parse_token_keys(text: str) -> tuple[str, ...]:
    """Fernet keys, comma-separated, newest first: the first encrypts, all of them decrypt."""
    import base64
    import binascii

    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    for number, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            raise ValueError(f"key {number} is not a Fernet key (32 url-safe base64 bytes); "
                             "make one with `flask --app app keys generate`")
    return keys


def parse_sender(text: str) -> str:
    from email.utils import parseaddr

    address = parseaddr(text.strip())[1]
    if "@" not in address or any(c in text for c in "\r\n"):
        raise ValueError("expected an address such as 'Assessment <survey@example.org>'")
    return text.strip()


def mail_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The mail settings, with Flask-Mail's names; with no MAIL_SERVER, messages are written
    to the outbox folder instead of being sent."""
    use_tls = setting(env, "MAIL_USE_TLS", parse_bool, False)
    use_ssl = setting(env, "MAIL_USE_SSL", parse_bool, False)
    if use_tls and use_ssl:
        raise ConfigurationError("MAIL_USE_TLS and MAIL_USE_SSL are both on: choose one "
                                 "(STARTTLS on port 587, or TLS from the start on port 465).")
    return {
        "MAIL_SERVER": setting(env, "MAIL_SERVER", _text, None),
        "MAIL_PORT": setting(env, "MAIL_PORT", _int_at_least(1), 465 if use_ssl else 25),
        "MAIL_USE_TLS": use_tls,
        "MAIL_USE_SSL": use_ssl,
        "MAIL_USERNAME": setting(env, "MAIL_USERNAME", _text, None),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": setting(env, "MAIL_DEFAULT_SENDER", parse_sender,
                                       "Alignment assessment <noreply@localhost>"),
        "MAIL_REPLY_TO": setting(env, "MAIL_REPLY_TO", parse_sender, None),
        "MAIL_RATE_PER_MINUTE": setting(env, "MAIL_RATE_PER_MINUTE", _int_at_least(1), 60),
        "MAIL_TIMEOUT": 30.0,
        # Where messages go when MAIL_SERVER is not set (default: the instance folder's outbox).
        "OUTBOX_DIR": setting(env, "OUTBOX_DIR", _text, None),
        "TOKEN_KEYS": _secret_keys(env),
    }


def _secret_keys(env: Mapping[str, str]) -> tuple[str, ...]:
    """TOKEN_KEYS, refused without echoing it: a key must never reach a log."""
    try:
        return parse_token_keys(env.get("TOKEN_KEYS") or "")
    except ValueError as error:
        raise ConfigurationError(f"TOKEN_KEYS is not valid: {error}.") from None

"""Configuration: safe development defaults, overridden by the environment, then by tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def from_environment(instance_path: str) -> dict[str, Any]:
    """Settings read from the environment; secrets never have a default outside debug."""
    env = os.environ
    return {
        "SECRET_KEY": env.get("SECRET_KEY"),
        "DATABASE_URL": env.get("DATABASE_URL")
        or f"sqlite:///{Path(instance_path) / 'assessment.db'}",
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "BANKS_DIR": env.get("BANKS_DIR", str(PROJECT_ROOT / "question_banks")),
        "REPORTS_DIR": env.get("REPORTS_DIR", str(PROJECT_ROOT / "reports")),
        # Uploads (roster CSVs) and form posts are small; anything larger is refused by Flask.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)),
        "COMMENT_MAX_LENGTH": 2000,
        "ROSTER_MAX_ROWS": 20_000,
        "INVITE_MAX_COUNT": 5_000,
        "PAGE_SIZE": 25,
        "SESSION_IDLE_MINUTES": int(env.get("SESSION_IDLE_MINUTES", 30)),
        "SESSION_ABSOLUTE_HOURS": int(env.get("SESSION_ABSOLUTE_HOURS", 12)),
        "PERMANENT_SESSION_LIFETIME": 60 * int(env.get("SESSION_IDLE_MINUTES", 30)),
        # How many reverse proxies set X-Forwarded-For in front of the service (0: none).
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", 0)),
        "SESSION_COOKIE_NAME": "assessment_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
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
    }

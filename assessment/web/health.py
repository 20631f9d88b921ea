"""Probes for a load balancer or orchestrator: /healthz (the process answers) and /readyz (the
database is reachable and its schema is at the newest migration).

Probes do no session work (no user is loaded, see `auth.enforce_session_timeouts`) and /readyz
reads through one connection in a read transaction, so a probe never waits for a write and
never makes one wait, however often it is called."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from .. import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz() -> ResponseReturnValue:
    from .. import migrations  # Alembic: loaded by the first probe, not by every worker

    try:
        current = migrations.current_revision(db.read_engine())
    except Exception:  # noqa: BLE001 - any failure to reach the database means "not ready"
        log.exception("readiness check: database unreachable")
        return jsonify(status="unavailable", reason="database unreachable"), 503
    head = migrations.head_revision(current_app.config["DATABASE_URL"])
    if current != head:
        return jsonify(status="unavailable", reason="migrations pending",
                       current=current, head=head), 503
    return jsonify(status="ok", revision=current)

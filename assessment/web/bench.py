"""Benchmark-only endpoints, registered only when BENCHMARK_ENDPOINTS=1 (never in production).

`POST /_bench/insert` is the baseline of `bench/load.py`: one row inserted in one transaction
(a `RateLimit` row with a random key, so no schema change is needed), through the same
gunicorn, app, session and connection pool as the survey pages.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from .. import db
from ..models import RateLimit, utcnow

bp = Blueprint("bench", __name__, url_prefix="/_bench")


@bp.route("/insert", methods=["POST"])
def insert() -> ResponseReturnValue:
    session = db.session()
    db.begin_write(session)
    session.add(RateLimit(key=f"bench:{secrets.token_hex(16)}", window_start=utcnow(), count=1))
    session.commit()
    return jsonify(status="ok")

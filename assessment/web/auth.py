"""Logging in and out: hashed passwords, lockout, a rate limit per address, and sessions that
expire after idleness and after an absolute lifetime."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from .. import db
from ..models import User, utcnow
from ..services import security
from . import audit
from .forms import LoginForm

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    dbs = db.session()
    address = request.remote_addr or "unknown"
    if security.is_limited(dbs, security.LOGIN_BY_ADDRESS, address):
        audit.event("login_rate_limited")
        flash("Too many failed logins from your network. Wait ten minutes and try again.",
              "error")
        return render_template("auth/login.html", form=form), 429
    user = dbs.scalar(
        sa.select(User).where(sa.func.lower(User.email) == form.email.data.strip().lower()))
    if user is not None and security.locked_until(user):
        audit.event("login_locked", user_id=user.id)
        flash("This account is locked for 15 minutes after repeated failed logins. "
              "Try again later, or ask an admin.", "error")
        return render_template("auth/login.html", form=form), 429
    if user is None or not user.check_password(form.password.data):
        security.record_failure(dbs, security.LOGIN_BY_ADDRESS, address)
        locked = security.login_failed(dbs, user) if user is not None else False
        audit.event("login_failed", user_id=user.id if user else None, locked=locked)
        flash("This account is now locked for 15 minutes after repeated failed logins."
              if locked else "The email or password is not right.", "error")
        return render_template("auth/login.html", form=form), 401
    security.login_succeeded(dbs, user)
    session.clear()  # a fresh session on login, so a planted session id is useless
    login_user(user)
    session.permanent = True
    now = utcnow().timestamp()
    session["login_at"] = session["seen_at"] = now
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        target = url_for("admin.index")
    return redirect(target)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    return redirect(url_for("admin.index") if current_user.is_authenticated
                    else url_for("auth.login"))


def enforce_session_timeouts():  # type: ignore[no-untyped-def]
    """Log out a session idle for longer than SESSION_IDLE_MINUTES or older than
    SESSION_ABSOLUTE_HOURS, checked on the server (the cookie's own expiry is the browser's).

    Probes and static files skip it: they need no user, and loading one is a database read."""
    if request.blueprint in ("api", "health") or request.endpoint == "static":
        return None
    if not current_user.is_authenticated:
        return None
    now = utcnow().timestamp()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"]).total_seconds()
    absolute = timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"]).total_seconds()
    if (now - session.get("seen_at", 0) > idle) or (now - session.get("login_at", 0) > absolute):
        audit.event("session_expired", user_id=current_user.id)
        logout_user()
        session.clear()
        flash("Your session has expired. Please log in again.", "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    session["seen_at"] = now
    return None

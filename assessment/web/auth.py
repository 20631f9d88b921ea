"""Logging in and out: the login form over `security.login`, the "known device" cookie, real
logout, and sessions that expire after idleness and after an absolute lifetime."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from .. import db
from ..models import User, utcnow
from ..services import security
from . import audit
from .forms import LoginForm

bp = Blueprint("auth", __name__)

SESSION_VERSION = "sv"
# Blueprints whose pages never use a login: no user is loaded for them.
NO_LOGIN_BLUEPRINTS = frozenset({"api", "health", "survey"})
DEVICE_COOKIE = "assessment_device"
DEVICE_LIFETIME = timedelta(days=90)


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def _device() -> security.Device | None:
    """The signed "known device" cookie of this browser, if it has one that is still valid."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        data: Any = _devices().loads(raw, max_age=int(DEVICE_LIFETIME.total_seconds()))
        return security.Device(int(data["u"]), str(data["d"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    result = security.login(db.session(), form.email.data, form.password.data,
                            address=request.remote_addr or "unknown", device=_device())
    if result.user is None or result.device_id is None:
        audit.event(result.audit_event or "login_failed", user_id=result.user_id)
        flash(result.message or security.REFUSED, "error")
        return render_template("auth/login.html", form=form), result.status
    _start_session(result.user)
    response = redirect(security.safe_next(request.args.get("next"))
                        or url_for("admin.index"))
    _remember_device(response, result.user, result.device_id)
    return response


def _start_session(user: User) -> None:
    session.clear()  # a fresh session on login, so a planted session id is useless
    login_user(user)
    session.permanent = True
    now = utcnow().timestamp()
    session["login_at"] = session["seen_at"] = now
    session[SESSION_VERSION] = user.session_version


def _remember_device(response: Response, user: User, device_id: str) -> None:
    cookie = _devices().dumps({"u": user.id, "d": device_id})
    response.set_cookie(DEVICE_COOKIE, cookie, max_age=int(DEVICE_LIFETIME.total_seconds()),
                        path=url_for("auth.login"), httponly=True, samesite="Strict",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    """Ends every session of the person, not only this cookie: a copy of it taken earlier (from
    a shared computer, a proxy log) is refused from now on."""
    security.end_sessions(db.session(), current_user)
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("admin.index") if current_user.is_authenticated
                    else url_for("auth.login"))


def load_user(user_id: str) -> User | None:
    """The user of a session, if the session is still theirs: one whose version no longer
    matches was ended by a logout, a new password or a lockout."""
    user = db.session().get(User, int(user_id)) if user_id.isdigit() else None
    if user is not None and session.get(SESSION_VERSION) != user.session_version:
        audit.event("session_ended", user_id=user.id)
        return None
    return user


def enforce_session_timeouts() -> ResponseReturnValue | None:
    """Log out a session idle for longer than SESSION_IDLE_MINUTES or older than
    SESSION_ABSOLUTE_HOURS, checked on the server (the cookie's own expiry is the browser's).

    Probes, static files and respondents' pages skip it: they need no user, and loading one is
    a database read (and, for a session that holds only a form token, rewrites the cookie)."""
    if request.blueprint in NO_LOGIN_BLUEPRINTS or request.endpoint == "static":
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

"""A person's own account settings: the API tokens they use to read results from other tools."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from .. import db
from ..models import utcnow
from ..services import api_tokens
from ..services.errors import ServiceError

bp = Blueprint("account", __name__, url_prefix="/account")


class TokenForm(FlaskForm):
    name = StringField(
        "Name", description="What the token is for, e.g. “Power BI refresh”.",
        validators=[DataRequired(), Length(max=api_tokens.NAME_MAX)])
    can_write = BooleanField(
        "May change actions and targets",
        description="Off: the token only reads. On: it may also create and change actions and "
                    "targets of the assessments you may read.")
    submit = SubmitField("Create token")


class RevokeForm(FlaskForm):
    """Revoke one token: the token is in the URL, the form only carries CSRF."""


def _render(form: TokenForm, *, new_token: str | None = None,
            code: int = 200) -> ResponseReturnValue:
    tokens = api_tokens.tokens_of(db.session(), current_user)
    return render_template("account/tokens.html", form=form, tokens=tokens,
                           revoke_form=RevokeForm(formdata=None), new_token=new_token), code


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> ResponseReturnValue:
    """List and create. A new token is rendered in the POST's own response (no redirect), so
    it never passes through the session cookie or the flash store; `no-store` keeps it out of
    the browser cache."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            _, clear = api_tokens.create(db.session(), current_user, form.name.data,
                                         can_write=bool(form.can_write.data))
        except ServiceError as exc:
            flash(str(exc), "error")
            return _render(form, code=422)
        return _render(TokenForm(formdata=None), new_token=clear)
    return _render(form, code=422 if request.method == "POST" else 200)


@bp.route("/tokens/<int(max=2147483647):token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int) -> ResponseReturnValue:
    if not RevokeForm().validate_on_submit():
        abort(400)
    token = api_tokens.revoke(db.session(), token_id, actor=current_user)
    flash(f"The token “{token.name}” is revoked; programs using it can no longer read the API.",
          "info")
    return redirect(url_for("account.tokens"))


def _session_timeout() -> dict[str, Any] | None:
    """How long the session has left, for the page's warning before it ends (WCAG 2.2.1)."""
    if (not has_request_context() or request.blueprint == "survey" or current_user is None
            or not current_user.is_authenticated or "login_at" not in session):
        return None  # reports rendered by the CLI have no session
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    hours = current_app.config["SESSION_ABSOLUTE_HOURS"]
    left = session["login_at"] + hours * 3600 - utcnow().timestamp()
    return {"idle_seconds": int(idle), "idle_minutes": f"{idle / 60:g}",
            "absolute_hours": hours, "absolute_seconds_left": max(int(left), 0)}


@bp.app_context_processor
def session_timeout_context() -> dict[str, Any]:
    return {"session_timeout": _session_timeout()}


@bp.route("/session", methods=["POST"])
@login_required
def extend_session() -> ResponseReturnValue:
    """"Stay logged in": the request itself renews the idle timer (every request does); this
    answers how long the session has left. A session past its limit never gets here: it is
    logged out on the way in, and the page's script reads that as the end."""
    return jsonify(_session_timeout())

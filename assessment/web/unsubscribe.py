"""Opting out of reminders at /unsubscribe/<token>, without logging in.

A mail program may POST `List-Unsubscribe=One-Click` to the address in the `List-Unsubscribe`
header (RFC 8058): that POST carries no CSRF token and is accepted on the signed token alone,
since all it can do is stop email to that one person. Any other POST is the confirmation form
and needs its CSRF token; a GET only shows that form (link scanners open links).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from .. import db
from ..services import mail
from ..services.errors import NotFound
from . import csrf

bp = Blueprint("unsubscribe", __name__, url_prefix="/unsubscribe")
ONE_CLICK = "One-Click"


@bp.route("/<token>", methods=["GET"])
def confirm(token: str) -> ResponseReturnValue:
    try:
        invitation = mail.invitation_for_unsubscribe(db.session(), token)
    except NotFound:
        abort(404)
    return render_template("survey/unsubscribe.html", token=token, done=False,
                           name=invitation.assessment.name,
                           already=invitation.unsubscribed_on is not None)


@bp.route("/<token>", methods=["POST"])
@csrf.exempt
def unsubscribe(token: str) -> ResponseReturnValue:
    if request.form.get("List-Unsubscribe") != ONE_CLICK:
        try:
            validate_csrf(request.form.get("csrf_token", ""))
        except ValidationError as exc:
            raise CSRFError(str(exc)) from None
    try:
        invitation = mail.unsubscribe(db.session(), token)
    except NotFound:
        abort(404)
    return render_template("survey/unsubscribe.html", token=token, done=True,
                           name=invitation.assessment.name, already=True)

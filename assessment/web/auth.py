"""Logging in and out (Flask-Login, hashed passwords)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from .. import db
from ..models import User
from .forms import LoginForm

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session().scalar(
            sa.select(User).where(sa.func.lower(User.email) == form.email.data.strip().lower())
        )
        if user is None or not user.check_password(form.password.data):
            log.warning("login failed")
            flash("The email or password is not right.", "error")
            return render_template("auth/login.html", form=form), 401
        session.clear()  # a fresh session on login, so a planted session id is useless
        login_user(user)
        target = request.args.get("next", "")
        if not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
            target = url_for("admin.index")
        return redirect(target)
    return render_template("auth/login.html", form=form)


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

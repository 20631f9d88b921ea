"""The respondent's pages at /s/<token>: introduction, one page per dimension, review, submit.

Works without JavaScript; every post carries a CSRF token; answers are saved on every page, so
opening the link again resumes where the person left.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from .. import db
from ..banks import Bank
from ..services import security
from ..services import survey as svc
from ..services.errors import Conflict, InvalidInput, NotFound
from . import audit

T = TypeVar("T")
bp = Blueprint("survey", __name__, url_prefix="/s")

FIELD_PREFIX = "q-"


def _unknown_link() -> NoReturn:
    """A link that matches no invitation. Unknown links are counted per address, and an
    address that keeps guessing gets 429 for a while; a working link always works, so
    colleagues behind one office address are never locked out by someone's mistyped links."""
    session = db.session()
    session.rollback()  # a write request may have begun its write transaction
    address = request.remote_addr or "unknown"
    if security.is_limited(session, security.LINK_BY_ADDRESS, address):
        audit.event("link_rate_limited")
        abort(429)
    security.record(session, security.LINK_BY_ADDRESS, address)
    audit.event("unknown_link")
    abort(404)


def _load(token: str) -> svc.Survey:
    """The survey behind a link, read without a lock (pages that only show it)."""
    try:
        return svc.load(db.session(), token)
    except svc.UnknownLink:
        _unknown_link()


def _gate(survey: svc.Survey) -> tuple[str, int] | None:
    """The page to show instead of the survey when it cannot be answered, or None."""
    if survey.submitted:
        return render_template("survey/used.html"), 200
    if not survey.assessment.is_accepting():
        return render_template("survey/closed.html"), 200
    return None


def _open(token: str) -> svc.Survey:
    """The survey behind a link that can be answered now; otherwise its polite page."""
    survey = _load(token)
    blocked = _gate(survey)
    if blocked:
        abort(make_response(*blocked))
    return survey


def _call(fn: Callable[..., T], token: str, *args: Any, **kwargs: Any) -> T:
    """Run a write. The service reads the invitation once, under its lock, so a post is not
    read first without one: a link that is unknown is counted as the pages count it, and one
    that was used or closed (before or meanwhile) gets its polite page with 409."""
    try:
        return fn(db.session(), token, *args, **kwargs)
    except svc.UnknownLink:
        _unknown_link()
    except NotFound:
        db.session().rollback()
        abort(404)
    except svc.AlreadySubmitted:
        db.session().rollback()
        abort(make_response(render_template("survey/used.html"), 409))
    except svc.NotAccepting:
        db.session().rollback()
        abort(make_response(render_template("survey/closed.html"), 409))


@bp.route("/<token>")
def intro(token: str) -> ResponseReturnValue:
    survey = _open(token)
    team, role = svc.group_names(db.session(), survey.invitation)
    return render_template("survey/intro.html", survey=survey, token=token, team=team, role=role)


@bp.route("/<token>/start", methods=["POST"])
def start(token: str) -> ResponseReturnValue:
    survey = _call(svc.start, token)
    page = survey.response.current_page if survey.response else 1
    if page > survey.pages:
        return redirect(url_for("survey.review", token=token))
    return redirect(url_for("survey.page", token=token, number=page))


@bp.route("/<token>/p/<int:number>", methods=["GET", "POST"])
def page(token: str, number: int) -> ResponseReturnValue:
    if request.method == "POST":
        return _save(token, number)
    survey = _open(token)
    if not 1 <= number <= survey.pages:
        abort(404)
    if survey.response is None:
        # Reached a page without pressing "start" (a bookmark): start now.
        survey = _call(svc.start, token)
    stored, comments = svc.stored(db.session(), survey.response)
    answers = {q: (svc.DONT_KNOW if v is None else str(int(v))) for q, v in stored.items()}
    return _render_page(survey, token, number, answers,
                        comments.get(survey.dimension(number).id, ""))


def _save(token: str, number: int) -> ResponseReturnValue:
    posted = {k[len(FIELD_PREFIX):]: v for k, v in request.form.items()
              if k.startswith(FIELD_PREFIX)}
    comment = request.form.get("comment")
    try:
        survey = _call(svc.save_page, token, number, posted, comment,
                       comment_max=current_app.config["COMMENT_MAX_LENGTH"])
    except InvalidInput as exc:
        # Nothing was saved: show the page again with what was posted and why it was refused.
        survey = _load(token)
        return _render_page(survey, token, number, posted, comment or "",
                            exc.problems, exc.fields), 422
    nav = request.form.get("nav", "next")
    if nav == "back" and number > 1:
        return redirect(url_for("survey.page", token=token, number=number - 1))
    if nav == "review" or number == survey.pages:
        return redirect(url_for("survey.review", token=token))
    return redirect(url_for("survey.page", token=token, number=number + 1))


def _render_page(survey: svc.Survey, token: str, number: int, answers: dict[str, str],
                 comment: str, errors: list[str] | None = None,
                 field_errors: dict[str, str] | None = None) -> str:
    field_errors = field_errors or {}
    return render_template(
        "survey/page.html", survey=survey, token=token, number=number,
        dimension=survey.dimension(number),
        questions=list(enumerate(survey.questions(number), start=1)),
        radios=functools.partial(_radios, survey.bank), answers=answers, comment=comment,
        errors=errors or [], field_errors=field_errors,
        error_targets={message: field for field, message in field_errors.items()},
        prefix=FIELD_PREFIX, comment_max=current_app.config["COMMENT_MAX_LENGTH"],
    )


_fragments: dict[tuple[int, str, str | None, bool], tuple[Bank, Markup]] = {}


def _radios(bank: Bank, question_id: str, current: str | None, problem: str | None) -> Markup:
    """One question's radio group, from the `radios` macro, kept per bank, question, checked
    value and error state: a page of ten questions renders ten fragments it has seen before.
    Only offered values are kept (a refused post may carry anything; that is rendered afresh)."""
    choices = svc.options(bank)
    key = (id(bank), question_id, current, bool(problem))
    found = _fragments.get(key)
    if found is not None and found[0] is bank:
        return found[1]
    macro = current_app.jinja_env.get_template("survey/_options.html").module.radios  # type: ignore[attr-defined]
    html = Markup(macro(FIELD_PREFIX + question_id, choices, bank.scale.not_applicable,
                        current, bool(problem)))
    if current is None or current == svc.DONT_KNOW or any(current == v for v, _ in choices):
        _fragments[key] = (bank, html)
    return html


@bp.route("/<token>/review")
def review(token: str) -> ResponseReturnValue:
    survey = _open(token)
    answers, comments = svc.stored(db.session(), survey.response)
    unanswered = sum(1 for q in survey.bank.questions if q.id not in answers)
    return render_template("survey/review.html", survey=survey, token=token, answers=answers,
                           comments=comments, unanswered=unanswered)


@bp.route("/<token>/submit", methods=["POST"])
def submit(token: str) -> ResponseReturnValue:
    try:
        survey = _call(svc.submit, token)
    except Conflict:
        db.session().rollback()
        return redirect(url_for("survey.page", token=token, number=1))
    if survey.assessment.interim_releases:
        # A worker decides whether the rule allows a release now; the person does not wait.
        from ..services import releases

        releases.request(db.session(), survey.assessment)
    # The thank-you page carries no token: nothing after submission points back to the link.
    return redirect(url_for("survey.thanks"))


@bp.route("/thanks")
def thanks() -> ResponseReturnValue:
    return render_template("survey/thanks.html")

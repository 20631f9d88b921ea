"""The respondent's pages at /s/<token>: introduction, one page per dimension, review, submit.

Works without JavaScript; every post carries a CSRF token; answers are saved on every page, so
opening the link again resumes where the person left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

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

from .. import db
from ..services import security
from ..services import survey as svc
from ..services.errors import Conflict, InvalidInput, NotFound
from . import audit

T = TypeVar("T")
bp = Blueprint("survey", __name__, url_prefix="/s")

FIELD_PREFIX = "q-"


def _load(token: str) -> svc.Survey:
    """The survey behind a link. Unknown links are counted per address, and an address that
    keeps guessing gets 429 for a while; a working link always works, so colleagues behind one
    office address are never locked out by someone's mistyped links."""
    session = db.session()
    address = request.remote_addr or "unknown"
    try:
        return svc.load(session, token)
    except NotFound:
        if security.is_limited(session, security.LINK_BY_ADDRESS, address):
            audit.event("link_rate_limited")
            abort(429)
        security.record(session, security.LINK_BY_ADDRESS, address)
        audit.event("unknown_link")
        abort(404)


def _gate(survey: svc.Survey) -> tuple[str, int] | None:
    """The page to show instead of the survey when it cannot be answered, or None.

    A post to a used or closed link is a conflict (409); merely looking at one is not."""
    code = 409 if request.method == "POST" else 200
    if survey.submitted:
        return render_template("survey/used.html"), code
    if not survey.assessment.is_accepting():
        return render_template("survey/closed.html"), code
    return None


def _open(token: str) -> svc.Survey:
    """The survey behind a link that can be answered now; otherwise its polite page."""
    survey = _load(token)
    blocked = _gate(survey)
    if blocked:
        abort(make_response(*blocked))
    return survey


@bp.route("/<token>")
def intro(token: str) -> ResponseReturnValue:
    survey = _open(token)
    return render_template("survey/intro.html", survey=survey, token=token)


@bp.route("/<token>/start", methods=["POST"])
def start(token: str) -> ResponseReturnValue:
    survey = _open(token)
    survey = _call(svc.start, token)
    page = survey.response.current_page if survey.response else 1
    if page > survey.pages:
        return redirect(url_for("survey.review", token=token))
    return redirect(url_for("survey.page", token=token, number=page))


def _call(fn: Callable[..., T], token: str, *args: Any, **kwargs: Any) -> T:
    """Run a write; a link that was used or closed meanwhile gets its polite page (409)."""
    try:
        return fn(db.session(), token, *args, **kwargs)
    except NotFound:
        abort(404)
    except svc.AlreadySubmitted:
        db.session().rollback()
        abort(make_response(render_template("survey/used.html"), 409))
    except svc.NotAccepting:
        db.session().rollback()
        abort(make_response(render_template("survey/closed.html"), 409))


@bp.route("/<token>/p/<int:number>", methods=["GET", "POST"])
def page(token: str, number: int) -> ResponseReturnValue:
    survey = _open(token)
    if not 1 <= number <= survey.pages:
        abort(404)
    session = db.session()
    errors: list[str] = []
    field_errors: dict[str, str] = {}
    if request.method == "POST":
        posted = {k[len(FIELD_PREFIX):]: v for k, v in request.form.items()
                  if k.startswith(FIELD_PREFIX)}
        try:
            _call(svc.save_page, token, number, posted, request.form.get("comment"),
                  comment_max=current_app.config["COMMENT_MAX_LENGTH"])
        except InvalidInput as exc:
            errors, field_errors = exc.problems, exc.fields
        else:
            nav = request.form.get("nav", "next")
            if nav == "back" and number > 1:
                return redirect(url_for("survey.page", token=token, number=number - 1))
            if nav == "review" or number == survey.pages:
                return redirect(url_for("survey.review", token=token))
            return redirect(url_for("survey.page", token=token, number=number + 1))
        answers = posted
        comment = request.form.get("comment", "")
    else:
        if survey.response is None:
            # Reached a page without pressing "start" (a bookmark): start now.
            survey = _call(svc.start, token)
        stored = svc.stored_answers(session, survey.response)
        answers = {q: (svc.DONT_KNOW if v is None else str(int(v))) for q, v in stored.items()}
        comment = svc.stored_comments(session, survey.response).get(
            survey.dimension(number).id, "")
    return render_template(
        "survey/page.html", survey=survey, token=token, number=number,
        dimension=survey.dimension(number), questions=survey.questions(number),
        answers=answers, comment=comment, errors=errors, field_errors=field_errors,
        error_targets={message: field for field, message in field_errors.items()},
        prefix=FIELD_PREFIX,
        comment_max=current_app.config["COMMENT_MAX_LENGTH"],
    ), (422 if errors else 200)


@bp.route("/<token>/review")
def review(token: str) -> ResponseReturnValue:
    survey = _open(token)
    session = db.session()
    answers = svc.stored_answers(session, survey.response)
    comments = svc.stored_comments(session, survey.response)
    unanswered = sum(1 for q in survey.bank.questions if q.id not in answers)
    return render_template("survey/review.html", survey=survey, token=token, answers=answers,
                           comments=comments, unanswered=unanswered)


@bp.route("/<token>/submit", methods=["POST"])
def submit(token: str) -> ResponseReturnValue:
    survey = _open(token)
    try:
        _call(svc.submit, token)
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

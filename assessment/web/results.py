"""What leads read: the results pages of an assessment, drawn from its latest release.

Every view loads the assessment through `access.readable_assessment`, so a lead reaches only what
is shared with them; everything shown comes from the release (an analysis frozen when it was
made, with the groups below the assessment's minimum size suppressed) or from live progress
shown in bands, so that pages read at two moments cannot be compared into one person's answers.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from .. import db
from ..reporting.formats import FORMATS, LABELS
from ..services import access, releases, security, stored
from ..services import actions as actions_svc
from ..services import results as results_svc
from ..services.banks import bank_of
from ..services.errors import Conflict
from . import audit
from .forms import StatusForm

bp = Blueprint("results", __name__, url_prefix="/results")

PAGES = [
    ("overview", "Overview"),
    ("dimensions", "Dimensions"),
    ("heatmap", "Heatmap"),
    ("divergence", "Divergence"),
    ("recommendations", "Recommendations"),
    ("comments", "Comments"),
    ("readiness", "Readiness"),
    ("actions", "Actions"),
    ("targets", "Targets"),
]


MAX_PAGE = 1_000_000
_charts: OrderedDict[tuple[Any, ...], dict[str, dict[str, Any]]] = OrderedDict()
_charts_lock = threading.Lock()
CHART_CACHE_SIZE = 32  # releases whose charts a process keeps


def release_charts(ctx: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The release's charts, drawn by the job that made it and stored with it; kept per process
    (they never change) so a page reads the stored copy once. A release made before charts
    were stored has none: its charts are drawn here, once."""
    release = ctx["res"].release
    key = (ctx["a"].id, release.id, release.released_at)
    with _charts_lock:
        if key in _charts:
            _charts.move_to_end(key)
            return _charts[key]
    found = stored.get(db.session(), release.id, stored.CHARTS)
    db.session().commit()
    drawn: dict[str, dict[str, Any]]
    if found is not None:
        drawn = stored.loads(found.content)
    else:
        from ..reporting.prepared import page_charts

        drawn = page_charts(ctx["r"], ctx["bank"])
    with _charts_lock:
        _charts[key] = drawn
        while len(_charts) > CHART_CACHE_SIZE:
            _charts.popitem(last=False)
    return drawn


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= MAX_PAGE:  # an offset the database could not take: the first page
        page = 1
    size = current_app.config["PAGE_SIZE"]
    rows = db.session().scalars(
        access.visible_assessments(current_user).limit(size + 1).offset((page - 1) * size)
    ).all()
    return render_template("results/index.html", assessments=rows[:size], page=page,
                           more=len(rows) > size)


def with_results(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Load the assessment the user may read and its (stored) analysis, or 404."""

    @functools.wraps(view)
    @login_required
    def wrapped(assessment_id: int, **kwargs: Any) -> ResponseReturnValue:
        session = db.session()
        assessment = access.readable_assessment(session, current_user, assessment_id)
        res = results_svc.results(session, assessment)
        bank = bank_of(assessment.bank)
        release = res.release
        variant = stored.variant(session, assessment, current_user) if release else ""
        context = {
            "a": assessment, "res": res, "r": res.analysis, "bank": bank, "pages": PAGES,
            "progress": results_svc.progress(session, assessment, res.release),
            "dim_titles": {d.id: d.title for d in bank.dimensions},
            "questions": {q.id: q.text for q in bank.questions},
            "refresh_form": StatusForm(),
            "variant": variant,
            "downloads": _downloads(session, release, variant) if release else [],
        }
        context.update(actions_svc.page_context(session, assessment, res.analysis, bank,
                                                current_user))
        # End the read transaction before charts are drawn: on SQLite every transaction holds
        # the write lock, and respondents' saves must not wait for a dashboard.
        session.commit()
        if res.analysis is None:
            return render_template("results/empty.html", active=view.__name__, **context)
        return view(context, **kwargs)

    return wrapped


def _downloads(session, release, view: str) -> list[tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    """(format, label, ready) of each report download of the release for this reader."""
    done = stored.ready(session, release.id, view)
    return [(fmt, LABELS[fmt], fmt in done) for fmt in FORMATS if fmt != "html"]


@bp.route("/<int:assessment_id>/")
@with_results
def overview(ctx: dict[str, Any]) -> ResponseReturnValue:
    session = db.session()
    rates, submitted, invited = results_svc.response_rates(ctx["res"].release)
    comparison, trend, comparing = None, None, None
    if stored.needs_view(ctx["a"]):
        release = ctx["res"].release
        found = stored.get(session, release.id, stored.VIEW, ctx["variant"])
        if found is not None:
            view = stored.loads(found.content)
            comparison, trend = view["comparison"], view["trend_chart"]
        else:  # not built for this reader's cycles yet (sharing changed): ask for it
            comparing = stored.request_build(session, ctx["a"], release, stored.VIEW,
                                             ctx["variant"])
    session.commit()
    return render_template("results/overview.html", active="overview", rates=rates,
                           submitted=submitted, invited=invited, comparison=comparison,
                           trend=trend, comparing=comparing, **ctx)


@bp.route("/<int:assessment_id>/dimensions")
@with_results
def dimensions(ctx: dict[str, Any]) -> ResponseReturnValue:
    drawn = release_charts(ctx)
    per_dimension = [(d, drawn[f"dist:{d}"], drawn[f"agreement:{d}"])
                     for d in ctx["r"].dimensions]
    return render_template("results/dimensions.html", active="dimensions", lens=drawn["lens"],
                           per_dimension=per_dimension, **ctx)


@bp.route("/<int:assessment_id>/heatmap")
@with_results
def heatmap(ctx: dict[str, Any]) -> ResponseReturnValue:
    by = "rwg_mean" if request.args.get("by") == "agreement" else "score"
    return render_template("results/heatmap.html", active="heatmap",
                           heat=release_charts(ctx)[f"heatmap:{by}"], by=by, **ctx)


@bp.route("/<int:assessment_id>/divergence")
@with_results
def divergence(ctx: dict[str, Any]) -> ResponseReturnValue:
    return render_template("results/divergence.html", active="divergence",
                           cluster_chart=release_charts(ctx)["clusters"], **ctx)


@bp.route("/<int:assessment_id>/recommendations")
@with_results
def recommendations(ctx: dict[str, Any]) -> ResponseReturnValue:
    return render_template("results/recommendations.html", active="recommendations", **ctx)


@bp.route("/<int:assessment_id>/comments")
@with_results
def comments(ctx: dict[str, Any]) -> ResponseReturnValue:
    shown, threshold = results_svc.visible_comments(ctx["res"].release)
    return render_template("results/comments.html", active="comments", shown=shown,
                           threshold=threshold, **ctx)


@bp.route("/<int:assessment_id>/readiness")
@with_results
def readiness(ctx: dict[str, Any]) -> ResponseReturnValue:
    return render_template("results/readiness.html", active="readiness", **ctx)


@bp.route("/<int:assessment_id>/release", methods=["POST"])
@login_required
def release(assessment_id: int) -> ResponseReturnValue:
    """An admin releases what has arrived since the last release, when the rule allows it."""
    session = db.session()
    assessment = access.readable_assessment(session, current_user, assessment_id)
    if not current_user.is_admin:
        abort(403)
    if not StatusForm().validate_on_submit():
        abort(400)
    if not security.use(session, security.RECOMPUTE_BY_USER, str(current_user.id)):
        audit.event("release_limited", user_id=current_user.id)
        message = ("You have asked for a release five times in the last ten minutes; wait a few "
                   "minutes before asking again.")
        return render_template("errors/error.html", code=429, message=message), 429
    made = releases.begin(session, assessment, "manual")
    flash(f"Release {made.seq} is being prepared; it appears here in a moment.", "info")
    return redirect(url_for("results.overview", assessment_id=assessment_id))


@bp.errorhandler(Conflict)
def conflict(exc: Conflict) -> ResponseReturnValue:
    """A request the assessment's state refuses (a release not allowed yet): said on the
    assessment's results page, where the person came from."""
    db.session().rollback()
    flash(str(exc), "error")
    assessment_id = (request.view_args or {}).get("assessment_id")
    return redirect(url_for("results.overview", assessment_id=assessment_id)
                    if assessment_id is not None else url_for("results.index"))

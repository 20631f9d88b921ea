"""Targets and actions on the results pages, and the calendar feed of due dates.

The pages sit on the results blueprint behind `with_results`, so they have the results pages'
access rule (admins and the leads the assessment is shared with; anyone else gets 404) and
layout. The calendar feed is public but secret: its URL carries a token whose hash is stored,
and a lead can revoke it at any time (which makes a new one).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from .. import db
from ..banks.model import LENSES
from ..models import Action, ActionStatus, utcnow
from ..services import actions as svc
from ..services import stored
from ..services.errors import InvalidInput, NotFound
from .results import bp, with_results

calendar_bp = Blueprint("calendar", __name__, url_prefix="/calendar")

MAX_PAGE = 1_000_000


class CheckboxesField(SelectMultipleField):  # type: ignore[misc]  # wtforms is untyped
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ActionForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=svc.TITLE_MAX)])
    description = TextAreaField(
        "What will change", validators=[Optional(), Length(max=svc.DESCRIPTION_MAX)],
        description="What will be different when this is done, in a sentence or two.")
    owner = StringField("Owner", validators=[DataRequired(), Length(max=svc.OWNER_MAX)],
                        description="A name or an email; the owner needs no account.")
    due = DateField("Due", validators=[DataRequired(message="Give a date.")])
    status = SelectField("Status", choices=[SelectChoice(s.value, svc.STATUS_LABELS[s])
                                            for s in ActionStatus])
    dimension = SelectField("Dimension it addresses", validators=[DataRequired()])
    lens = SelectField("Lens", choices=[SelectChoice("", "Both lenses"), *(
        SelectChoice(lens, svc.LENS_LABELS[lens]) for lens in LENSES)])
    statements = CheckboxesField("Statements it addresses (optional)", choices=[])
    teams = CheckboxesField("Teams it concerns (optional)", choices=[],
                            description="Only teams shown in the released results.")
    recommendation = HiddenField()
    submit = SubmitField("Save action")


class FeedForm(FlaskForm):
    """Make or revoke the calendar link: only CSRF."""


class TargetRowForm(Form):  # type: ignore[misc]  # wtforms is untyped
    value = DecimalField(validators=[Optional(), NumberRange(min=0, max=100,
                                                             message="From 0 to 100.")])


def _action_form(ctx: dict[str, Any], action: Action | None = None,
                 data: dict[str, Any] | None = None) -> ActionForm:
    form = ActionForm(obj=action, data=data) if request.method == "GET" else ActionForm()
    if action is not None and request.method == "GET":
        form.status.data = action.status.value
        form.lens.data = action.lens or ""
    bank = ctx["bank"]
    form.dimension.choices = [SelectChoice(d.id, d.title) for d in bank.dimensions]
    form.statements.choices = [SelectChoice(q.id, f"{q.id}: {q.text}") for q in bank.questions]
    session = db.session()
    allowed = svc.nameable_teams(session, ctx["a"])
    kept = list(action.teams) if action else []
    form.teams.choices = [SelectChoice(t, t) for t in dict.fromkeys([*allowed, *kept])]
    return form


def _form_data(form: ActionForm) -> dict[str, Any]:
    return {"title": form.title.data, "description": form.description.data or "",
            "owner": form.owner.data, "due": form.due.data, "status": form.status.data,
            "dimension": form.dimension.data, "lens": form.lens.data or None,
            "recommendation": form.recommendation.data or None,
            "statements": form.statements.data or [], "teams": form.teams.data or []}


def _mark(form: FlaskForm, exc: InvalidInput) -> None:
    for name, problem in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, problem]


def _comparison_change(ctx: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """The stored comparison with the previous cycle for this reader, and whether it is still
    being prepared (it is asked for then)."""
    if not stored.needs_view(ctx["a"]):
        return None, False
    session = db.session()
    release = ctx["res"].release
    found = stored.get(session, release.id, stored.VIEW, ctx["variant"])
    if found is None:
        stored.request_build(session, ctx["a"], release, stored.VIEW, ctx["variant"])
        return None, True
    view = stored.loads(found.content)
    comparison = view.get("comparison") or {}
    return comparison.get("change"), False


@bp.route("/<int:assessment_id>/actions")
@with_results
def actions(ctx: dict[str, Any]) -> ResponseReturnValue:
    return _actions_page(ctx)


def _actions_page(ctx: dict[str, Any], new_feed: str | None = None) -> ResponseReturnValue:
    session = db.session()
    status = request.args.get("status") or None
    dimension = request.args.get("dimension") or None
    if status not in {s.value for s in ActionStatus} | {None}:
        status = None
    if dimension not in {d.id for d in ctx["bank"].dimensions} | {None}:
        dimension = None
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= MAX_PAGE:
        page = 1
    size = current_app.config["PAGE_SIZE"]
    stmt = svc.actions_select([ctx["a"].id], status, dimension)
    total = svc.count(session, stmt)
    rows = session.scalars(stmt.limit(size).offset((page - 1) * size)).all()
    change, comparing = _comparison_change(ctx)
    feed = svc.feed(session, ctx["a"])
    session.commit()
    return render_template(
        "results/actions.html", active="actions", rows=rows, total=total, page=page,
        pages_total=max(1, -(-total // size)), status=status, dimension=dimension,
        statuses=svc.STATUS_LABELS, today=utcnow().date(), is_overdue=svc.is_overdue,
        change=change, comparing=comparing, feed=feed,
        new_feed=new_feed, feed_form=FeedForm(), **ctx)


@bp.route("/<int:assessment_id>/actions/new", methods=["GET", "POST"])
@with_results
def new_action(ctx: dict[str, Any]) -> ResponseReturnValue:
    session = db.session()
    data: dict[str, Any] = {"owner": current_user.email,
                            "due": utcnow().date() + timedelta(days=svc.DEFAULT_DUE_DAYS)}
    recommendation = request.args.get("recommendation")
    if recommendation:
        prefill = svc.from_recommendation(ctx["r"], recommendation,
                                          request.args.get("dimension") or None,
                                          svc.nameable_teams(session, ctx["a"]),
                                          current_user.email)
        if prefill is None:
            abort(404)
        data = prefill
    form = _action_form(ctx, data=data)
    if form.validate_on_submit():
        try:
            action = svc.create(session, ctx["a"], _form_data(form), svc.actor_of(current_user))
        except InvalidInput as exc:
            _mark(form, exc)
        else:
            flash(f"Action “{action.title}” saved.", "info")
            return redirect(url_for("results.action", assessment_id=ctx["a"].id,
                                    action_id=action.id))
    session.commit()
    code = 422 if request.method == "POST" else 200
    return render_template("results/actions_form.html", active="actions", form=form,
                           action=None, **ctx), code


@bp.route("/<int:assessment_id>/actions/<int:action_id>", methods=["GET", "POST"])
@with_results
def action(ctx: dict[str, Any], action_id: int) -> ResponseReturnValue:
    session = db.session()
    try:
        found = svc.action_for(session, current_user, action_id, ctx["a"].id)
    except NotFound:
        abort(404)
    form = _action_form(ctx, found)
    if form.validate_on_submit():
        try:
            svc.update(session, found, _form_data(form), svc.actor_of(current_user))
        except InvalidInput as exc:
            _mark(form, exc)
        else:
            flash("Action saved.", "info")
            return redirect(url_for("results.action", assessment_id=ctx["a"].id,
                                    action_id=action_id))
    events = svc.history(session, found)
    session.commit()
    code = 422 if request.method == "POST" else 200
    return render_template("results/actions_form.html", active="actions", form=form,
                           action=found, events=events, overdue=svc.is_overdue(found),
                           **ctx), code


@bp.route("/<int:assessment_id>/actions/calendar", methods=["POST"])
@with_results
def action_feed(ctx: dict[str, Any]) -> ResponseReturnValue:
    """Make the calendar link, or revoke it by making a new one; shown once, on this page."""
    if not FeedForm().validate_on_submit():
        abort(400)
    clear = svc.new_feed(db.session(), ctx["a"])
    base = current_app.config.get("BASE_URL")
    url = (base.rstrip("/") + url_for("calendar.feed", secret=clear) if base
           else url_for("calendar.feed", secret=clear, _external=True))
    return _actions_page(ctx, new_feed=url)


@bp.route("/<int:assessment_id>/targets", methods=["GET", "POST"])
@with_results
def targets(ctx: dict[str, Any]) -> ResponseReturnValue:
    session = db.session()
    bank = ctx["bank"]
    found = svc.targets(session, ctx["a"])
    rows = svc.target_rows(ctx["r"], found, bank)

    class TargetsForm(FlaskForm):
        submit = SubmitField("Save targets")

    for row in rows:
        setattr(TargetsForm, _key(row.dimension, row.lens), FormField(TargetRowForm))
    form = TargetsForm() if request.method == "POST" else TargetsForm(
        data={_key(r.dimension, r.lens): {"value": r.target} for r in rows})
    if form.validate_on_submit():
        values = {}
        for row in rows:
            raw = getattr(form, _key(row.dimension, row.lens)).value.data
            values[(row.dimension, row.lens)] = float(raw) if raw is not None else None
        try:
            svc.set_targets(session, ctx["a"], values, svc.actor_of(current_user))
        except InvalidInput as exc:
            flash(str(exc), "error")
        else:
            flash("Targets saved.", "info")
            return redirect(url_for("results.targets", assessment_id=ctx["a"].id))
    session.commit()
    code = 422 if request.method == "POST" else 200
    fields = {(r.dimension, r.lens): getattr(form, _key(r.dimension, r.lens)).value
              for r in rows}
    return render_template("results/targets.html", active="targets", form=form, rows=rows,
                           fields=fields, found=found, **ctx), code


def _key(dimension: str, lens: str) -> str:
    return f"t_{dimension}_{lens or 'all'}"


@calendar_bp.get("/<string:secret>.ics")
def feed(secret: str) -> ResponseReturnValue:
    session = db.session()
    try:
        assessment = svc.assessment_of_feed(session, secret)
    except NotFound:
        abort(404)
    rows = list(session.scalars(svc.actions_select([assessment.id])))
    body = svc.calendar(assessment, rows, current_app.config.get("BASE_URL") or request.host_url)
    session.commit()
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="actions-{assessment.id}.ics"'
    return response

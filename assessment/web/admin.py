"""The admin's pages: assessments, invitation links, rosters, status and users."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec

import sqlalchemy as sa
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
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from .. import db
from ..models import Assessment, AssessmentStatus, User, UserRole
from ..services import access, releases
from ..services import assessments as svc
from ..services import users as user_svc
from ..services.errors import Conflict, InvalidInput, ServiceError
from .forms import AssessmentForm, InviteForm, RosterForm, ShareForm, StatusForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
P = ParamSpec("P")
log = logging.getLogger(__name__)


def admin_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    @functools.wraps(view)
    @login_required
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        if not current_user.is_admin:
            log.warning("permission refused: %s", request.endpoint)
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    if not current_user.is_admin:
        return redirect(url_for("results.index"))
    page = request.args.get("page", 1, type=int)
    size = current_app.config["PAGE_SIZE"]
    session = db.session()
    total = session.scalar(sa.select(sa.func.count()).select_from(Assessment)) or 0
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    rows = session.execute(svc.list_assessments(session).limit(size).offset((page - 1) * size))
    return render_template("admin/index.html", rows=rows.all(), band=releases.live_band,
                           page=page, pages=pages, total=total)


@bp.route("/assessments/new", methods=["GET", "POST"])
@admin_required
def new_assessment() -> ResponseReturnValue:
    session = db.session()
    banks, earlier = svc.new_assessment_choices(session)
    form = AssessmentForm()
    form.bank.choices = [SelectChoice(str(b.id), f"{b.title} ({b.bank_id} v{b.version})")
                         for b in banks]
    form.previous.choices = [SelectChoice("0", "— none: a first cycle —")] + [
        SelectChoice(str(e.id), f"{e.name} ({e.bank.bank_id})") for e in earlier]
    if form.validate_on_submit():
        new = svc.NewAssessment(
            name=form.name.data,
            bank=next(b for b in banks if b.id == form.bank.data),  # the form checked it
            teams=form.teams.data, roles=form.roles.data,
            min_group_size=form.min_group_size.data, anonymous=form.anonymous.data,
            closes_on=form.closes_on.data,
            previous=next((e for e in earlier if e.id == form.previous.data), None),
            interim_releases=form.interim_releases.data)
        try:
            assessment = svc.create_from_form(session, new)
        except InvalidInput as exc:  # shown at its field (listed in the summary), or flashed
            for field, problem in exc.fields.items():
                getattr(form, field).errors.append(problem)
            if not exc.fields:
                flash(str(exc), "error")
        else:
            flash(f"Assessment “{assessment.name}” created as a draft.", "info")
            return redirect(url_for("admin.assessment", assessment_id=assessment.id))
    return render_template("admin/new_assessment.html", form=form), (
        422 if form.errors or request.method == "POST" else 200)


def _load(assessment_id: int) -> Assessment:
    return svc.get_assessment(db.session(), assessment_id)


@bp.errorhandler(Conflict)
def conflict(exc: Conflict) -> ResponseReturnValue:
    """What the assessment's state refuses (opening a closed one, links for a closed one): said
    on the assessment's page. Other domain errors are answered app-wide (see `errors`)."""
    db.session().rollback()
    flash(str(exc), "error")
    assessment_id = (request.view_args or {}).get("assessment_id")
    return redirect(url_for("admin.assessment", assessment_id=assessment_id)
                    if assessment_id is not None else url_for("admin.index"))


@bp.route("/assessments/<int:assessment_id>")
@admin_required
def assessment(assessment_id: int) -> ResponseReturnValue:
    return _render_assessment(_load(assessment_id))


def _render_assessment(a: Assessment, *, invite_form: InviteForm | None = None,
                       roster_form: RosterForm | None = None, problems: list[str] | None = None,
                       code: int = 200) -> ResponseReturnValue:
    invite_form = invite_form or InviteForm(formdata=None)
    invite_form.team.choices = [t.name for t in a.teams]
    invite_form.role.choices = [r.name for r in a.roles]
    counts = svc.team_counts(db.session(), a)
    return render_template(
        "admin/assessment.html", a=a, counts=counts, invite_form=invite_form,
        share_form=_share_form(a, formdata=None),
        roster_form=roster_form or RosterForm(formdata=None), status_form=StatusForm(),
        problems=problems or [],
        responses=svc.response_count(db.session(), a.id, submitted_only=False),
        band=lambda n: releases.live_band(n, a.min_group_size),
    ), code


@bp.route("/assessments/<int:assessment_id>/status", methods=["POST"])
@admin_required
def set_status(assessment_id: int) -> ResponseReturnValue:
    a = _load(assessment_id)
    form = StatusForm()
    action = request.form.get("action")
    if not form.validate_on_submit() or action not in ("open", "close"):
        abort(400)
    if action == "open":
        svc.set_status(db.session(), a, AssessmentStatus.OPEN)
        flash("The assessment is now open.", "info")
    else:
        flash(releases.close_later(db.session(), a), "info")
    return redirect(url_for("admin.assessment", assessment_id=a.id))


def _share_form(a: Assessment, **kwargs: Any) -> ShareForm:
    form = ShareForm(**kwargs)
    leads = db.session().scalars(
        sa.select(User).where(User.role == UserRole.LEAD).order_by(User.email)).all()
    form.lead.choices = [u.email for u in leads if u not in a.leads]
    return form


@bp.route("/assessments/<int:assessment_id>/shares", methods=["POST"])
@admin_required
def share(assessment_id: int) -> ResponseReturnValue:
    a = _load(assessment_id)
    form = _share_form(a)
    if form.validate_on_submit():
        access.share(db.session(), a, form.lead.data)
        flash(f"{form.lead.data} can now read the results.", "info")
    else:
        flash("Choose a lead to share with.", "error")
    return redirect(url_for("admin.assessment", assessment_id=a.id))


@bp.route("/assessments/<int:assessment_id>/shares/<int:user_id>/delete", methods=["POST"])
@admin_required
def unshare(assessment_id: int, user_id: int) -> ResponseReturnValue:
    a = _load(assessment_id)
    if not StatusForm().validate_on_submit():
        abort(400)
    access.unshare(db.session(), a, user_id)
    flash("Sharing removed.", "info")
    return redirect(url_for("admin.assessment", assessment_id=a.id))


def _csv_download(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.route("/assessments/<int:assessment_id>/invitations", methods=["POST"])
@admin_required
def invite(assessment_id: int) -> ResponseReturnValue:
    a = _load(assessment_id)
    form = InviteForm()
    form.team.choices = [t.name for t in a.teams]
    form.role.choices = [r.name for r in a.roles]
    if not form.validate_on_submit():
        return _render_assessment(a, invite_form=form, code=422)
    try:
        links = svc.generate_invitations(
            db.session(), a, team=form.team.data, role=form.role.data, count=form.count.data,
            base_url=current_app.config["BASE_URL"],
            max_count=current_app.config["INVITE_MAX_COUNT"])
    except InvalidInput as exc:  # shown at the form
        form.count.errors.append(str(exc))
        return _render_assessment(a, invite_form=form, code=422)
    return _csv_download(svc.links_csv(links), f"assessment-{a.id}-links.csv")


@bp.route("/assessments/<int:assessment_id>/roster", methods=["POST"])
@admin_required
def roster(assessment_id: int) -> ResponseReturnValue:
    a = _load(assessment_id)
    form = RosterForm()
    if not form.validate_on_submit():
        return _render_assessment(a, roster_form=form, code=422)
    try:
        links = svc.import_roster(
            db.session(), a, form.roster.data.read(), base_url=current_app.config["BASE_URL"],
            max_rows=current_app.config["ROSTER_MAX_ROWS"])
    except InvalidInput as exc:
        db.session().rollback()
        if not exc.problems:  # about the file as a whole: shown at its field
            form.roster.errors.append(str(exc))
        return _render_assessment(a, roster_form=form, problems=exc.problems, code=422)
    return _csv_download(svc.links_csv(links, with_email=True), f"assessment-{a.id}-roster.csv")


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users() -> ResponseReturnValue:
    session = db.session()
    form = UserForm()
    code = 200
    if form.validate_on_submit():
        try:
            user_svc.create_user(session, form.email.data, form.password.data,
                                 UserRole(form.role.data))
        except Conflict as exc:  # the email is taken: shown at the email field
            form.email.errors.append(str(exc))
            code = 409
        except InvalidInput as exc:
            flash(str(exc), "error")
            code = 422
        else:
            flash(f"User {form.email.data} created.", "info")
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        code = 422
    all_users = session.scalars(sa.select(User).order_by(User.email)).all()
    return render_template("admin/users.html", form=form, users=all_users), code


@bp.route("/jobs")
@admin_required
def jobs():  # type: ignore[no-untyped-def]
    """The newest background jobs, with the error of each that failed."""
    from ..services import jobs as job_svc

    session = db.session()
    rows = job_svc.recent(session, 200)
    failed = sum(1 for job in rows if job.status == "failed")
    return render_template("admin/jobs.html", rows=rows, failed=failed, form=StatusForm())


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@admin_required
def retry_job(job_id: int):  # type: ignore[no-untyped-def]
    from .. import queue
    from ..services import jobs as job_svc

    if not StatusForm().validate_on_submit():
        abort(400)
    job = job_svc.retry(db.session(), job_id)
    if job is None:
        flash("Only a failed job can be retried.", "error")
    else:
        queue.send(job.id)
        flash(f"Job {job_id} is queued again.", "info")
    return redirect(url_for("admin.jobs"))


# -- email invitations, reminders and the outbox ------------------------------------------------


def _mail_form(a: Assessment, texts: Any) -> Any:
    from .mail_forms import MailTextsForm

    form = MailTextsForm()
    if request.method == "GET":
        for name in ("invitation_subject", "invitation_body", "reminder_subject",
                     "reminder_body", "reminder_days"):
            getattr(form, name).data = getattr(texts, name)
    return form


def _render_email(a: Assessment, form: Any, texts: Any, code: int = 200) -> ResponseReturnValue:
    from ..models import MailKind
    from ..services import jobs as job_svc
    from ..services import mail, tokens

    session = db.session()
    page = request.args.get("page", 1, type=int)
    size = current_app.config["PAGE_SIZE"]
    problems_stmt = mail.problems_select(a)
    total = session.scalar(sa.select(sa.func.count()).select_from(problems_stmt.subquery())) or 0
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    problems = session.execute(problems_stmt.limit(size).offset((page - 1) * size)).all()
    previews = {kind.value: mail.preview(session, a, kind, texts) for kind in MailKind}
    return render_template(
        "admin/email.html", a=a, form=form, send_form=StatusForm(),
        overview=mail.overview(session, a), problems=problems, page=page, pages=pages,
        total=total, keys=tokens.available(), no_key=tokens.NO_KEY,
        server=current_app.config.get("MAIL_SERVER"),
        previews={k: (str(m["Subject"]), mail.text_part(m)) for k, m in previews.items()},
        jobs={kind.value: job_svc.current(session, mail.job_key(a.id, kind)) for kind in MailKind},
        accepting=a.is_accepting(),
    ), code


@bp.route("/assessments/<int:assessment_id>/email", methods=["GET", "POST"])
@admin_required
def email(assessment_id: int) -> ResponseReturnValue:
    """The texts, a preview, sending and reminding, and what went wrong per recipient."""
    from ..services import mail

    a = _load(assessment_id)
    session = db.session()
    texts = mail.texts_of(session, a)
    form = _mail_form(a, texts)
    if request.method == "GET":
        return _render_email(a, form, texts)
    if not form.validate_on_submit():
        return _render_email(a, form, texts, 422)
    posted = mail.MailTexts(form.invitation_subject.data, form.invitation_body.data,
                            form.reminder_subject.data, form.reminder_body.data,
                            form.reminder_days.data or "")
    if form.preview.data:
        return _render_email(a, form, posted)
    problems = mail.save_texts(session, a, posted)
    if problems:
        for name, problem in problems.items():
            getattr(form, name).errors.append(problem)
        return _render_email(a, form, posted, 422)
    flash("The email texts are saved.", "info")
    return redirect(url_for("admin.email", assessment_id=a.id))


@bp.route("/assessments/<int:assessment_id>/email/send", methods=["POST"])
@admin_required
def email_send(assessment_id: int) -> ResponseReturnValue:
    from ..models import MailKind
    from ..services import mail

    a = _load(assessment_id)
    action = request.form.get("action")
    if not StatusForm().validate_on_submit() or action not in ("invitations", "reminders",
                                                               "test"):
        abort(400)
    try:
        if action == "test":
            mail.request_test(a, current_user.email)
            flash(f"A test of both messages is on its way to {current_user.email}.", "info")
        else:
            kind = MailKind.INVITATION if action == "invitations" else MailKind.REMINDER
            mail.request_sending(a, kind)
            flash(f"Sending the {kind.value}s has started; this page shows its progress.",
                  "info")
    except ServiceError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.email", assessment_id=a.id))


@bp.route("/outbox")
@admin_required
def outbox() -> ResponseReturnValue:
    """Messages written instead of sent (no MAIL_SERVER), newest first."""
    from ..services import mail
    from ..services import outbox as box

    entries, page, pages = box.page(mail.outbox_folder(), request.args.get("page", 1, type=int),
                                    current_app.config["PAGE_SIZE"])
    return render_template("admin/outbox.html", entries=entries, page=page, pages=pages,
                           server=current_app.config.get("MAIL_SERVER"))


@bp.route("/outbox/<name>")
@admin_required
def outbox_message(name: str) -> ResponseReturnValue:
    from ..services import mail
    from ..services import outbox as box

    try:
        message = box.read(mail.outbox_folder(), name)
    except ServiceError:
        abort(404)
    html = message.get_body(preferencelist=("html",))
    return render_template("admin/outbox_message.html", name=name, message=message,
                           text=mail.text_part(message),
                           html=html.get_content() if html is not None else None)

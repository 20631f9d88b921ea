"""Report downloads for leads: the PDF, the Excel workbook, the HTML page and the CSV tables of an
assessment's results, through the same access rule as the results pages."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from .. import db
from ..models import utcnow
from ..reporting.reports import FORMATS, ReportError, filename, mimetype
from ..services import access, security
from ..services.errors import Conflict, NotFound
from ..services.reports import build_report, report_context
from . import audit

log = logging.getLogger(__name__)

bp = Blueprint("downloads", __name__, url_prefix="/results")


@bp.route("/<int:assessment_id>/download/<fmt>")
@login_required
def download(assessment_id: int, fmt: str) -> ResponseReturnValue:
    if fmt not in FORMATS:
        abort(404)
    session = db.session()
    try:
        assessment = access.readable_assessment(session, current_user, assessment_id)
    except NotFound:
        abort(404)
    if not security.use(session, security.REPORT_BY_USER, str(current_user.id)):
        audit.event("report_limited", user_id=current_user.id)
        message = ("You have asked for ten reports in the last ten minutes, and each takes the "
                   "server up to 20 seconds to build. Wait a few minutes and try again.")
        return render_template("errors/error.html", code=429, message=message), 429
    try:
        data = build_report(report_context(session, assessment, current_user), fmt)
    except Conflict as exc:
        flash(str(exc), "info")
        return redirect(url_for("results.overview", assessment_id=assessment_id))
    except ReportError as exc:
        log.error("report %s of assessment %s failed: %s", fmt, assessment_id, exc)
        message = "This report format is not available on the server right now."
        return render_template("errors/error.html", code=503, message=message), 503
    name = filename(assessment_id, fmt, utcnow().date())
    response = Response(data, mimetype=mimetype(fmt))
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

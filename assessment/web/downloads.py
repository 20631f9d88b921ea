"""Report downloads for leads: the PDF, the Excel workbook, the HTML page and the CSV tables of an
assessment's latest release, through the same access rule as the results pages.

The files are built by workers when the release is made and served from storage. One that is
not ready yet (just released, or a reader whose earlier cycles differ from everyone else's)
is asked for, and the reader is sent to a page that shows its progress and reloads itself until
the file is there: no waiting request, and no JavaScript needed.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from .. import db
from ..models import JobStatus, utcnow
from ..reporting.formats import FORMATS, LABELS, filename, mimetype
from ..services import access, releases, stored

bp = Blueprint("downloads", __name__, url_prefix="/results")
REFRESH_SECONDS = 2


def _release_of(assessment_id: int, fmt: str):  # type: ignore[no-untyped-def]
    if fmt not in FORMATS:
        abort(404)
    session = db.session()
    assessment = access.readable_assessment(session, current_user, assessment_id)
    return session, assessment, releases.latest(session, assessment)


def _nothing_yet(assessment_id: int):  # type: ignore[no-untyped-def]
    flash(f"Assessment {assessment_id} has no released results yet: there is nothing to "
          "report.", "info")
    return redirect(url_for("results.overview", assessment_id=assessment_id))


@bp.route("/<int:assessment_id>/download/<fmt>")
@login_required
def download(assessment_id: int, fmt: str):  # type: ignore[no-untyped-def]
    session, assessment, release = _release_of(assessment_id, fmt)
    if release is None:
        return _nothing_yet(assessment_id)
    variant = stored.variant(session, assessment, current_user)
    found = stored.get(session, release.id, fmt, variant)
    if found is None:
        stored.request_build(session, assessment, release, fmt, variant)
        return redirect(url_for(".status", assessment_id=assessment_id, fmt=fmt))
    session.commit()
    name = filename(assessment_id, fmt, utcnow().date())
    response = Response(found.content, mimetype=mimetype(fmt))
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/<int:assessment_id>/download/<fmt>/status")
@login_required
def status(assessment_id: int, fmt: str):  # type: ignore[no-untyped-def]
    """How far the file is, until it is ready; then the download starts (and the link is
    offered, in case the browser does not start it).

    With JavaScript the page asks again for `?json=1` every few seconds and changes only its
    progress line, so a screen reader hears the start, the end or the failure and nothing in
    between; without JavaScript a `<noscript>` refresh reloads the page instead."""
    session, assessment, release = _release_of(assessment_id, fmt)
    if release is None:
        return _nothing_yet(assessment_id)
    variant = stored.variant(session, assessment, current_user)
    ready = stored.get(session, release.id, fmt, variant, with_content=False) is not None
    job = None if ready else stored.request_build(session, assessment, release, fmt, variant)
    failed = job is not None and job.status == JobStatus.FAILED
    session.commit()
    download_url = url_for(".download", assessment_id=assessment_id, fmt=fmt)
    if request.args.get("json"):
        return jsonify(ready=ready, failed=failed, download_url=download_url,
                       progress=_progress_text(job))
    page = Response(render_template(
        "results/preparing.html", a=assessment, label=LABELS[fmt], ready=ready, job=job,
        failed=failed, download_url=download_url, progress=_progress_text(job),
        refresh_seconds=REFRESH_SECONDS))
    if ready:  # start the download, script or not
        page.headers["Refresh"] = f"0; url={download_url}"
    return page


def _progress_text(job) -> str:  # type: ignore[no-untyped-def]
    if job is None:
        return ""
    if job.status == JobStatus.RUNNING and job.progress_total:
        return f"Step {job.progress_step} of {job.progress_total}: {job.progress_label}."
    if job.status == JobStatus.RUNNING:
        return "It has started."
    return "It is waiting for a worker."

"""Error pages: a message the person can act on, never a traceback; the session is rolled back.

The services' domain errors are answered here once for every page: a thing not found (or not
readable by this person: the same answer) is 404, a conflict with the current state is 409 with
its message, invalid input is 400 with its message and problems. A blueprint that can do better
(the API's JSON, a form shown again) registers its own handler for them."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .. import db
from ..services.errors import Conflict, InvalidInput, ServiceError
from ..services.errors import NotFound as Missing

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have access to this page.",
    404: "There is nothing here.",
    405: "That action is not available here.",
    413: "What you sent is too large.",
    429: "Too many attempts. Please wait a minute and try again.",
}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        log.warning("csrf refused: %s", exc.description)
        message = ("The form had expired or was sent from elsewhere. Go back, reload the page "
                   "and try again; nothing was saved.")
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(Missing)
    def missing(exc: Missing) -> ResponseReturnValue:
        # Not the service's message: whether a thing exists is not told to who may not see it.
        return render_template("errors/error.html", code=404, message=MESSAGES[404]), 404

    @app.errorhandler(Conflict)
    def conflict(exc: Conflict) -> ResponseReturnValue:
        db.session().rollback()
        return render_template("errors/error.html", code=409, message=str(exc)), 409

    @app.errorhandler(InvalidInput)
    def invalid(exc: InvalidInput) -> ResponseReturnValue:
        db.session().rollback()
        return render_template("errors/error.html", code=400, message=str(exc),
                               problems=exc.problems), 400

    @app.errorhandler(ServiceError)
    def refused(exc: ServiceError) -> ResponseReturnValue:
        db.session().rollback()
        return render_template("errors/error.html", code=400, message=str(exc)), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        message = MESSAGES.get(code, exc.description if code < 500 else "Something went wrong.")
        return render_template("errors/error.html", code=code, message=message), code

    @app.errorhandler(Exception)
    def server_error(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error")
        try:
            db.session().rollback()
        except Exception:  # noqa: BLE001 - the database may be the thing that failed
            log.exception("rollback failed")
        message = ("Something went wrong on our side and nothing was changed. "
                   "Please try again in a moment.")
        return render_template("errors/error.html", code=500, message=message, retry=True), 500

"""The application factory: configuration, extensions, blueprints, error pages and commands."""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

from flask import Flask

from . import db
from .config import RESOURCE_ROOT, ConfigurationError, from_environment, instance_path


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=instance_path(),
        template_folder=str(RESOURCE_ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "web" / "static"),
    )
    app.config.update(from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    _require_secret_key(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())

    serves_requests = _serves_requests()
    db.init_app(app, connect=serves_requests)
    _template_globals(app)
    if serves_requests:
        from .web import init_app as init_web

        init_web(app)
    else:
        app.wsgi_app = WebOnFirstRequest(app)  # type: ignore[method-assign]  # Flask's documented way

    from .cli import init_app as init_cli

    init_cli(app)
    return app


# The `flask` commands that serve or show the web app, and so want it whole from the start.
WEB_COMMANDS = frozenset({"run", "routes", "shell"})


def _serves_requests() -> bool:
    """False for the app a `flask` command loads (other than run/routes/shell): a command reads
    and writes the database and never sees a request, so the web layer (forms, login,
    blueprints and what they import) is left out of its start. gunicorn, tests and other
    callers of `create_app` get everything at once."""
    if os.environ.get("FLASK_RUN_FROM_CLI") != "true":
        return True
    return bool(WEB_COMMANDS & set(sys.argv[1:]))


class WebOnFirstRequest:
    """The app's WSGI callable while the web layer is not set up: the first request sets it up
    (once, whichever thread gets there first) and every request then goes straight to Flask."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.flask_wsgi_app = app.wsgi_app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.lock:
            if self.app.wsgi_app is self:
                from .web import init_app as init_web

                self.app.wsgi_app = self.flask_wsgi_app  # type: ignore[method-assign]
                init_web(self.app)  # may wrap it (ProxyFix)
        return self.app.wsgi_app(environ, start_response)


class LazyModule:
    """A module for templates, imported on first use: the reading bands sit beside the analysis
    (which pulls in pandas), and a respondent's page must not import it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


def _template_globals(app: Flask) -> None:
    """What templates use outside requests too (reports rendered by a command or a worker)."""
    # Bands and labels the results pages and reports display; the rules live in one module.
    app.jinja_env.globals["readings"] = LazyModule("assessment.reporting.readings")


class RedactTokens(logging.Filter):
    """Access logs print request paths, and a respondent's path carries their invitation token:
    replace it before the line is written."""

    PATH = re.compile(r"/s/[A-Za-z0-9_-]{8,}")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/s/" in message:
            record.msg, record.args = self.PATH.sub("/s/<token>", message), None
        return True


def _require_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.debug or app.testing:
        app.config["SECRET_KEY"] = os.urandom(32).hex()
        return
    raise ConfigurationError(
        "SECRET_KEY is not set. Set it in the environment (for example "
        "`export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')`); "
        "`make run` writes one to .env for local use."
    )

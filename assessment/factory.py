"""The application factory: configuration, extensions, blueprints, error pages and commands."""

from __future__ import annotations

import logging
import os
import re
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

    db.init_app(app)

    from .web import init_app as init_web

    init_web(app)

    from .cli import init_app as init_cli

    init_cli(app)
    return app


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

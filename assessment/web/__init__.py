"""The web layer: one blueprint per audience, CSRF, login, security headers and error pages."""

from __future__ import annotations

import os

from flask import Flask, Response, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter, Map

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.session_protection = "strong"

# Scripts only from our own files. Inline styles are allowed because the charts are inline SVG
# whose drawing attributes matplotlib writes as style="..."; styles cannot run code.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: ids are 32-bit in the schema, so a larger number in a URL is
    an unknown page (404), not an integer the database cannot take (a 500 and a traceback)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = 2**31 - 1, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    # Before any blueprint: a rule takes its converters when it is added.
    app.url_map.converters["int"] = IdConverter
    csrf.init_app(app)
    # Flask-Login's own context processor loads the user for every template, a respondent's
    # page included, and for a session holding only a form token its "strong" protection then
    # rewrites the cookie on every page. The proxy instead loads the user only when a template
    # asks (the staff pages' navigation does; the survey's pages never do).
    login_manager.init_app(app, add_context_processor=False)
    app.context_processor(lambda: {"current_user": current_user})

    from . import (
        account,
        admin,
        api,
        api_actions,  # noqa: F401 - adds its routes to the API blueprint
        auth,
        downloads,
        errors,
        health,
        results,
        survey,
        unsubscribe,
    )
    from . import actions as actions_pages

    login_manager.user_loader(auth.load_user)
    app.register_blueprint(auth.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(survey.bp)
    app.register_blueprint(results.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(actions_pages.calendar_bp)
    app.register_blueprint(unsubscribe.bp)
    if os.environ.get("BENCHMARK_ENDPOINTS") == "1":
        # Load-test baseline only (bench/load.py); never set in production.
        from . import bench

        csrf.exempt(bench.bp)
        app.register_blueprint(bench.bp)
    errors.init_app(app)
    app.before_request(auth.enforce_session_timeouts)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]  # Flask's documented way

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        # Invitation tokens are in URLs: never leak them to another site.
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.endpoint and not request.endpoint.startswith("static"):
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

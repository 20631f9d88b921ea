"""The JSON API under /api/v1: what an integrator reads, with the same access and suppression
rules as the results pages.

Authenticated by `Authorization: Bearer <token>` only. Session cookies are ignored, so a page
on another site cannot use a logged-in browser to read the API; that is also why the blueprint
is exempt from CSRF. Every error inside /api/v1, including unknown paths and wrong methods, is
JSON `{"error": {"status": ..., "message": ...}}`, never the HTML error page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, g, jsonify, request, url_for
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .. import db
from ..models import Assessment, User
from ..services import access, api_tokens, releases, security
from ..services import assessments as assessment_svc
from ..services import results as results_svc
from ..services.errors import Conflict, NotFound, ServiceError
from . import audit, csrf

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)
csrf.exempt(bp)
log = logging.getLogger(__name__)

# Ids are 32-bit in the schema; a larger number in a URL is an unknown path, not a database error.
ID = "<int(max=2147483647):assessment_id>"
PER_PAGE_DEFAULT = 100
PER_PAGE_MAX = 500
PUBLIC_ENDPOINTS = {"api.openapi"}
REALM = 'Bearer realm="api"'

MESSAGES = {
    400: "The request could not be understood.",
    401: "Send a valid API token: Authorization: Bearer <token>.",
    403: "Your token does not give access to this.",
    404: "There is nothing here.",
    405: "This method is not allowed here.",
    409: "Nothing has been released yet.",
    413: "What you sent is too large.",
    429: "Too many requests. Wait a minute and try again.",
    500: "Something went wrong on our side. Try again in a moment.",
}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The one error shape of the API (also in the OpenAPI document as `Error`)."""
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = REALM
    response.headers.update(headers or {})
    return response


# -- authentication ---------------------------------------------------------------------------


@bp.before_request
def authenticate() -> Response | None:
    """Resolve the bearer token to a user in `g.api_user`, or answer 401."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        audit.event("api_token_missing")
        return error_response(401, MESSAGES[401])
    session = db.session()
    address = request.remote_addr or "unknown"
    # A valid token is never limited: only invalid ones are counted and refused.
    user = api_tokens.authenticate(session, token)
    if user is None:
        if security.is_limited(session, security.API_BY_ADDRESS, address):
            audit.event("api_rate_limited")
            return error_response(429, "Too many invalid API tokens from your address; wait "
                                       "ten minutes and try again.")
        security.record(session, security.API_BY_ADDRESS, address)
        audit.event("api_token_refused")
        return error_response(
            401, "The API token is not valid or has been revoked.",
            {"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
    g.api_user = user
    return None


def caller() -> User:
    user: User = g.api_user
    return user


# -- errors -----------------------------------------------------------------------------------


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    # A description given to abort() is meant for the caller; werkzeug's defaults are replaced.
    custom = exc.description != type(exc).description
    message = exc.description if custom and exc.description else MESSAGES.get(
        code, "The request could not be completed.")
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return error_response(code, message, headers)


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError) -> Response:
    """The services' domain errors, answered once for every route: not found (or not readable
    by the caller: the same answer) 404, a conflict 409, anything else the caller sent 400."""
    db.session().rollback()
    code = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 400
    return error_response(code, str(exc) or MESSAGES[code])


@bp.errorhandler(Exception)
def server_error(exc: Exception) -> Response:
    log.exception("unhandled error in the API")
    try:
        db.session().rollback()
    except Exception:  # noqa: BLE001 - the database may be the thing that failed
        log.exception("rollback failed")
    return error_response(500, MESSAGES[500])


@bp.before_app_request
def unmatched_api_path() -> Response | None:
    """Unknown paths and wrong methods under /api/v1 fail in routing, before any blueprint is
    chosen, so the blueprint's handlers never see them; answer them here in the API's shape."""
    exc = request.routing_exception
    if exc is None or not (request.path == PREFIX or request.path.startswith(PREFIX + "/")):
        return None
    if isinstance(exc, HTTPException) and (exc.code or 500) >= 400:
        return http_error(exc)
    return None  # a redirect (e.g. a missing trailing slash) is left to routing


@bp.after_request
def no_store(response: Response) -> Response:
    """Results are confidential: no browser or proxy keeps a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


# -- endpoints --------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat() if moment else None


def _summary(a: Assessment, submitted: int, latest: tuple[datetime, int] | None
             ) -> dict[str, Any]:
    """`submitted` is live, so it is rounded down to a multiple of the minimum group size: it
    moves only every few submissions and cannot time one person's. `latest`: the newest
    release's time and size (`releases.latest_stamps`, which reads a listing's page at once)."""
    return {
        "id": a.id,
        "name": a.name,
        "bank": a.bank.bank_id,
        "bank_version": a.bank.version,
        "status": a.status.value,
        "min_group_size": a.min_group_size,
        "submitted": submitted // a.min_group_size * a.min_group_size,
        "released_at": _iso(latest[0]) if latest else None,
        "released_respondents": latest[1] if latest else None,
        "links": {
            "results": url_for(".results", assessment_id=a.id),
            "response_rates": url_for(".response_rates", assessment_id=a.id),
        },
    }


def _latest(a: Assessment) -> tuple[datetime, int] | None:
    return releases.latest_stamps(db.session(), [a.id]).get(a.id)


def _readable(assessment_id: int) -> Assessment:
    """The assessment if the caller may read it; 404 alike for unknown and not shared."""
    return access.readable_assessment(db.session(), caller(), assessment_id)


def _page_arg(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        abort(400, f"'{name}' must be a whole number from 1 to {maximum}.")
    return int(raw)


def visible_with_counts(session: Session, user: User) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The assessments `user` may read with their submitted counts (newest first), and a count
    of them: the access rule's select narrowed to the listing that carries the counts."""
    visible = access.visible_assessments(user).order_by(None)
    ids = visible.with_only_columns(Assessment.id)
    rows = assessment_svc.list_assessments(session).where(Assessment.id.in_(ids))
    total = sa.select(sa.func.count()).select_from(ids.subquery())
    return rows, total


@bp.get("/assessments")
def assessments() -> Response:
    page = _page_arg("page", 1, 1_000_000)
    per_page = _page_arg("per_page", PER_PAGE_DEFAULT, PER_PAGE_MAX)
    session = db.session()
    rows, total = visible_with_counts(session, caller())
    found = session.execute(rows.limit(per_page).offset((page - 1) * per_page)).all()
    latest = releases.latest_stamps(session, [a.id for a, _ in found])
    return jsonify({
        "assessments": [_summary(a, submitted, latest.get(a.id)) for a, submitted in found],
        "page": page,
        "per_page": per_page,
        "total": session.scalar(total) or 0,
    })


def _no_release(a: Assessment) -> Response:
    when = ("as soon as enough new responses have arrived, and when it closes"
            if a.interim_releases else "when it closes")
    return error_response(409, f"No results of assessment {a.id} have been released yet; "
                               f"they are released {when}.")


@bp.get(f"/assessments/{ID}/results")
def results(assessment_id: int) -> Response:
    a = _readable(assessment_id)
    session = db.session()
    found = results_svc.results(session, a)
    if found.release is None or found.analysis is None:
        return _no_release(a)
    submitted = assessment_svc.response_count(session, a.id)
    return jsonify({
        "assessment": _summary(a, submitted, _latest(a)),
        "released_at": _iso(found.released_at),
        "n_respondents": found.release.n_respondents,
        "computed_at": _iso(found.released_at),
        "results": found.analysis.to_json(),
    })


@bp.get(f"/assessments/{ID}/response-rates")
def response_rates(assessment_id: int) -> Response:
    a = _readable(assessment_id)
    found = results_svc.results(db.session(), a)
    if found.release is None:
        return _no_release(a)
    rows, submitted, invited = results_svc.response_rates(found.release)
    teams = [
        {"team": r.team, "suppressed": True} if r.submitted is None
        else {"team": r.team, "invited": r.invited, "submitted": r.submitted, "rate": r.rate,
              "suppressed": False}
        for r in rows
    ]
    live = assessment_svc.response_count(db.session(), a.id)
    return jsonify({
        "assessment": _summary(a, live, _latest(a)),
        "released_at": _iso(found.released_at),
        "min_group_size": a.min_group_size,
        "total_submitted": submitted,
        "total_invited": invited,
        "rate": round(submitted / invited, 3) if invited else None,
        "teams": teams,
    })


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


# -- the OpenAPI description ------------------------------------------------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes}


ASSESSMENT_ID = {
    "name": "assessment_id", "in": "path", "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
    "description": "An assessment id from the list.",
}


@dataclass(frozen=True)
class Contribution:
    """Paths and component schemas that another module of the API adds to its description:
    `paths()` gives OpenAPI path items by path, `schemas()` component schemas by name."""

    paths: Callable[[], dict[str, Any]]
    schemas: Callable[[], dict[str, Any]] = dict
    responses: Callable[[], dict[str, Any]] = dict


# Filled by the modules that add routes under /api/v1, when they are imported.
CONTRIBUTIONS: list[Contribution] = []


def result_schemas() -> dict[str, Any]:
    """The analysis result's component schemas, generated from its models (so a renamed field
    changes the schema): `Analysis` for the whole result and one schema per part."""
    from ..analysis.result import AnalysisResult

    schema = AnalysisResult.model_json_schema(ref_template="#/components/schemas/{model}")
    parts: dict[str, Any] = schema.pop("$defs", {})
    schema["title"] = "Analysis"
    schema["description"] = (
        "The analysis, the same structure as `flask --app app analyze --format json` (without "
        "`suppressed`, which a release keeps apart). Every group, role and group x role cell "
        "below `min_group_size` respondents, and any cell that would let a hidden one be "
        "worked out from the total, is `{\"suppressed\": true}`.")
    return {**parts, "Analysis": schema}


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 for every route of this blueprint and of the `CONTRIBUTIONS` (a test checks
    none is missing)."""
    schemas = {
        "Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {
                "type": "object", "required": ["status", "message"],
                "properties": {
                    "status": {"type": "integer", "description": "The HTTP status code."},
                    "message": {"type": "string", "description": "What went wrong, for people."},
                },
            }},
        },
        "AssessmentSummary": {
            "type": "object",
            "required": ["id", "name", "bank", "bank_version", "status", "min_group_size",
                         "submitted", "released_at", "released_respondents", "links"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "bank": {"type": "string", "description": "Question bank id."},
                "bank_version": {"type": "integer"},
                "status": {"type": "string", "enum": ["draft", "open", "closed"]},
                "min_group_size": {
                    "type": "integer",
                    "description": "Groups with fewer respondents are suppressed."},
                "submitted": {"type": "integer", "description": (
                    "Submitted responses so far, rounded down to a multiple of "
                    "`min_group_size`.")},
                "released_at": {"type": ["string", "null"], "format": "date-time",
                                "description": "When the latest release was made (UTC)."},
                "released_respondents": {"type": ["integer", "null"],
                                         "description": "Responses the latest release shows."},
                "links": {
                    "type": "object", "required": ["results", "response_rates"],
                    "properties": {"results": {"type": "string"},
                                   "response_rates": {"type": "string"}},
                },
            },
        },
        "AssessmentList": {
            "type": "object", "required": ["assessments", "page", "per_page", "total"],
            "properties": {
                "assessments": {"type": "array", "items": _ref("AssessmentSummary")},
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX},
                "total": {"type": "integer", "minimum": 0},
            },
        },
        "Results": {
            "type": "object",
            "required": ["assessment", "released_at", "n_respondents", "computed_at", "results"],
            "properties": {
                "assessment": _ref("AssessmentSummary"),
                "released_at": {"type": "string", "format": "date-time",
                                "description": "When the release was made (UTC)."},
                "n_respondents": {"type": "integer",
                                  "description": "Responses the release shows."},
                "computed_at": {"type": "string", "format": "date-time",
                                "description": "The same as `released_at` (kept for clients "
                                               "written before releases)."},
                "results": _ref("Analysis"),
            },
        },
        **result_schemas(),
        "TeamRate": {
            "oneOf": [
                {"type": "object", "required": ["team", "invited", "submitted", "rate",
                                                "suppressed"],
                 "properties": {"team": {"type": "string"}, "invited": {"type": "integer"},
                                "submitted": {"type": "integer"},
                                "rate": {"type": ["number", "null"]},
                                "suppressed": {"const": False}}},
                {"type": "object", "required": ["team", "suppressed"],
                 "description": "A team too small to show, or the complement of one: no count "
                                "at all, not even of its invitations.",
                 "properties": {"team": {"type": "string"}, "suppressed": {"const": True}},
                 "not": {"anyOf": [{"required": ["submitted"]}, {"required": ["rate"]},
                                   {"required": ["invited"]}]}},
            ],
        },
        "ResponseRates": {
            "type": "object",
            "required": ["assessment", "released_at", "min_group_size", "total_submitted",
                         "total_invited", "rate", "teams"],
            "properties": {
                "assessment": _ref("AssessmentSummary"),
                "released_at": {"type": "string", "format": "date-time"},
                "min_group_size": {"type": "integer"},
                "total_submitted": {"type": "integer"},
                "total_invited": {"type": "integer"},
                "rate": {"type": ["number", "null"]},
                "teams": {"type": "array", "items": _ref("TeamRate")},
            },
        },
    }
    error_responses = {
        f"E{code}": _json(_ref("Error"), message) for code, message in MESSAGES.items()
    }
    error_responses["E401"]["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}
    page = {"name": "page", "in": "query", "required": False,
            "schema": {"type": "integer", "minimum": 1, "default": 1}}
    per_page = {"name": "per_page", "in": "query", "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX,
                           "default": PER_PAGE_DEFAULT}}
    paths: dict[str, Any] = {
        f"{PREFIX}/assessments": {"get": {
            "operationId": "listAssessments",
            "summary": "The assessments the caller may see, newest first.",
            "parameters": [page, per_page],
            "responses": {"200": _json(_ref("AssessmentList"), "A page of assessments."),
                          **_errors(400, 401, 500)},
        }},
        f"{PREFIX}/assessments/{{assessment_id}}/results": {"get": {
            "operationId": "getResults",
            "summary": "An assessment's latest released analysis, with small groups "
                       "suppressed.",
            "parameters": [ASSESSMENT_ID],
            "responses": {"200": _json(_ref("Results"), "The analysis."),
                          **_errors(401, 404, 409, 500)},
        }},
        f"{PREFIX}/assessments/{{assessment_id}}/response-rates": {"get": {
            "operationId": "getResponseRates",
            "summary": "Invited and submitted per team as of the latest release, with "
                       "small teams suppressed.",
            "parameters": [ASSESSMENT_ID],
            "responses": {"200": _json(_ref("ResponseRates"), "Response rates."),
                          **_errors(401, 404, 409, 500)},
        }},
        f"{PREFIX}/openapi.json": {"get": {
            "operationId": "getOpenApi",
            "summary": "This description.",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
        }},
    }
    for contribution in CONTRIBUTIONS:
        paths.update(contribution.paths())
        schemas.update(contribution.schemas())
        error_responses.update(contribution.responses())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Alignment assessment API",
            "version": "1.0.0",
            "description": (
                "Read the assessments you may see, their analysis and response rates, and keep "
                "their targets and actions. "
                "Authenticate with a bearer token created on the API tokens page or with "
                "`flask --app app api-token create EMAIL`. Leads see only the assessments "
                "shared with them; any other id answers 404. Groups below the assessment's "
                "minimum group size are suppressed in every response."),
        },
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "An API token (starts with `aat_`)."}},
            "schemas": schemas,
            "responses": error_responses,
        },
    }

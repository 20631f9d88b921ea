"""The API's actions and targets: list, create and change actions, read and replace targets.

On the API blueprint, so authentication, errors and caching are the API's. Reading needs what
reading results needs (admins, or leads the assessment is shared with; 404 otherwise). Writing
needs, besides, a token created to write (`can_write`): a token made for a reporting tool cannot
change anything even though its owner could, and existing tokens stay read-only. Bodies are
validated by the pydantic models of `action_schemas`, which also give the OpenAPI schemas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, abort, jsonify, request

from .. import db
from ..models import Action, Assessment
from ..services import access, api_tokens, releases
from ..services import actions as svc
from ..services.banks import bank_of
from ..services.errors import InvalidInput, NotFound
from . import api
from .api import ID, PREFIX, bp, caller, error_response

if TYPE_CHECKING:
    from pydantic import BaseModel

ACTION_ID = "<int(max=2147483647):action_id>"


def _action_out(action: Action) -> dict[str, Any]:
    from .action_schemas import ActionEventOut, ActionOut

    session = db.session()
    events = svc.history(session, action)[::-1]
    return ActionOut(
        id=action.id, assessment_id=action.assessment_id, title=action.title,
        description=action.description, owner=action.owner, due=action.due,
        status=action.status.value, dimension=action.dimension,
        lens=action.lens, recommendation=action.recommendation,  # type: ignore[arg-type]
        statements=list(action.statements), teams=list(action.teams),
        overdue=svc.is_overdue(action), created_at=action.created_at,
        updated_at=action.updated_at,
        history=[ActionEventOut(at=e.at, actor=e.actor, kind=e.kind,  # type: ignore[arg-type]
                                changes=e.changes) for e in events],
    ).model_dump(mode="json")


def _readable(assessment_id: int) -> Assessment:
    try:
        return access.readable_assessment(db.session(), caller(), assessment_id)
    except NotFound as exc:
        abort(404, str(exc))


def _writer() -> str:
    """Who the history names for a change by this request; 403 unless the token may write."""
    token = api_tokens.find(db.session(), request.headers.get("Authorization", "")
                            .partition(" ")[2].strip())
    if token is None or not token.can_write:
        abort(403, "This token may only read. Create a token that may change actions and "
                   "targets (the API tokens page, or `api-token create --write`).")
    return svc.actor_of(caller(), token.name)


def _body(model: type[BaseModel]) -> BaseModel:
    from pydantic import ValidationError

    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "Send a JSON object (Content-Type: application/json).")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                             for e in exc.errors()[:10])
        abort(422, f"The request was not valid: {problems}.")


def _invalid(exc: InvalidInput) -> Response:
    return error_response(422, str(exc))


@bp.get(f"/assessments/{ID}/actions")
def list_actions(assessment_id: int) -> Response:
    a = _readable(assessment_id)
    page = api._page_arg("page", 1, 1_000_000)
    per_page = api._page_arg("per_page", api.PER_PAGE_DEFAULT, api.PER_PAGE_MAX)
    status = request.args.get("status") or None
    dimension = request.args.get("dimension") or None
    if status is not None and status not in {"planned", "in_progress", "done", "dropped"}:
        abort(400, "'status' must be one of planned, in_progress, done, dropped.")
    session = db.session()
    stmt = svc.actions_select([a.id], status, dimension)
    total = svc.count(session, stmt)
    rows = session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"actions": [_action_out(r) for r in rows], "page": page,
                    "per_page": per_page, "total": total})


@bp.post(f"/assessments/{ID}/actions")
def create_action(assessment_id: int) -> Response | tuple[Response, int]:
    a = _readable(assessment_id)
    actor = _writer()
    from .action_schemas import ActionIn

    body = _body(ActionIn)
    try:
        action = svc.create(db.session(), a, body.model_dump(), actor)
    except InvalidInput as exc:
        return _invalid(exc)
    response = jsonify(_action_out(action))
    response.status_code = 201
    response.headers["Location"] = f"{PREFIX}/actions/{action.id}"
    return response


@bp.patch(f"/actions/{ACTION_ID}")
def update_action(action_id: int) -> Response:
    session = db.session()
    try:
        action = svc.action_for(session, caller(), action_id)
    except NotFound as exc:
        abort(404, str(exc))
    actor = _writer()
    from .action_schemas import ActionPatch

    body = _body(ActionPatch)
    changes = body.model_dump(exclude_unset=True)
    nulls = [k for k, v in changes.items() if v is None and k not in ("lens", "recommendation")]
    if nulls:
        abort(422, f"The request was not valid: {', '.join(nulls)} cannot be null.")
    try:
        action = svc.update(session, action, changes, actor)
    except InvalidInput as exc:
        return _invalid(exc)
    return jsonify(_action_out(action))


def _targets_out(a: Assessment) -> dict[str, Any]:
    from .action_schemas import TargetOut, Targets

    session = db.session()
    found = svc.targets(session, a)
    latest = releases.latest(session, a)
    rows = svc.target_rows(releases.analysis_of(latest) if latest else None, found,
                           bank_of(a.bank),
                           only_set=True)
    return Targets(
        assessment_id=a.id,
        inherited_from=found.source.id if found.inherited and found.source else None,
        targets=[TargetOut(dimension=r.dimension, lens=r.lens or None,  # type: ignore[arg-type]
                           value=r.target or 0.0, current=r.current, gap=r.gap)
                 for r in rows],
    ).model_dump(mode="json")


@bp.get(f"/assessments/{ID}/targets")
def get_targets(assessment_id: int) -> Response:
    return jsonify(_targets_out(_readable(assessment_id)))


@bp.put(f"/assessments/{ID}/targets")
def put_targets(assessment_id: int) -> Response:
    a = _readable(assessment_id)
    actor = _writer()
    from .action_schemas import TargetsIn

    body = _body(TargetsIn)
    assert isinstance(body, TargetsIn)
    values: dict[tuple[str, str], float | None] = {}
    for t in body.targets:
        key = (t.dimension, t.lens or "")
        if key in values:
            abort(422, f"The request was not valid: the target for {t.dimension}"
                       f"{' / ' + t.lens if t.lens else ''} is given twice.")
        values[key] = t.value
    try:
        svc.set_targets(db.session(), a, values, actor)
    except InvalidInput as exc:
        return _invalid(exc)
    return jsonify(_targets_out(a))


# -- the OpenAPI description ------------------------------------------------------------------

ACTION_PARAM = {"name": "action_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}


def _schemas() -> dict[str, Any]:
    from .action_schemas import MODELS

    out: dict[str, Any] = {}
    for model in MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def _responses() -> dict[str, Any]:
    return {"E422": api._json(api._ref("Error"), "The body is not valid; the message names "
                                                   "each problem."),
            "E403": api._json(api._ref("Error"), "The token may only read.")}


def _paths() -> dict[str, Any]:
    """The actions and targets operations. The writing operations list 405: routing answers it
    for an id beyond the schema's range when another method of the path exists."""
    ref = api._ref
    body = api._json
    errors = api._errors

    def request_body(name: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": ref(name)}}}

    status = {"name": "status", "in": "query", "required": False,
              "schema": {"type": "string", "enum": ["planned", "in_progress", "done",
                                                    "dropped"]}}
    dimension = {"name": "dimension", "in": "query", "required": False,
                 "schema": {"type": "string"}}
    page = {"name": "page", "in": "query", "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}}
    per_page = {"name": "per_page", "in": "query", "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": api.PER_PAGE_MAX,
                           "default": api.PER_PAGE_DEFAULT}}
    paths: dict[str, Any] = {}
    paths[f"{PREFIX}/assessments/{{assessment_id}}/actions"] = {
        "get": {"operationId": "listActions",
                "summary": "The assessment's actions, soonest due first.",
                "parameters": [api.ASSESSMENT_ID, status, dimension, page, per_page],
                "responses": {"200": body(ref("ActionList"), "A page of actions."),
                              **errors(400, 401, 404, 500)}},
        "post": {"operationId": "createAction",
                 "summary": "Record an action (needs a token that may write).",
                 "parameters": [api.ASSESSMENT_ID], "requestBody": request_body("ActionIn"),
                 "responses": {"201": body(ref("ActionOut"), "The action, with its history."),
                               **errors(400, 401, 403, 404, 405, 422, 500)}},
    }
    paths[f"{PREFIX}/actions/{{action_id}}"] = {
        "patch": {"operationId": "updateAction",
                  "summary": "Change the fields given; the history keeps each change.",
                  "parameters": [ACTION_PARAM], "requestBody": request_body("ActionPatch"),
                  "responses": {"200": body(ref("ActionOut"), "The action."),
                                **errors(400, 401, 403, 404, 405, 422, 500)}},
    }
    paths[f"{PREFIX}/assessments/{{assessment_id}}/targets"] = {
        "get": {"operationId": "getTargets",
                "summary": "Targets per dimension and lens against the latest release.",
                "parameters": [api.ASSESSMENT_ID],
                "responses": {"200": body(ref("Targets"), "The targets."),
                              **errors(401, 404, 500)}},
        "put": {"operationId": "putTargets",
                "summary": "Replace the assessment's targets (needs a token that may write).",
                "parameters": [api.ASSESSMENT_ID], "requestBody": request_body("TargetsIn"),
                "responses": {"200": body(ref("Targets"), "The targets now."),
                              **errors(400, 401, 403, 404, 405, 422, 500)}},
    }
    return paths


api.CONTRIBUTIONS.append(
    api.Contribution(paths=_paths, schemas=_schemas, responses=_responses))

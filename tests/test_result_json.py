"""The analysis result's JSON is unchanged by its typed models: the `analyze` command on the demo
export and on a noise data set, and the API's results for the demo's releases, give the same keys,
value types and values as the code before the models did.

The files in tests/fixtures/results were written by that earlier code (the untyped result): the
demo's export (`flask demo`, seed 7, the first cycle's answers), a noise set (uniform random
answers from numpy's default_rng(2024), 5 teams of 12/9/7/4/6 people, 8% don't know, three roles)
analysed with and without roles, and the stored results of the demo's two releases. One part
was written again later, by the code that made the perception-cluster test require a practical
size as well as significance: `divergence.clusters` (new `test` figures, a new bar, and the
clusters the new k-means of the test gives). Everything else is still the earlier code's output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from assessment import db
from assessment.models import Assessment

from .conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "results"
BANK = ROOT / "question_banks" / "alignment.yaml"


def differences(before: Any, after: Any, path: str = "$") -> list[str]:
    """Every place where two JSON documents differ in keys, key order, type or value."""
    if type(before) is not type(after):
        return [f"{path}: {type(before).__name__} {before!r} became "
                f"{type(after).__name__} {after!r}"]
    if isinstance(before, dict):
        found = []
        if list(before) != list(after):
            found.append(f"{path}: keys {list(before)} became {list(after)}")
        for key in before.keys() & after.keys():
            found += differences(before[key], after[key], f"{path}.{key}")
        return found
    if isinstance(before, list):
        if len(before) != len(after):
            return [f"{path}: {len(before)} entries became {len(after)}"]
        return [d for i, (b, a) in enumerate(zip(before, after, strict=True))
                for d in differences(b, a, f"{path}[{i}]")]
    if isinstance(before, float) and math.isnan(before) and math.isnan(after):
        return []
    return [] if before == after else [f"{path}: {before!r} became {after!r}"]


def test_the_comparison_sees_each_kind_of_change() -> None:
    base = {"a": 1, "b": [1.5, {"c": None}], "d": True}
    assert differences(base, json.loads(json.dumps(base))) == []
    assert differences(base, {"b": [1.5, {"c": None}], "a": 1, "d": True})  # order
    assert differences(base, {"a": 1.0, "b": [1.5, {"c": None}], "d": True})  # int -> float
    assert differences(base, {"a": 1, "b": [1.5, {"c": 0}], "d": True})  # None -> 0
    assert differences(base, {"a": 1, "b": [1.5000001, {"c": None}], "d": True})
    assert differences(base, {"a": 1, "b": [1.5, {"c": None}], "d": 1})  # bool -> int
    assert differences(base, {"a": 1, "b": [1.5, {"c": None}, 2], "d": True})
    assert differences(base, {"a": 1, "b": [1.5, {"c": None}], "d": True, "e": 2})


@pytest.mark.parametrize(("name", "csv", "roles"), [
    ("demo", "demo", True), ("noise", "noise", True), ("noise_no_roles", "noise", False)])
def test_analyze_json_is_unchanged(runner, tmp_path: Path, name: str, csv: str,  # type: ignore[no-untyped-def]
                                   roles: bool) -> None:
    out = tmp_path / "out.json"
    args = ["analyze", str(FIXTURES / f"{csv}.csv"), "--bank", str(BANK), "--group-col", "team",
            "--format", "json", "--out", str(out)]
    if roles:
        args += ["--role-col", "role"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    before = json.loads((FIXTURES / f"{name}.json").read_text())
    assert differences(before, json.loads(out.read_text())) == []


def test_api_results_of_the_demo_releases_are_unchanged(app, demo) -> None:  # type: ignore[no-untyped-def]
    from .test_api import bearer, token_for

    token = token_for(app, "lead@demo.example")
    with app.app_context():
        ids = db.session().scalars(sa.select(Assessment.id).order_by(Assessment.id)).all()
    before = json.loads((FIXTURES / "demo_releases.json").read_text())
    client = app.test_client()
    for i, assessment_id in enumerate(ids):
        response = client.get(f"/api/v1/assessments/{assessment_id}/results",
                              headers=bearer(token))
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        # The fixture was written with sorted keys: compare values and types here, the order of
        # keys in `analyze`'s output above.
        after = json.loads(json.dumps(response.get_json()["results"], sort_keys=True))
        assert differences(before[f"cycle{i + 1}"], after) == []


def _validator(document: dict[str, Any], component: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource(
        "urn:api", Resource.from_contents(document, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:api#/components/schemas/{component}"},
                                registry=registry)


def test_api_results_of_the_demo_validate_against_the_generated_schema(app, demo) -> None:  # type: ignore[no-untyped-def]
    from .test_api import bearer, token_for

    token = token_for(app, "lead@demo.example")
    client = app.test_client()
    document = client.get("/api/v1/openapi.json").get_json()
    validator = _validator(document, "Results")
    with app.app_context():
        ids = db.session().scalars(sa.select(Assessment.id).order_by(Assessment.id)).all()
    for assessment_id in ids:
        body = client.get(f"/api/v1/assessments/{assessment_id}/results",
                          headers=bearer(token)).get_json()
        assert [e.message for e in validator.iter_errors(body)] == []
        # The schema is strict enough to notice a renamed field or a cell that is neither
        # shown nor suppressed.
        dim = next(iter(body["results"]["dimensions"].values()))
        dim["scores"] = dim.pop("score")
        team = next(iter(dim["groups"]))
        dim["groups"][team] = {"suppressed": False}
        found = [e.message for e in validator.iter_errors(body)]
        assert any("'score' is a required property" in m for m in found), found
        assert any("scores" in m for m in found), found
        assert len(found) == 3, found


def test_the_schema_follows_the_models() -> None:
    from assessment.analysis.result import AnalysisResult, DimensionResult
    from assessment.web.api import openapi_document

    schemas = openapi_document()["components"]["schemas"]
    assert list(schemas["Analysis"]["properties"]) == list(AnalysisResult.model_fields)
    assert list(schemas["DimensionResult"]["properties"]) == list(DimensionResult.model_fields)
    assert set(schemas["Stats"]["required"]) == {"n", "mean", "sd", "ci95", "score"}
    # Keys the result leaves out rather than null are optional; every other one is required.
    assert "roles" not in schemas["DimensionResult"]["required"]
    assert "role_gap" in schemas["DimensionResult"]["required"]
    assert schemas["Results"]["properties"]["results"] == {"$ref": "#/components/schemas/Analysis"}


def test_releases_stored_by_the_untyped_code_load_through_the_models() -> None:
    from assessment.analysis.result import AnalysisResult

    stored = json.loads((FIXTURES / "demo_releases.json").read_text())
    for cycle in stored.values():
        loaded = AnalysisResult.model_validate(cycle)
        assert loaded.suppressed is None  # a release keeps what it hid apart from its result
        assert differences(cycle, json.loads(json.dumps(loaded.to_json(), sort_keys=True))) == []
    renamed = json.loads(json.dumps(stored["cycle1"]))
    renamed["overall"]["alignments"] = renamed["overall"].pop("alignment")
    with pytest.raises(ValueError, match="alignment"):
        AnalysisResult.model_validate(renamed)

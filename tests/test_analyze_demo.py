"""`analyze` on the demo data gives the same results as the service computes for the stored
assessment: the command and the dashboards share one analysis."""

from __future__ import annotations

import json

import sqlalchemy as sa

from assessment import db, repository
from assessment.models import Assessment
from assessment.services.banks import bank_of
from assessment.services.results import results

from .conftest import ROOT


def test_analyze_on_an_export_of_the_demo_matches_the_service(app, runner, demo,  # type: ignore[no-untyped-def]
                                                              tmp_path) -> None:
    with app.app_context():
        session = db.session()
        baseline = session.scalar(sa.select(Assessment).order_by(Assessment.id))
        bank = bank_of(baseline.bank)
        frames = repository.submitted_answers(session, baseline.id, bank.question_ids)
        stored = results(session, baseline).analysis.to_json()
    export = frames.answers.assign(team=frames.groups, role=frames.roles)
    export.to_csv(tmp_path / "demo.csv", index=False)
    out = tmp_path / "demo.json"
    result = runner.invoke(args=["analyze", str(tmp_path / "demo.csv"), "--bank",
                                 str(ROOT / "question_banks" / "alignment.yaml"), "--group-col",
                                 "team", "--role-col", "role", "--format", "json", "--out",
                                 str(out)])
    assert result.exit_code == 0, result.output
    computed = json.loads(out.read_text())
    assert computed["n_respondents"] == stored["n_respondents"] == 150
    for dim, entry in stored["dimensions"].items():
        # The release publishes scores to 2 decimals and statistics to 3.
        assert abs(computed["dimensions"][dim]["score"] - entry["score"]) <= 0.005
        assert abs(computed["dimensions"][dim]["rwg_j_mean"] - entry["rwg_j_mean"]) <= 0.0005
        assert computed["dimensions"][dim]["groups"].keys() == entry["groups"].keys()
    assert computed["readiness"]["verdict"] == stored["readiness"]["verdict"]
    assert [r["id"] for r in computed["recommendations"]] == [
        r["id"] for r in stored["recommendations"]]

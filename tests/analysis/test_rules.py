"""Recommendations and readiness: three-valued logic, `*` dimensions, ranking, text, verdicts."""

from __future__ import annotations

import pytest

from assessment.analysis.rules import INSUFFICIENT_DATA, Facts, evaluate, readiness, recommend
from assessment.banks import parse_bank

BASE = {
    "id": "rules", "version": 1, "title": "Rules",
    "scale": {"min": 1, "max": 5},
    "dimensions": [{"id": "handoffs", "title": "Handoffs"}, {"id": "data", "title": "Data"}],
    "questions": [{"id": "H1", "dimension": "handoffs", "text": "h"},
                  {"id": "D1", "dimension": "data", "text": "d"}],
}


def bank_with(recommendations=(), gates=()):
    return parse_bank({**BASE, "recommendations": list(recommendations),
                       "readiness": list(gates)})


def facts(handoffs=None, data=None, **global_):
    return Facts({"handoffs": handoffs or {}, "data": data or {}},
                 {"n_respondents": 50, **global_})


def no_evidence(dimension, clauses):
    return {"facts": clauses}


def clause(fact, op, value, dimension=None):
    out = {"fact": fact, "op": op, "value": value}
    if dimension:
        out["dimension"] = dimension
    return out


def test_three_valued_logic():
    f = facts(handoffs={"lens_gap": -20, "consensus": None})
    gap = clause("lens_gap", "<", -15, "handoffs")
    unknown = clause("consensus", "<", 0.7, "handoffs")
    false = clause("lens_gap", ">", 0, "handoffs")
    assert evaluate({"all": [gap, unknown]}, f, None)[0] is None
    assert evaluate({"all": [gap, unknown, false]}, f, None)[0] is False
    assert evaluate({"any": [unknown, gap]}, f, None)[0] is True
    assert evaluate({"any": [unknown, false]}, f, None)[0] is None
    assert evaluate({"all": [gap, {"any": [false, gap]}]}, f, None)[0] is True


def test_margin_is_in_units_of_the_fact_range():
    f = facts(handoffs={"lens_gap": -30, "consensus": 0.55})
    _, gap_margin, _ = evaluate(clause("lens_gap", "<", -15, "handoffs"), f, None)
    _, consensus_margin, _ = evaluate(clause("consensus", "<", 0.7, "handoffs"), f, None)
    assert gap_margin == pytest.approx(0.15)
    assert consensus_margin == pytest.approx(0.15)


def test_star_rules_fire_per_dimension_and_rank_by_priority_then_distance():
    bank = bank_with(recommendations=[
        {"id": "low-consensus", "priority": "medium", "title": "Low consensus in {dimension}",
         "when": clause("consensus", "<", 0.7, "*"),
         "text": "{dimension_title}: consensus {consensus:.2f}."},
        {"id": "lags", "priority": "high", "title": "Lags",
         "when": {"all": [clause("lens_gap", "<", -15, "handoffs")]},
         "text": "Gap {lens_gap:.0f} points; alpha {alpha:.2f}."},
        {"id": "few", "priority": "low", "title": "Few", "when": clause("n_respondents", "<", 100),
         "text": "{n_respondents} answered."},
    ])
    f = facts(handoffs={"consensus": 0.65, "lens_gap": -22}, data={"consensus": 0.40})
    fired = recommend(bank, f, no_evidence)
    assert [(r["id"], r["dimension"]) for r in fired] == [
        ("lags", "handoffs"), ("low-consensus", "data"), ("low-consensus", "handoffs"),
        ("few", None)]
    assert fired[0]["text"] == "Gap -22 points; alpha n/a."
    assert fired[1]["text"] == "Data: consensus 0.40."
    assert fired[1]["title"] == "Low consensus in data"
    assert fired[3]["text"] == "50 answered."
    assert fired[0]["evidence"]["facts"][0] == {"fact": "lens_gap", "dimension": "handoffs",
                                                "op": "<", "threshold": -15, "value": -22,
                                                "holds": True}


def test_a_rule_on_unknown_facts_does_not_fire():
    bank = bank_with(recommendations=[
        {"id": "roles", "priority": "high", "title": "Roles", "text": "t",
         "when": clause("role_gap", ">", 10, "handoffs")}])
    assert recommend(bank, facts(handoffs={"role_gap": None}), no_evidence) == []


GATES = [
    {"id": "gap", "severity": "block", "reason": "Handoffs rely on people.",
     "require": clause("lens_gap", ">=", -25, "handoffs")},
    {"id": "consensus", "severity": "warn", "reason": "Teams disagree.",
     "require": clause("consensus", ">=", 0.7, "*")},
]


def test_verdict_ready_when_every_gate_passes():
    f = facts(handoffs={"lens_gap": -5, "consensus": 0.8}, data={"consensus": 0.75})
    out = readiness(bank_with(gates=GATES), f)
    assert out["verdict"] == "ready"
    assert all(g["passed"] and g["reason"] is None for g in out["gates"])


def test_verdict_conditional_when_only_warn_gates_fail():
    f = facts(handoffs={"lens_gap": -5, "consensus": 0.8}, data={"consensus": 0.5})
    out = readiness(bank_with(gates=GATES), f)
    assert out["verdict"] == "conditional"
    gate = out["gates"][1]
    assert gate["reason"] == "Teams disagree."
    assert gate["evidence"]["failing_dimensions"] == ["data"]


def test_verdict_not_ready_when_a_block_gate_fails():
    f = facts(handoffs={"lens_gap": -40, "consensus": 0.8}, data={"consensus": 0.9})
    out = readiness(bank_with(gates=GATES), f)
    assert out["verdict"] == "not_ready"
    assert out["gates"][0]["reason"] == "Handoffs rely on people."


def test_gate_on_facts_that_cannot_be_computed_fails_with_insufficient_data():
    f = facts(handoffs={"lens_gap": None, "consensus": 0.8}, data={"consensus": 0.9})
    out = readiness(bank_with(gates=GATES), f)
    assert out["verdict"] == "not_ready"
    assert out["gates"][0]["passed"] is False
    assert out["gates"][0]["reason"] == INSUFFICIENT_DATA


def test_no_gates_no_verdict():
    assert readiness(bank_with(), facts()) == {"verdict": None, "gates": []}

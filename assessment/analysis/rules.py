"""Recommendations and the re-platforming readiness verdict, evaluated from facts and bank rules.

Owns the rule language of the bank (`all` / `any` of `{fact, dimension, op, value}` clauses,
nesting allowed, `dimension: "*"` for each dimension in turn) and its evaluation over the computed
facts. A fact that could not be computed is unknown, and logic is three-valued: `all` is false if
any clause is false, unknown if any is unknown, else true; `any` is true if any clause is true. A
recommendation fires only when its condition is true; a readiness gate passes only when its
requirement is true, and fails with "insufficient data" when it is unknown.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from assessment.banks import Bank
from assessment.banks.texts import fill as fill_placeholders

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
}
PRIORITY_ORDER = {"high": 0, "medium": 1, "low": 2}
# How far a fact is past its threshold is compared across facts in units of each fact's range,
# so that 15 points of lens gap and .15 of rwg(j) weigh the same.
FACT_RANGE: dict[str, float] = {
    "score": 100.0, "architecture": 100.0, "operating_model": 100.0, "lens_gap": 100.0,
    "alignment": 100.0, "role_gap": 100.0, "overall_alignment": 100.0, "overall_score": 100.0,
    "consensus": 1.0, "alpha": 1.0, "response_rate": 1.0, "divergent_items": 10.0,
    "role_gap_p": 1.0, "teams_without_agreement": 5.0,
    "clusters": 7.0, "n_respondents": 100.0,
}
INSUFFICIENT_DATA = "insufficient data"


class Facts:
    """The computed facts: `dimensions[dim_id][fact]` and `global_[fact]`, None when unknown."""

    def __init__(self, dimensions: dict[str, dict[str, Any]], global_: dict[str, Any]) -> None:
        self.dimensions = dimensions
        self.global_ = global_

    def value(self, fact: str, dimension: str | None) -> Any:
        if dimension is None:
            return self.global_.get(fact)
        return self.dimensions.get(dimension, {}).get(fact)


def _dimensions_named(condition: dict[str, Any]) -> list[str]:
    """Every dimension a condition names, in order of appearance ("*" included)."""
    if "all" in condition or "any" in condition:
        clauses = condition.get("all", condition.get("any", []))
        named: list[str] = []
        for clause in clauses:
            named.extend(d for d in _dimensions_named(clause) if d not in named)
        return named
    dim = condition.get("dimension")
    return [] if dim is None else [dim]


def evaluate(condition: dict[str, Any], facts: Facts, star: str | None
             ) -> tuple[bool | None, float, list[dict[str, Any]]]:
    """Evaluate a condition with `*` standing for dimension `star`.

    Returns (truth, margin, clauses): truth is True, False or None (unknown); margin is how far past
    its threshold the condition is, in units of each fact's range (the weakest clause of an `all`,
    the strongest of an `any`); clauses lists each leaf with the value it was tested on.
    """
    if "all" in condition or "any" in condition:
        key = "all" if "all" in condition else "any"
        results = [evaluate(c, facts, star) for c in condition[key]]
        truths = [r[0] for r in results]
        margins = [r[1] for r in results]
        clauses = [leaf for r in results for leaf in r[2]]
        if key == "all":
            truth = False if False in truths else (None if None in truths else True)
            margin = min(margins)
        else:
            truth = True if True in truths else (None if None in truths else False)
            margin = max(margins)
        return truth, margin, clauses
    fact, op, threshold = condition["fact"], condition["op"], condition["value"]
    dim = condition.get("dimension")
    if dim == "*":
        dim = star
    actual = facts.value(fact, dim)
    leaf = {"fact": fact, "dimension": dim, "op": op, "threshold": threshold, "value": actual}
    if actual is None:
        return None, float("-inf"), [leaf]
    holds = OPERATORS[op](actual, threshold)
    distance = abs(actual - threshold) / FACT_RANGE.get(fact, 1.0)
    leaf["holds"] = holds
    return holds, (distance if holds else -distance), [leaf]


def _targets(condition: dict[str, Any], bank: Bank) -> list[str | None]:
    """The dimensions a rule is evaluated for: each for "*", else the first one it names, else
    None (a rule on global facts only)."""
    named = _dimensions_named(condition)
    if "*" in named:
        return [d.id for d in bank.dimensions]
    return [named[0]] if named else [None]


def recommend(bank: Bank, facts: Facts,
              evidence: Callable[[str | None, list[dict[str, Any]]], dict[str, Any]]
              ) -> list[dict[str, Any]]:
    """The bank's recommendations whose condition holds, highest priority first, then furthest
    past the threshold.

    `evidence(dimension, clauses)` supplies the items and reportable groups behind a firing rule.
    Each entry: `id`, `title`, `text` (placeholders filled from the dimension's and the global
    facts), `priority`, `dimension` (None for a rule on global facts only), `evidence`.
    """
    fired: list[tuple[int, float, int, dict[str, Any]]] = []
    for order, rule in enumerate(bank.recommendations):
        for target in _targets(rule.when, bank):
            truth, margin, clauses = evaluate(rule.when, facts, target)
            if truth is not True:
                continue
            values = dict(facts.global_)
            if target is not None:
                values.update(facts.dimensions.get(target, {}))
                values["dimension"] = target
                values["dimension_title"] = bank.dimension(target).title
            fired.append((PRIORITY_ORDER.get(rule.priority, 1), -margin, order, {
                "id": rule.id,
                "title": fill_placeholders(rule.title, values),
                "text": fill_placeholders(rule.text, values),
                "priority": rule.priority,
                "dimension": target,
                "strength": margin,
                "evidence": evidence(target, clauses),
            }))
    fired.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in fired]


def readiness(bank: Bank, facts: Facts) -> dict[str, Any]:
    """The re-platforming verdict from the bank's gates.

    A gate with `dimension: "*"` must hold for every dimension. Returns `{"verdict", "gates"}`:
    verdict `not_ready` if a block gate fails, `conditional` if only warn gates fail, `ready` if
    all pass, None when the bank defines no gates. Each gate: `id`, `severity`, `passed`, `reason`
    (the gate's reason, or "insufficient data"; None when passed), `evidence` (the tested facts and
    the dimensions where it failed).
    """
    gates: list[dict[str, Any]] = []
    for gate in bank.readiness:
        targets = _targets(gate.require, bank)
        results = [(t, *evaluate(gate.require, facts, t)) for t in targets]
        truths = [r[1] for r in results]
        passed = all(t is True for t in truths)
        if passed:
            reason = None
        elif False in truths:
            reason = gate.reason
        else:
            reason = INSUFFICIENT_DATA
        gates.append({
            "id": gate.id,
            "severity": gate.severity,
            "passed": passed,
            "reason": reason,
            "evidence": {
                "clauses": [leaf for r in results for leaf in r[3]],
                "failing_dimensions": [t for t, truth, _, _ in results
                                       if truth is not True and t is not None],
            },
        })
    failed = {g["severity"] for g in gates if not g["passed"]}
    if not gates:
        verdict = None
    elif "block" in failed:
        verdict = "not_ready"
    elif "warn" in failed:
        verdict = "conditional"
    else:
        verdict = "ready"
    return {"verdict": verdict, "gates": gates}

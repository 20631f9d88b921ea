"""Cycles: an assessment created as the next cycle of an earlier one, compared with it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..analysis.cycles import compare_cycles
from ..models import Assessment
from . import results as results_svc

MAX_CYCLES = 12


@dataclass
class Comparison:
    previous: Assessment
    change: dict
    trend: list[tuple[str, dict[str, float | None]]]


def chain(assessment: Assessment) -> list[Assessment]:
    """This assessment and its predecessors, oldest first."""
    out, seen = [], set()
    node: Assessment | None = assessment
    while node is not None and node.id not in seen and len(out) < MAX_CYCLES:
        out.append(node)
        seen.add(node.id)
        node = node.previous
    return out[::-1]


def compare_with_previous(session: Session, assessment: Assessment,
                          analysis: dict) -> Comparison | None:
    if assessment.previous is None:
        return None
    history = []
    previous_analysis = None
    for cycle in chain(assessment):
        cycle_analysis = (analysis if cycle.id == assessment.id
                          else results_svc.results(session, cycle).analysis)
        if cycle.id == assessment.previous_id:
            previous_analysis = cycle_analysis
        if cycle_analysis:
            history.append((cycle.name, {d: v.get("score") for d, v in
                                         cycle_analysis["dimensions"].items()}))
    if previous_analysis is None:
        return None
    return Comparison(assessment.previous, compare_cycles(previous_analysis, analysis), history)

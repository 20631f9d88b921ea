"""Cycles: an assessment created as the next cycle of an earlier one, compared with it.

Each cycle is read through its latest release, and only cycles the viewer may read are shown: a
lead shared the later cycle only is told that an earlier one exists, never what it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..models import Assessment, User
from . import access, releases

if TYPE_CHECKING:
    from ..analysis.result import AnalysisResult

MAX_CYCLES = 12


@dataclass
class Comparison:
    previous: Assessment | None  # None when the previous cycle is not shared with the viewer
    change: dict[str, Any] | None
    trend: list[tuple[str, dict[str, float | None]]]
    not_shared: bool = False  # an earlier cycle was left out because the viewer may not read it


def chain(assessment: Assessment) -> list[Assessment]:
    """This assessment and its predecessors, oldest first."""
    out: list[Assessment] = []
    seen: set[int] = set()
    node: Assessment | None = assessment
    while node is not None and node.id not in seen and len(out) < MAX_CYCLES:
        out.append(node)
        seen.add(node.id)
        node = node.previous
    return out[::-1]


def _readable(session: Session, viewer: User | None, cycle: Assessment) -> bool:
    if viewer is None:  # the command line reads everything
        return True
    return session.scalar(access.visible_assessments(viewer).where(
        Assessment.id == cycle.id)) is not None


def compare_with_previous(session: Session, assessment: Assessment, analysis: AnalysisResult,
                          viewer: User | None, readable: set[int] | None = None
                          ) -> Comparison | None:
    """The comparison with the earlier cycles `viewer` may read; a job building it for a viewer
    it does not have passes the ids of those cycles as `readable` instead."""
    if assessment.previous is None:
        return None
    # scipy: loaded in the worker, not for a page
    from ..analysis.cycles import CycleFigures, compare_cycles

    history = []
    previous_analysis = None
    not_shared = False
    for cycle in chain(assessment):
        if cycle.id == assessment.id:
            cycle_analysis: AnalysisResult | None = analysis
        elif (cycle.id not in readable if readable is not None
              else not _readable(session, viewer, cycle)):
            not_shared = True
            continue
        else:
            found = releases.latest(session, cycle)
            cycle_analysis = releases.analysis_of(found) if found else None
        if cycle.id == assessment.previous_id:
            previous_analysis = cycle_analysis
        if cycle_analysis:
            history.append((cycle.name, {d: v.score for d, v in
                                         cycle_analysis.dimensions.items()}))
    if previous_analysis is None:
        if not_shared:
            return Comparison(None, None, history, not_shared=True)
        return None
    previous = assessment.previous
    k = max(previous.min_group_size, assessment.min_group_size,
            previous_analysis.min_group_size, analysis.min_group_size)
    change = compare_cycles(CycleFigures.of(previous_analysis), CycleFigures.of(analysis), k)
    return Comparison(previous, change, history, not_shared)

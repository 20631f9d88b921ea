"""The parsed form of a question bank: frozen dataclasses shared by the web layer and the analysis.

Kept free of Flask and SQLAlchemy so the analysis core can import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Lens = Literal["architecture", "operating_model"]
LENSES: tuple[str, ...] = ("architecture", "operating_model")
PRIORITIES: tuple[str, ...] = ("high", "medium", "low")
SEVERITIES: tuple[str, ...] = ("block", "warn")
OPS: tuple[str, ...] = ("<", "<=", ">", ">=", "==")

# Facts a recommendation or readiness condition may name. Dimension facts need a dimension
# (an id or "*"); global facts must not have one.
DIMENSION_FACTS: frozenset[str] = frozenset(
    {
        "score",
        "architecture",
        "operating_model",
        "lens_gap",
        "alignment",
        "consensus",
        "alpha",
        "role_gap",
        "role_gap_p",
        "teams_without_agreement",
        "divergent_items",
    }
)
GLOBAL_FACTS: frozenset[str] = frozenset(
    {"overall_alignment", "overall_score", "n_respondents", "response_rate", "clusters"}
)


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    labels: dict[int, str]
    not_applicable: bool = True

    @property
    def points(self) -> list[int]:
        return list(range(self.min, self.max + 1))


@dataclass(frozen=True)
class Dimension:
    id: str
    title: str
    description: str = ""
    weight: float = 1.0


@dataclass(frozen=True)
class Question:
    id: str
    dimension: str
    text: str
    lens: Lens | None = None
    help: str = ""
    reverse: bool = False


@dataclass(frozen=True)
class Recommendation:
    id: str
    when: dict[str, Any]
    priority: str
    title: str
    text: str


@dataclass(frozen=True)
class Gate:
    id: str
    severity: str
    require: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class Bank:
    id: str
    version: int
    title: str
    scale: Scale
    dimensions: tuple[Dimension, ...]
    questions: tuple[Question, ...]
    description: str = ""
    recommendations: tuple[Recommendation, ...] = ()
    readiness: tuple[Gate, ...] = ()
    _by_id: dict[str, Question] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({q.id: q for q in self.questions})

    def question(self, question_id: str) -> Question:
        return self._by_id[question_id]

    def has_question(self, question_id: str) -> bool:
        return question_id in self._by_id

    def dimension(self, dimension_id: str) -> Dimension:
        return next(d for d in self.dimensions if d.id == dimension_id)

    def questions_in(self, dimension_id: str) -> list[Question]:
        return [q for q in self.questions if q.dimension == dimension_id]

    @property
    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

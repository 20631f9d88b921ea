"""The analysis result as typed models: what `analyze` returns and what every reader reads.

Owns the shape of the result shared by the `analyze` command, the stored releases, the pages,
the reports and the API (whose OpenAPI schema is generated from these models). A renamed or
retyped field therefore fails in mypy wherever it is read, and in the schema tests.

The JSON form (`AnalysisResult.to_json()`) is the one the untyped result had: the same keys in the
same order, NaN and infinities as null, and a few keys left out rather than null where the result
always left them out (the role breakdowns of an analysis without roles, the `holds` of a clause
whose fact is unknown). Stored releases are read back with `AnalysisResult.model_validate(json)`;
unknown keys are refused, so a result that does not match the models is never half-read.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    SerializerFunctionWrapHandler,
    Tag,
    model_serializer,
)

Lens = Literal["architecture", "operating_model"]
ConsensusReading = Literal["agree", "moderate", "weak"]
Priority = Literal["high", "medium", "low"]
Severity = Literal["block", "warn"]
Verdict = Literal["ready", "conditional", "not_ready"]
Operator = Literal["<", "<=", ">", ">=", "=="]
DivergenceReason = Literal["disagree_within_groups", "groups_differ", "roles_differ"]
# A statistic that may not be computable (too few answers, no spread): null in JSON.
Figure = float | None


class ResultPart(BaseModel):
    """A part of the result: unknown keys refused; `omitted_when_none` fields are left out of
    the output when None, as the untyped result left them out."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    omitted_when_none: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self.omitted_when_none:
            if data.get(name, 0) is None:
                del data[name]
        return data


class Suppressed(ResultPart):
    """A cell with too few people to show (or that would give a hidden one away)."""

    suppressed: Literal[True]


def _shown_or_suppressed(value: Any) -> str:
    if isinstance(value, dict):
        return "suppressed" if value.get("suppressed") else "shown"
    return "suppressed" if isinstance(value, Suppressed) else "shown"


class Stats(ResultPart):
    """Mean, spread and 0-100 score of one group's answers on an item or dimension."""

    n: int
    mean: Figure
    sd: Figure
    ci95: tuple[Figure, Figure]
    score: Figure


class LensScores(ResultPart):
    architecture: Figure
    operating_model: Figure


class ItemGroupCell(Stats):
    """A team's answers on one item, with its agreement figures."""

    rwg: Figure
    rwg_skewed: Figure
    rwg_chance: Figure
    agrees: bool | None
    split: bool | None
    ad_m: Figure


class DimensionGroupCell(Stats):
    """A team's scores on one dimension, with its agreement and reliability figures."""

    rwg_j: Figure
    rwg_j_skewed: Figure
    rwg_j_chance: Figure
    rwg_mean: Figure
    agrees: bool | None
    ad_m: Figure
    ad_m_agrees: bool | None
    reliability: Figure
    reliable: bool | None
    lenses: LensScores


StatsCell = Annotated[
    Annotated[Stats, Tag("shown")] | Annotated[Suppressed, Tag("suppressed")],
    Discriminator(_shown_or_suppressed),
]
ItemCell = Annotated[
    Annotated[ItemGroupCell, Tag("shown")] | Annotated[Suppressed, Tag("suppressed")],
    Discriminator(_shown_or_suppressed),
]
DimensionCell = Annotated[
    Annotated[DimensionGroupCell, Tag("shown")] | Annotated[Suppressed, Tag("suppressed")],
    Discriminator(_shown_or_suppressed),
]


class ItemResult(ResultPart):
    """One question: overall statistics, agreement, answer distribution, per team and role."""

    omitted_when_none = frozenset({"roles"})

    dimension: str
    lens: Lens | None
    reverse: bool
    n: int
    mean: Figure
    sd: Figure
    ci95: tuple[Figure, Figure]
    score: Figure
    icc1: Figure
    icc2: Figure
    rwg_mean: Figure
    rwg_skewed_mean: Figure
    ad_m_mean: Figure
    distribution: dict[str, int]  # answers per scale point ("1".."5")
    groups: dict[str, ItemCell]
    roles: dict[str, StatsCell] | None = None  # left out when the analysis has no roles


class RoleGapTest(ResultPart):
    """The highest and lowest reportable role and the test of their gap (None: under 2 roles)."""

    high: str | None
    low: str | None
    effect_size: Figure
    p_value: Figure
    p_adjusted: Figure
    q_value: Figure


class DimensionResult(ResultPart):
    """One dimension: scores, reliability, agreement, lenses and alignment, per team and role."""

    omitted_when_none = frozenset({"role_gap_test", "roles", "group_roles"})

    title: str
    weight: float
    items: list[str]
    n: int
    mean: Figure
    sd: Figure
    ci95: tuple[Figure, Figure]
    score: Figure
    alpha: Figure
    icc1: Figure
    icc2: Figure
    icc_f: Figure
    icc_p: Figure
    icc1_group_size: Figure
    rwg_j_mean: Figure
    rwg_j_skewed_mean: Figure
    consensus_skewed: Figure
    teams_shown: int
    teams_beyond_chance: int
    teams_without_agreement: int | None
    teams_agree: int
    teams_reliable: int
    readings_differ: list[str]
    ad_m_mean: Figure
    lens_stats: dict[Lens, Stats]
    role_gap: Figure
    groups: dict[str, DimensionCell]
    # Left out when the analysis has no roles.
    role_gap_test: RoleGapTest | None = None
    roles: dict[str, StatsCell] | None = None
    group_roles: dict[str, dict[str, StatsCell]] | None = None
    lenses: LensScores
    lens_gap: Figure
    alignment: Figure
    consensus: Figure
    consensus_reading: ConsensusReading | None
    low_confidence: bool
    divergent_items: int


class BankRef(ResultPart):
    id: str
    version: int
    title: str


class ScaleRef(ResultPart):
    min: int
    max: int


class Overall(ResultPart):
    alignment: Figure
    score: Figure
    consensus: Figure
    consensus_reading: ConsensusReading | None
    groups: int
    groups_suppressed: int
    roles: int
    roles_suppressed: int


class AgreementTerms(ResultPart):
    """The nulls, cut-offs and error rates the agreement figures were judged by."""

    null: Literal["uniform"]
    options: int
    null_variance: float
    slightly_skewed_variance: Figure
    agreement_threshold: float
    weak_threshold: float
    beyond_chance_share: float
    chance_level: float
    ad_m_cutoff: Figure
    reliability_threshold: float
    significance: float
    effect_size: str
    pre_scored: bool
    note: str | None


class RoleGap(ResultPart):
    high: str
    low: str
    difference: Figure
    effect_size: Figure
    p_value: Figure
    p_adjusted: Figure
    q_value: Figure
    pairs: int


class DivergentItem(ResultPart):
    item: str
    dimension: str
    lens: Lens | None
    reasons: list[DivergenceReason]
    strength: float
    reportable_groups: int
    groups_below_agreement: int
    share_below_agreement: Figure
    groups_split: int
    rwg_mean: Figure
    icc1: Figure
    groups_p_value: Figure
    groups_q_value: Figure
    group_spread: Figure
    role_gap: RoleGap | None


class ClusterTest(ResultPart):
    """The test of the clusters against one population of answers like them.

    Keep in step with `clustering.describe_clusters`: a figure added there is added here."""

    reference: str
    draws: int
    significance: float
    # The practical-size figures came later: releases stored before them lack them (None).
    negligible_gain: float | None = None
    sample: int | None
    p_value: Figure
    reference_sd_by_k: dict[str, Figure]
    critical_by_k: dict[str, Figure]
    effect: str | None = None
    gain: Figure = None
    min_gain: float | None = None
    gain_by_k: dict[str, Figure] | None = None


class DistinguishingItem(ResultPart):
    item: str
    dimension: str
    lens: Lens | None
    difference: float  # cluster mean minus everyone else's, in answer-scale points


class GroupShare(ResultPart):
    group: str
    n: float
    share: float


class RoleShare(ResultPart):
    role: str
    n: float
    share: float


class Cluster(ResultPart):
    omitted_when_none = frozenset({"other_roles_n"})

    id: int
    size: int
    share: float
    label: str
    distinguishing_items: list[DistinguishingItem]
    groups: list[GroupShare]
    other_groups_n: float
    centroid_2d: list[float]
    roles: list[RoleShare]
    other_roles_n: float | None = None  # left out when the analysis has no roles


class Clusters(ResultPart):
    k: int | None  # None: too few respondents to look for clusters
    silhouette: Figure
    silhouette_by_k: dict[str, Figure]
    reference_by_k: dict[str, Figure]
    threshold: Figure
    method: str
    n_clustered: int
    test: ClusterTest
    clusters: list[Cluster]
    note: str | None


class Divergence(ResultPart):
    items: list[DivergentItem]
    clusters: Clusters


class Clause(ResultPart):
    """One tested condition of a rule, with the value it was tested on."""

    omitted_when_none = frozenset({"holds"})

    fact: str
    dimension: str | None
    op: Operator
    threshold: int | float
    value: int | float | None  # None: the fact could not be computed
    holds: bool | None = None  # left out when the fact is unknown


class EvidenceItem(ResultPart):
    omitted_when_none = frozenset({"reasons"})

    item: str
    lens: Lens | None
    reasons: list[DivergenceReason] | None = None  # only for items listed as divergent
    score: Figure


class EvidenceGroup(ResultPart):
    group: str
    score: Figure
    rwg_mean: Figure
    rwg_j: Figure
    n: int


class EvidenceCluster(ResultPart):
    id: int
    label: str
    share: float


class RoleGapEvidence(ResultPart):
    high: str
    low: str
    difference: Figure
    effect_size: Figure
    p_value: Figure
    p_adjusted: Figure
    q_value: Figure


class Evidence(ResultPart):
    """What a recommendation rests on: never a suppressed group."""

    omitted_when_none = frozenset({"clusters", "roles"})

    facts: list[Clause]
    items: list[EvidenceItem]
    groups: list[EvidenceGroup]
    clusters: list[EvidenceCluster] | None = None
    roles: RoleGapEvidence | None = None


class RecommendationResult(ResultPart):
    id: str
    title: str
    text: str
    priority: Priority
    dimension: str | None  # None for a rule on global facts only
    strength: float
    evidence: Evidence


class GateEvidence(ResultPart):
    clauses: list[Clause]
    failing_dimensions: list[str]


class GateResult(ResultPart):
    id: str
    severity: Severity
    passed: bool
    reason: str | None  # None when passed
    evidence: GateEvidence


class Readiness(ResultPart):
    verdict: Verdict | None  # None when the bank defines no gates
    gates: list[GateResult]


class SuppressedNames(ResultPart):
    """The teams, roles and team x role cells a run hid, for later releases to keep hidden."""

    groups: list[str]
    roles: list[str]
    group_roles: list[tuple[str, str]]


class AnalysisResult(ResultPart):
    """The whole analysis of one assessment's answers."""

    omitted_when_none = frozenset({"suppressed"})

    bank: BankRef
    scale: ScaleRef
    n_respondents: int
    min_group_size: int
    response_rate: Figure
    overall: Overall
    suppressed_note: str
    agreement: AgreementTerms
    dimensions: dict[str, DimensionResult]
    items: dict[str, ItemResult]
    divergence: Divergence
    recommendations: list[RecommendationResult]
    readiness: Readiness
    # What this run hid; taken off before a release is stored (the release keeps it apart).
    suppressed: SuppressedNames | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready form: plain ints, floats, strings, lists, dicts and None."""
        return self.model_dump(mode="json")

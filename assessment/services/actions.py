"""Targets and actions: what a lead aims for per dimension, what was decided to get there, and
whether the dimensions acted on moved in the next cycle.

Targets belong to an assessment; a next cycle without targets of its own reads those of the
nearest earlier cycle that has some, so a lead sets them once. Actions belong to the cycle they
were decided in; the next cycle shows them as carried over, with their status, beside the change
in the dimension (and lens) they addressed, read from the stored comparison of the two cycles'
releases, so only released results are used and the release rules keep confidentiality.

Who may change them is who may read the assessment (`access.readable_assessment`): admins, and
the leads it is shared with; anyone else is told there is nothing there.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..banks.model import LENSES, Bank
from ..db import begin_write
from ..models import (
    Action,
    ActionEvent,
    ActionFeed,
    ActionStatus,
    Assessment,
    Release,
    StoredReport,
    Target,
    User,
    utcnow,
)
from . import access, releases
from .assessments import hash_token
from .banks import bank_of
from .cycles import chain
from .errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from ..analysis.result import AnalysisResult

STATUS_LABELS = {
    ActionStatus.PLANNED: "Planned",
    ActionStatus.IN_PROGRESS: "In progress",
    ActionStatus.DONE: "Done",
    ActionStatus.DROPPED: "Dropped",
}
LENS_LABELS = {"architecture": "Architecture", "operating_model": "Operating model"}
# What a change between cycles can and cannot say about an action; shown wherever an effect is.
CAUSE_CAVEAT = ("A change is not proof that the action caused it: other things changed between "
                "the cycles too, and a change that is not meaningful may be chance.")
DEFAULT_DUE_DAYS = 90  # an action made from a recommendation is due in about a quarter
TITLE_MAX, OWNER_MAX, DESCRIPTION_MAX = 200, 254, 5000
FEED_PREFIX = "cal_"
FIELDS = ("title", "description", "owner", "due", "status", "dimension", "lens",
          "recommendation", "statements", "teams")


def status_label(status: str) -> str:
    return STATUS_LABELS.get(ActionStatus(status), status)


# -- access -----------------------------------------------------------------------------------


def action_for(session: Session, user: User, action_id: int,
               assessment_id: int | None = None) -> Action:
    """The action if `user` may read (and so change) its assessment; NotFound alike for an
    unknown id, another assessment's action and one not shared."""
    action = session.get(Action, action_id)
    if action is None or (assessment_id is not None and action.assessment_id != assessment_id):
        raise NotFound(f"There is no action {action_id} you can see.")
    try:
        access.readable_assessment(session, user, action.assessment_id)
    except NotFound:
        raise NotFound(f"There is no action {action_id} you can see.") from None
    return action


def actor_of(user: User, via: str | None = None) -> str:
    """How the history names who made a change: the account, and the API token if one."""
    return f"{user.email} (API token '{via}')" if via else user.email


# -- teams an action may name -----------------------------------------------------------------


def hidden_teams(session: Session, assessment: Assessment) -> set[str]:
    """Teams any release of the assessment hid: they stay hidden in every later one, and an
    action naming one would single out a group too small to show."""
    hidden: set[str] = set()
    for row in session.scalars(sa.select(Release.hidden).where(
            Release.assessment_id == assessment.id, Release.n_respondents > 0)):
        hidden.update(str(t) for t in (row or {}).get("groups", []))
    return hidden


def nameable_teams(session: Session, assessment: Assessment) -> list[str]:
    """The teams shown in the latest release and never hidden; none before the first release."""
    latest = releases.latest(session, assessment)
    if latest is None:
        return []
    shown = {t["team"] for t in latest.rates.get("teams", []) if not t.get("suppressed")}
    hidden = hidden_teams(session, assessment)
    return [t.name for t in assessment.teams if t.name in shown and t.name not in hidden]


# -- validation -------------------------------------------------------------------------------


def _clean_text(value: Any, name: str, maximum: int, problems: dict[str, str],
                required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        problems[name] = "This is required."
    elif len(text) > maximum:
        problems[name] = f"At most {maximum} characters."
    return text


def clean(session: Session, assessment: Assessment, data: dict[str, Any],
          partial: bool = False) -> dict[str, Any]:
    """The fields of an action checked against the assessment: its bank's dimensions, lenses,
    statements and recommendations, and the teams an action may name. Raises InvalidInput with
    one problem per field; with `partial`, only the fields given are checked."""
    bank = bank_of(assessment.bank)
    problems: dict[str, str] = {}
    out: dict[str, Any] = {}
    given = [f for f in FIELDS if f in data] if partial else list(FIELDS)
    for name in given:
        value = data.get(name)
        if name == "title":
            out[name] = _clean_text(value, name, TITLE_MAX, problems)
        elif name == "owner":
            out[name] = _clean_text(value, name, OWNER_MAX, problems)
        elif name == "description":
            out[name] = _clean_text(value, name, DESCRIPTION_MAX, problems, required=False)
        elif name == "due":
            if isinstance(value, datetime):
                value = value.date()
            if isinstance(value, str):
                try:
                    value = date.fromisoformat(value)
                except ValueError:
                    value = None
            if not isinstance(value, date):
                problems[name] = "Give a date as YYYY-MM-DD."
            out[name] = value
        elif name == "status":
            try:
                out[name] = ActionStatus(value or ActionStatus.PLANNED.value)
            except ValueError:
                problems[name] = f"One of: {', '.join(s.value for s in ActionStatus)}."
        elif name == "dimension":
            if value not in {d.id for d in bank.dimensions}:
                problems[name] = "Choose one of the question bank's dimensions."
            out[name] = value
        elif name == "lens":
            out[name] = value or None
            if value and value not in LENSES:
                problems[name] = f"One of: {', '.join(LENSES)}, or none."
        elif name == "recommendation":
            out[name] = value or None
            if value and value not in {r.id for r in bank.recommendations}:
                problems[name] = "There is no such recommendation in the question bank."
        elif name == "statements":
            items = [str(v) for v in (value or [])]
            unknown = [v for v in items if not bank.has_question(v)]
            if unknown:
                problems[name] = f"Unknown statements: {', '.join(unknown[:5])}."
            out[name] = list(dict.fromkeys(items))
        elif name == "teams":
            items = [str(v) for v in (value or [])]
            allowed = set(nameable_teams(session, assessment))
            refused = [t for t in items if t not in allowed]
            if refused:
                problems[name] = ("Only teams shown in the released results can be named "
                                  f"(not: {', '.join(refused[:5])}).")
            out[name] = list(dict.fromkeys(items))
    _check_lens(bank, data, out, problems)
    if problems:
        raise InvalidInput("The action was not saved: " + " ".join(
            f"{k}: {v}" for k, v in problems.items()), list(problems.values()), problems)
    return out


def _check_lens(bank: Bank, data: dict[str, Any], out: dict[str, Any],
                problems: dict[str, str]) -> None:
    dimension, lens = out.get("dimension"), out.get("lens")
    if (lens and dimension and "lens" not in problems and "dimension" not in problems
            and not any(q.lens == lens for q in bank.questions_in(dimension))):
        problems["lens"] = "That dimension has no statements through this lens."


# -- actions ----------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, ActionStatus):
        return value.value
    return value


def create(session: Session, assessment: Assessment, data: dict[str, Any],
           actor: str) -> Action:
    fields = clean(session, assessment, data)
    begin_write(session)
    action = Action(assessment_id=assessment.id, **fields)
    session.add(action)
    session.flush()
    session.add(ActionEvent(action_id=action.id, actor=actor, kind="created",
                            changes={k: [None, _value(v)] for k, v in fields.items()
                                     if v not in (None, "", [])}))
    session.commit()
    request_reports(session, assessment)
    return action


def update(session: Session, action: Action, data: dict[str, Any], actor: str) -> Action:
    """Change the fields given; the history keeps each change as [before, after]. A change that
    changes nothing is not recorded."""
    assessment = session.get(Assessment, action.assessment_id)
    assert assessment is not None
    merged = {f: getattr(action, f) for f in ("dimension", "lens")}
    merged.update({k: v for k, v in data.items() if k in FIELDS})
    fields = clean(session, assessment, merged, partial=True)
    begin_write(session)
    action = session.get(Action, action.id, populate_existing=True) or action
    changes = {}
    for name, value in fields.items():
        before = getattr(action, name)
        if _value(before) != _value(value):
            changes[name] = [_value(before), _value(value)]
            setattr(action, name, value)
    if changes:
        action.updated_at = utcnow()
        session.add(ActionEvent(action_id=action.id, actor=actor, kind="changed",
                                changes=changes))
    session.commit()
    if changes:
        request_reports(session, assessment)
    return action


def actions_select(assessment_ids: list[int], status: str | None = None,
                   dimension: str | None = None) -> sa.Select[tuple[Action]]:
    """Actions of the assessments, soonest due first (a select the caller can page)."""
    stmt = (sa.select(Action).where(Action.assessment_id.in_(assessment_ids))
            .order_by(Action.due, Action.id))
    if status:
        stmt = stmt.where(Action.status == ActionStatus(status))
    if dimension:
        stmt = stmt.where(Action.dimension == dimension)
    return stmt


def count(session: Session, stmt: sa.Select[tuple[Action]]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(
        stmt.order_by(None).subquery())) or 0


def history(session: Session, action: Action) -> list[ActionEvent]:
    return list(session.scalars(sa.select(ActionEvent).where(
        ActionEvent.action_id == action.id).order_by(ActionEvent.id.desc())))


def is_overdue(action: Action, today: date | None = None) -> bool:
    return (action.status in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)
            and action.due < (today or utcnow().date()))


def from_recommendation(analysis: AnalysisResult, recommendation: str, dimension: str | None,
                        teams_allowed: list[str], owner: str) -> dict[str, Any] | None:
    """A new action's fields from a recommendation of the release: its title, dimension,
    statements and teams (those an action may name), an owner and a due date to change."""
    found = next((r for r in analysis.recommendations
                  if r.id == recommendation and (dimension is None
                                                 or r.dimension == dimension)), None)
    if found is None:
        return None
    evidence = found.evidence
    lens = None
    gap = next((c for c in evidence.facts if c.fact == "lens_gap"), None)
    if gap is not None and gap.value is not None:
        lens = "architecture" if gap.value < 0 else "operating_model"
    return {
        "title": found.title[:TITLE_MAX],
        "description": found.text,
        "owner": owner,
        "due": utcnow().date() + timedelta(days=DEFAULT_DUE_DAYS),
        "status": ActionStatus.PLANNED.value,
        "dimension": found.dimension or "",
        "lens": lens,
        "recommendation": found.id,
        "statements": [i.item for i in evidence.items][:10],
        "teams": [g.group for g in evidence.groups if g.group in teams_allowed],
    }


# -- targets ----------------------------------------------------------------------------------


@dataclass
class Targets:
    values: dict[tuple[str, str], float]  # (dimension, lens or "") -> 0-100
    source: Assessment | None  # the cycle they were set on; None when none are set
    inherited: bool = False

    def get(self, dimension: str, lens: str = "") -> float | None:
        return self.values.get((dimension, lens))


def targets(session: Session, assessment: Assessment) -> Targets:
    """The assessment's targets, or those of the nearest earlier cycle that has some."""
    cycles = chain(assessment)[::-1]
    ids = [c.id for c in cycles]
    rows = session.scalars(sa.select(Target).where(Target.assessment_id.in_(ids))).all()
    for cycle in cycles:
        own = [t for t in rows if t.assessment_id == cycle.id]
        if own:
            return Targets({(t.dimension, t.lens): t.value for t in own}, cycle,
                           inherited=cycle.id != assessment.id)
    return Targets({}, None)


def set_targets(session: Session, assessment: Assessment,
                values: dict[tuple[str, str], float | None], actor: str) -> Targets:
    """Replace the assessment's own targets with `values` (None or a missing key: no target).
    Checked against the bank: known dimensions, lenses the dimension has, 0 to 100."""
    bank = bank_of(assessment.bank)
    problems: dict[str, str] = {}
    dims = {d.id for d in bank.dimensions}
    for (dim, lens), value in values.items():
        key = f"{dim}-{lens or 'all'}"
        if dim not in dims:
            problems[key] = f"Unknown dimension '{dim}'."
        elif lens and (lens not in LENSES
                       or not any(q.lens == lens for q in bank.questions_in(dim))):
            problems[key] = f"'{dim}' has no statements through the lens '{lens}'."
        elif value is not None and not 0 <= value <= 100:
            problems[key] = "A target is a score from 0 to 100."
    if problems:
        raise InvalidInput("The targets were not saved: " + " ".join(problems.values()),
                           list(problems.values()), problems)
    begin_write(session)
    session.execute(sa.delete(Target).where(Target.assessment_id == assessment.id))
    session.add_all(Target(assessment_id=assessment.id, dimension=dim, lens=lens or "",
                           value=round(float(value), 1), updated_by=actor)
                    for (dim, lens), value in values.items() if value is not None)
    session.commit()
    request_reports(session, assessment)
    return targets(session, assessment)


@dataclass
class TargetRow:
    dimension: str
    lens: str  # "" for the whole dimension
    current: float | None
    target: float | None

    @property
    def gap(self) -> float | None:
        """Points still to go (negative: the target is passed)."""
        if self.current is None or self.target is None:
            return None
        return self.target - self.current


def target_rows(analysis: AnalysisResult | None, found: Targets, bank: Bank,
                only_set: bool = False) -> list[TargetRow]:
    """Current against target per dimension and lens, in the bank's order."""
    rows = []
    dims = analysis.dimensions if analysis is not None else {}
    for d in bank.dimensions:
        entry = dims.get(d.id)
        for lens in ("", *LENSES):
            if lens and not any(q.lens == lens for q in bank.questions_in(d.id)):
                continue
            current: float | None = None
            if entry is not None:
                current = entry.score if not lens else getattr(entry.lenses, lens)
            target = found.get(d.id, lens)
            if only_set and target is None:
                continue
            rows.append(TargetRow(d.id, lens, current, target))
    return rows


def page_context(session: Session, assessment: Assessment, analysis: AnalysisResult | None,
                 bank: Bank, viewer: User) -> dict[str, Any]:
    """What the results pages show of targets and actions: the rows of current against target,
    the open actions by dimension (for the readiness one-pager) and the previous cycle's
    actions (their effect is read from the comparison the page has)."""
    found = targets(session, assessment)
    rows = target_rows(analysis, found, bank) if analysis else []
    by_dimension: dict[str, list[Action]] = {}
    for action in session.scalars(actions_select([assessment.id])):
        if action.status != ActionStatus.DROPPED:
            by_dimension.setdefault(action.dimension, []).append(action)
    return {"targets": found, "target_rows": rows,
            "target_by": {(t.dimension, t.lens): t for t in rows},
            "actions_by_dimension": by_dimension, "status_label": status_label,
            "lens_labels": LENS_LABELS, "caveat_text": CAUSE_CAVEAT,
            "carried": carried_over(session, assessment, viewer, None)}


# -- effect in the next cycle -----------------------------------------------------------------


@dataclass
class Effect:
    action: Action
    dimension: dict[str, Any] | None  # the cycle comparison's entry: previous, current, change, ...
    lens: dict[str, Any] | None  # the same for the action's lens, when it names one


@dataclass
class Carried:
    previous: Assessment | None  # the earlier cycle, None when not shared with the viewer
    effects: list[Effect] = field(default_factory=list)
    not_shared: bool = False
    # the comparison (its test and alpha are quoted with effects)
    change: dict[str, Any] | None = None


def carried_over(session: Session, assessment: Assessment, viewer: User | None,
                 change: dict[str, Any] | None) -> Carried | None:
    """The earlier cycle's actions with what happened to what they addressed. `change` is the
    stored comparison of the two cycles' releases (`analysis.cycles.compare_cycles`); None while
    it is being prepared. None when there is no earlier cycle."""
    previous = assessment.previous
    if previous is None:
        return None
    if viewer is not None:
        try:
            access.readable_assessment(session, viewer, previous.id)
        except NotFound:
            return Carried(None, not_shared=True)
    rows = session.scalars(actions_select([previous.id]).options(
        selectinload(Action.events))).all()
    dims = (change or {}).get("dimensions", {})
    lenses = (change or {}).get("lenses", {})
    effects = [Effect(a, dims.get(a.dimension),
                      lenses.get(a.dimension, {}).get(a.lens) if a.lens else None)
               for a in rows]
    return Carried(previous, effects, change=change)


# -- reports ----------------------------------------------------------------------------------


def report_section(session: Session, assessment: Assessment, change: dict[str, Any] | None,
                   readable: set[int]) -> dict[str, Any]:
    """What the reports show of targets and actions: this cycle's actions, the earlier cycle's
    with their effect (only when the report's reader may read that cycle), and the targets."""
    bank = bank_of(assessment.bank)
    latest = releases.latest(session, assessment)
    own = list(session.scalars(actions_select([assessment.id])))
    carried = None
    if assessment.previous_id is not None and assessment.previous_id in readable:
        carried = carried_over(session, assessment, None, change)
    found = targets(session, assessment)
    return {
        "actions": own,
        "carried": carried,
        "targets": target_rows(releases.analysis_of(latest) if latest else None, found, bank,
                               only_set=True),
        "today": utcnow().date(),
    }


def request_reports(session: Session, assessment: Assessment) -> None:
    """The report files of the latest release (and of the next cycle's, which shows these
    actions as carried over) are built again, so a download says what the pages say."""
    from . import stored

    affected = [assessment, *session.scalars(sa.select(Assessment).where(
        Assessment.previous_id == assessment.id))]
    for cycle in affected:
        latest = releases.latest(session, cycle)
        if latest is None:
            continue
        begin_write(session)
        session.execute(sa.delete(StoredReport).where(
            StoredReport.release_id == latest.id,
            StoredReport.kind.in_(stored.REPORT_KINDS)))
        session.commit()
        stored.request_builds(session, cycle, latest)


# -- calendar feed ----------------------------------------------------------------------------


def new_feed(session: Session, assessment: Assessment) -> str:
    """A new secret for the assessment's calendar feed, replacing any earlier one (so an old
    link stops working). Returned once; only its hash is kept."""
    clear = FEED_PREFIX + secrets.token_urlsafe(32)
    begin_write(session)
    row = session.get(ActionFeed, assessment.id)
    if row is None:
        session.add(ActionFeed(assessment_id=assessment.id, secret_hash=hash_token(clear)))
    else:
        row.secret_hash, row.created_at = hash_token(clear), utcnow()
    session.commit()
    return clear


def feed(session: Session, assessment: Assessment) -> ActionFeed | None:
    return session.get(ActionFeed, assessment.id)


def assessment_of_feed(session: Session, clear: str) -> Assessment:
    if not clear.startswith(FEED_PREFIX) or len(clear) > 100:
        raise NotFound("There is no such calendar.")
    row = session.scalar(sa.select(ActionFeed).where(
        ActionFeed.secret_hash == hash_token(clear)))
    assessment = session.get(Assessment, row.assessment_id) if row else None
    if assessment is None:
        raise NotFound("There is no such calendar.")
    return assessment


def calendar(assessment: Assessment, rows: list[Action], base_url: str,
             now: datetime | None = None) -> bytes:
    """An RFC 5545 calendar with one all-day event per action on its due date (the icalendar
    library writes CRLF line ends, folds lines at 75 octets and escapes text)."""
    from icalendar import Calendar, Event

    stamp = (now or utcnow())
    cal = Calendar()
    cal.add("prodid", "-//Alignment assessment//Actions//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Actions: {assessment.name}")
    host = base_url.split("://", 1)[-1].split("/", 1)[0] or "localhost"
    for action in rows:
        event = Event()
        event.add("uid", f"action-{action.id}@{host}")
        event.add("dtstamp", stamp.replace(tzinfo=UTC))
        event.add("dtstart", action.due)
        event.add("dtend", action.due + timedelta(days=1))
        event.add("summary", f"{action.title} [{status_label(action.status)}]")
        event.add("description",
                  f"Owner: {action.owner}\nDimension: {action.dimension}"
                  + (f" ({LENS_LABELS.get(action.lens, action.lens)})" if action.lens else "")
                  + (f"\n\n{action.description}" if action.description else ""))
        event.add("status", "CANCELLED" if action.status == ActionStatus.DROPPED
                  else "CONFIRMED")
        event.add("last-modified", action.updated_at.replace(tzinfo=UTC))
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data

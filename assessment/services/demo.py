"""The demo organisation: a network operator with six teams, three roles and two cycles of
~150 answers each on the `alignment` bank.

The answers are random but carry planted patterns, so the analysis has something real to find:

1. Handoffs, architecture lens: IT platform rates it far higher (+1.4 on the 1-5 scale) than
   order management (-1.2); the platform team believes the integrations carry the handoffs, the
   people doing the handoffs do not.
2. Governance: leadership rates every governance item higher (+1.1) than staff (-0.4).
3. Manual checkpoints: the architecture lens lags the operating-model lens by about one scale
   point across the organisation (a large negative lens gap).
4. Data: order management disagrees internally (three times the noise: low rwg).
5. A perception cluster: two fifths of network operations and order management see every
   manual-checkpoint and handoff item as much worse (-1.8) than everyone else does.

Each person also has a general tendency per dimension (some answer higher throughout), as real
respondents do, which gives the dimensions a realistic internal consistency.

The second cycle ("six months on") is the same organisation after an integration programme:
the handoffs architecture lens rises by 0.6 for everyone, the rest is unchanged.

After the baseline the lead set targets and decided actions: one on the handoffs architecture
lens (the integration programme, done; its planted improvement shows as the effect in the second
cycle) and one on data (in progress and overdue; data did not move). The second cycle has one
action of its own, on manual checkpoints.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..banks.model import Bank
from ..models import (
    Answer,
    Assessment,
    AssessmentStatus,
    BankVersion,
    Comment,
    Invitation,
    InvitationStatus,
    Response,
    User,
    UserRole,
    utcnow,
)
from . import releases
from .assessments import create_assessment, new_token, respondent_url
from .banks import bank_of, find_bank
from .errors import NotFound

NAME = "Northwind Networks: alignment baseline"
NEXT_NAME = "Northwind Networks: six months on"
TEAMS = ["Product", "Sales", "Order management", "Network operations", "IT platform", "Finance"]
ROLES = ["Leadership", "Manager", "Staff"]
PER_TEAM = {"Leadership": 4, "Manager": 7, "Staff": 14}  # 25 per team, 150 in all
UNANSWERED_PER_TEAM = 5
DONT_KNOW_RATE = 0.05
NOISE_SD = 0.75
PERSON_SD = 0.45
CLUSTER_SHIFT = 1.8
LENS_BASE = {"operating_model": 3.4, "architecture": 2.9}
LOGIN_FILE = "demo-login.json"

COMMENTS = {
    "ownership": ["When an order gets stuck nobody is sure who may decide, so it waits.",
                  "Two people know how the exceptions really work."],
    "governance": ["The steering meeting ends without a decision more often than not.",
                   "The tool's workflow decides our process, not the other way round."],
    "data": ["We have three reports for the same backlog and they never agree.",
             "I keep my own spreadsheet because I do not trust the dashboard."],
    "handoffs": ["We find out about handovers from network operations by chasing in chat.",
                 "Every new integration is built from scratch."],
    "manual_checkpoints": ["I re-key every order from the CRM into the provisioning tool.",
                           "The weekly reconciliation with finance takes a full day."],
}


@dataclass
class DemoInfo:
    assessment_id: int
    assessment_name: str
    responses: int
    lead_email: str
    lead_password: str
    admin_email: str
    admin_password: str


def _login_path(instance_path: str) -> Path:
    return Path(instance_path) / LOGIN_FILE


def existing(session: Session, instance_path: str | None = None) -> DemoInfo | None:
    """The demo already in the database, if any (its logins are kept in the instance folder)."""
    from flask import current_app

    path = _login_path(instance_path or current_app.instance_path)
    assessment = session.scalar(
        sa.select(Assessment).where(Assessment.name == NEXT_NAME).order_by(Assessment.id.desc())
    )
    if assessment is None or not path.exists():
        return None
    saved = json.loads(path.read_text())
    submitted = session.scalar(
        sa.select(sa.func.count()).select_from(Response).where(
            Response.assessment_id == assessment.id, Response.submitted_at.is_not(None))
    )
    return DemoInfo(assessment.id, assessment.name, submitted or 0, **saved)


def _user(session: Session, email: str, role: UserRole, password: str) -> User:
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(email=email, role=role)
        session.add(user)
    user.set_password(password)
    return user


def create(session: Session, *, seed: int, instance_path: str) -> DemoInfo:
    """Two cycles: the baseline (closed) and the follow-up (open), both shared with the lead."""
    bank_row = find_bank(session, "alignment")
    if bank_row is None:
        raise RuntimeError("the 'alignment' bank is not registered")
    logins = {
        "lead_email": "lead@demo.example", "lead_password": secrets.token_urlsafe(12),
        "admin_email": "admin@demo.example", "admin_password": secrets.token_urlsafe(12),
    }
    lead = _user(session, logins["lead_email"], UserRole.LEAD, logins["lead_password"])
    _user(session, logins["admin_email"], UserRole.ADMIN, logins["admin_password"])
    rng = np.random.default_rng(seed)
    baseline = _cycle(session, rng, bank_row, NAME, previous=None, handoff_uplift=0.0)
    baseline.status = AssessmentStatus.CLOSED
    current = _cycle(session, rng, bank_row, NEXT_NAME, previous=baseline, handoff_uplift=0.6)
    # The follow-up stays open with interim releases, so the lead reads its first release now
    # and sees later answers arrive in batches.
    current.interim_releases = True
    for a in (baseline, current):
        a.leads.append(lead)
    session.commit()
    releases.release(session, baseline, "closed")
    releases.release(session, current, "interim")
    _decisions(session, baseline, current, logins["lead_email"])
    path = _login_path(instance_path)
    path.write_text(json.dumps(logins))
    path.chmod(0o600)
    submitted = sum(PER_TEAM.values()) * len(TEAMS)
    return DemoInfo(current.id, current.name, submitted, **logins)


def _decisions(session: Session, baseline: Assessment, current: Assessment, lead: str) -> None:
    from datetime import timedelta

    from . import actions

    today = utcnow().date()
    actions.set_targets(session, baseline, {
        ("handoffs", ""): 60.0, ("handoffs", "architecture"): 55.0, ("data", ""): 65.0,
        ("manual_checkpoints", "architecture"): 50.0}, lead)
    handoffs = actions.create(session, baseline, {
        "title": "Show the status of every handoff in the order platform",
        "description": "Each handoff between order management, network operations and IT "
                       "platform gets a status in the platform that both sides can see, built "
                       "on one integration pattern instead of point-to-point fixes.",
        "owner": "Priya Shah (integration lead)", "due": today - timedelta(days=30),
        "status": "in_progress", "dimension": "handoffs", "lens": "architecture",
        "recommendation": "many-divergent-items", "statements": ["HND-A1", "HND-A2"],
        "teams": ["Order management", "IT platform"]}, lead)
    actions.update(session, handoffs, {"status": "done"}, lead)
    actions.create(session, baseline, {
        "title": "One backlog report instead of three",
        "description": "Agree one definition of the order backlog and retire the two "
                       "spreadsheets that disagree with it.",
        "owner": "finance-reporting@demo.example", "due": today - timedelta(days=14),
        "status": "in_progress", "dimension": "data", "lens": None,
        "recommendation": "team-without-agreement", "statements": [],
        "teams": ["Order management"]}, lead)
    actions.create(session, current, {
        "title": "Retire the weekly reconciliation with finance",
        "description": "List what the reconciliation catches, close each gap in the platform, "
                       "then stop the meeting.",
        "owner": "Sam Okafor", "due": today + timedelta(days=60), "status": "planned",
        "dimension": "manual_checkpoints", "lens": "architecture",
        "recommendation": "platform-lags-manual-checkpoints", "statements": [], "teams": []},
        lead)


def _cycle(session: Session, rng: np.random.Generator, bank_row: BankVersion, name: str,
           *, previous: Assessment | None, handoff_uplift: float) -> Assessment:
    bank = bank_of(bank_row)
    assessment = create_assessment(session, bank=bank_row, name=name, teams=TEAMS, roles=ROLES,
                                   min_group_size=5, previous=previous)
    assessment.status = AssessmentStatus.OPEN
    team_ids = {t.name: t.id for t in assessment.teams}
    role_ids = {r.name: r.id for r in assessment.roles}
    people = [(team, role) for team in TEAMS for role, n in PER_TEAM.items() for _ in range(n)]
    values = _answers(rng, bank, people, handoff_uplift)
    now = utcnow()
    invitations = [
        Invitation(assessment_id=assessment.id, token_hash=new_token()[1],
                   team_id=team_ids[team], role_id=role_ids[role],
                   status=InvitationStatus.SUBMITTED)
        for team, role in people
    ]
    session.add_all(invitations)
    session.flush()
    responses = [
        Response(assessment_id=assessment.id, invitation_id=inv.id, team_id=inv.team_id,
                 role_id=inv.role_id, current_page=len(bank.dimensions) + 1, started_at=now,
                 submitted_at=now)
        for inv in invitations
    ]
    session.add_all(responses)
    session.flush()
    qids = bank.question_ids
    session.execute(
        sa.insert(Answer),
        [
            {"response_id": r.id, "question_id": qid,
             "value": None if np.isnan(v) else float(v)}
            for r, row in zip(responses, values, strict=True)
            for qid, v in zip(qids, row, strict=True)
        ],
    )
    comment_rows = []
    for i, r in enumerate(responses):
        if rng.random() < 0.3:
            dim = list(COMMENTS)[i % len(COMMENTS)]
            comment_rows.append({"response_id": r.id, "dimension_id": dim,
                                 "text": COMMENTS[dim][int(rng.integers(len(COMMENTS[dim])))]})
    if comment_rows:
        session.execute(sa.insert(Comment), comment_rows)
    for team in TEAMS:  # invited but not (yet) answered, so the response rate is not 100%
        for k in range(UNANSWERED_PER_TEAM):
            session.add(Invitation(
                assessment_id=assessment.id, token_hash=new_token()[1], team_id=team_ids[team],
                role_id=role_ids["Staff"],
                status=InvitationStatus.STARTED if k == 0 else InvitationStatus.INVITED))
    session.flush()
    return assessment


def _answers(rng: np.random.Generator, bank: Bank, people: list[tuple[str, str]],
             handoff_uplift: float = 0.0) -> np.ndarray:
    """Respondent x question raw values (reverse items stored as answered), NaN = don't know."""
    questions = bank.questions
    n, q = len(people), len(questions)
    teams = np.array([t for t, _ in people])
    roles = np.array([r for _, r in people])
    dims = np.array([qq.dimension for qq in questions])
    lenses = np.array([qq.lens or "operating_model" for qq in questions])
    base = np.array([LENS_BASE[lens] for lens in lenses])
    base = base + rng.normal(0, 0.25, q)  # items differ a little in difficulty
    latent = np.tile(base, (n, 1))

    # Each person's general tendency per dimension: internal consistency, as in real answers.
    for dim in np.unique(dims):
        latent[:, dims == dim] += rng.normal(0, PERSON_SD, (n, 1))
    arch_handoffs = (dims == "handoffs") & (lenses == "architecture")
    latent[:, arch_handoffs] += handoff_uplift
    latent[np.ix_(teams == "IT platform", arch_handoffs)] += 1.4
    latent[np.ix_(teams == "Order management", arch_handoffs)] -= 1.2
    latent[np.ix_(roles == "Leadership", dims == "governance")] += 1.1
    latent[np.ix_(roles == "Staff", dims == "governance")] -= 0.4
    manual = dims == "manual_checkpoints"
    latent[:, manual & (lenses == "architecture")] -= 0.5
    latent[:, manual & (lenses == "operating_model")] += 0.5

    noise = rng.normal(0, NOISE_SD, (n, q))
    noise[np.ix_(teams == "Order management", dims == "data")] *= 3
    latent += noise
    # Planted cluster: two fifths of two front-line teams see checkpoints and handoffs as far worse.
    front_line = np.flatnonzero(np.isin(teams, ["Network operations", "Order management"]))
    cluster = rng.choice(front_line, size=2 * len(front_line) // 5, replace=False)
    latent[np.ix_(cluster, manual | (dims == "handoffs"))] -= CLUSTER_SHIFT

    lo, hi = bank.scale.min, bank.scale.max
    values: np.ndarray = np.clip(np.rint(latent), lo, hi)
    reverse = np.array([qq.reverse for qq in questions])
    values[:, reverse] = lo + hi - values[:, reverse]
    values[rng.random((n, q)) < DONT_KNOW_RATE] = np.nan
    return values


def fresh_link(session: Session, info: DemoInfo, *, base_url: str) -> str:
    """A new unused invitation to the demo assessment, so there is always one to try."""
    assessment = session.get(Assessment, info.assessment_id)
    if assessment is None:
        raise NotFound("The demo assessment has been deleted; run `flask demo` again.")
    team = next(t for t in assessment.teams if t.name == "Order management")
    role = next(r for r in assessment.roles if r.name == "Staff")
    token, digest = new_token()
    session.add(Invitation(assessment_id=assessment.id, token_hash=digest, team_id=team.id,
                           role_id=role.id))
    session.commit()
    return respondent_url(base_url, token)

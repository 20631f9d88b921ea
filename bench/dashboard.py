"""Dashboard benchmark: how fast a lead's results pages open for an assessment with many responses.

Builds a throw-away SQLite database with N submitted responses (default 10,000) on the `alignment`
bank, logs in as an admin through the test client, and times:

- baseline: the list of results (a query and a template, no analysis) and loading the
  answers into pandas;
- the release job, as a worker runs it: five new responses arrive in one cell, and the release
  is computed with its charts drawn and stored;
- the overview, the first time after the release and again;
- each results page: the first time after the release (its stored charts are read) and again
  (they come from the process's memory). No page computes or draws anything.

Figures are medians of --repeat runs, printed in seconds and as ratios to the baseline measured in
the same run (the machines are shared and noisy). Usage:

    .venv/bin/python bench/dashboard.py [--responses 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assessment import create_app, db, migrations, repository  # noqa: E402
from assessment.models import (  # noqa: E402
    Answer,
    Assessment,
    AssessmentStatus,
    Response,
    UserRole,
    utcnow,
)
from assessment.services import assessments as svc  # noqa: E402
from assessment.services import releases  # noqa: E402
from assessment.services.banks import bank_of, find_bank, register_bank_dir  # noqa: E402
from assessment.services.users import create_user  # noqa: E402

PASSWORD = "benchmark-password"
TEAMS = [f"Team {i:02d}" for i in range(20)]
ROLES = ["Leadership", "Manager", "Staff"]
PAGES = ["dimensions", "heatmap", "divergence", "recommendations", "readiness"]


def populate(app, n: int, seed: int = 1) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        register_bank_dir(session, app.config["BANKS_DIR"])
        create_user(session, "bench@example.org", PASSWORD, UserRole.ADMIN)
        bank_row = find_bank(session, "alignment")
        bank = bank_of(bank_row)
        a = svc.create_assessment(session, bank=bank_row, name="Benchmark", teams=TEAMS,
                                  roles=ROLES)
        a.status = AssessmentStatus.OPEN
        session.commit()
        team_ids = [t.id for t in a.teams]
        role_ids = [r.id for r in a.roles]
        rng = np.random.default_rng(seed)
        now = utcnow()
        session.execute(sa.insert(Response), [
            {"assessment_id": a.id, "team_id": team_ids[i % len(team_ids)],
             "role_id": role_ids[i % len(role_ids)], "current_page": 6, "started_at": now,
             "submitted_at": now} for i in range(n)])
        ids = session.scalars(sa.select(Response.id).where(Response.assessment_id == a.id)
                              .order_by(Response.id)).all()
        qids = bank.question_ids
        team_effect = rng.normal(0, 0.5, (len(team_ids), len(qids)))
        base = rng.normal(3, 0.3, len(qids))
        values = np.clip(np.rint(base + team_effect[np.arange(n) % len(team_ids)]
                                 + rng.normal(0, 0.9, (n, len(qids)))), 1, 5)
        values[rng.random(values.shape) < 0.04] = np.nan
        rows = [{"response_id": rid, "question_id": q, "value": None if np.isnan(v) else v}
                for rid, row in zip(ids, values.tolist(), strict=True)
                for q, v in zip(qids, row, strict=True)]
        for start in range(0, len(rows), 50_000):
            session.execute(sa.insert(Answer), rows[start:start + 50_000])
        session.commit()
        return a.id


def add_responses(app, assessment_id: int, n: int = 5) -> None:  # type: ignore[no-untyped-def]
    """n new responses in one team and role: enough for the next release."""
    with app.app_context():
        session = db.session()
        a = session.get(Assessment, assessment_id)
        for _ in range(n):
            r = Response(assessment_id=a.id, team_id=a.teams[0].id, role_id=a.roles[0].id,
                         submitted_at=utcnow())
            session.add(r)
            session.flush()
            session.add(Answer(response_id=r.id, question_id="OWN-O1", value=4.0))
        session.commit()


def release(app, assessment_id: int) -> None:  # type: ignore[no-untyped-def]
    """What the release job does in a worker (its report files are left queued)."""
    with app.app_context():
        session = db.session()
        releases.release(session, session.get(Assessment, assessment_id))


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="bench-dashboard-")
    url = f"sqlite:///{folder}/bench.db"
    migrations.upgrade(url)
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url,
                      "WTF_CSRF_ENABLED": False})
    started = time.perf_counter()
    aid = populate(app, args.responses)
    print(f"populated {args.responses:,} responses x 50 answers in "
          f"{time.perf_counter() - started:.1f} s ({folder})")
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})

    def get(path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)

    def load_frame() -> None:
        with app.app_context():
            session = db.session()
            bank = bank_of(session.get(Assessment, aid).bank)
            repository.submitted_answers(session, aid, bank.question_ids)

    names = ["baseline: results list page", "baseline: answers into pandas",
             "release job (worker): analysis + charts", "overview, first after the release",
             "overview, again",
             *[f"{p}, {when}" for p in PAGES for when in ("first after release", "again")]]
    figures: dict[str, list[float]] = {k: [] for k in names}
    release(app, aid)  # warm imports and fonts with a first release
    get(f"/results/{aid}/")
    for _ in range(args.repeat):
        figures["baseline: results list page"].append(timed(lambda: get("/results/")))
        figures["baseline: answers into pandas"].append(timed(load_frame))
        add_responses(app, aid)
        figures["release job (worker): analysis + charts"].append(
            timed(lambda: release(app, aid)))
        figures["overview, first after the release"].append(
            timed(lambda: get(f"/results/{aid}/")))
        figures["overview, again"].append(timed(lambda: get(f"/results/{aid}/")))
        for page in PAGES:
            for when in ("first after release", "again"):
                figures[f"{page}, {when}"].append(
                    timed(lambda page=page: get(f"/results/{aid}/{page}")))
    baseline = statistics.median(figures["baseline: answers into pandas"])
    print(f"\nmedian of {args.repeat} runs; ratio = time / loading the answers into pandas")
    print(f"{'measure':<40} {'seconds':>9} {'ratio':>8}")
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"{name:<40} {median:>9.3f} {median / baseline:>8.2f}")
    html = client.get(f"/results/{aid}/").get_data(as_text=True)
    assert re.search(r"responses", html)
    if os.environ.get("KEEP") is None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

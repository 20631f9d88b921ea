"""Dashboard benchmark: how fast a lead's results pages open for an assessment with many responses.

Builds a throw-away SQLite database with N submitted responses (default 10,000) on the `alignment`
bank, logs in as an admin through the test client, and times:

- baseline: the list of results (a query and a template, no analysis) and loading the
  answers into pandas;
- first render after a change: a new response was submitted, so the overview recomputes;
- cached render: the same page again, from the stored analysis;
- each results page from the stored analysis: the first time after a change (its charts are
  drawn) and again (the charts come from the per-process chart cache).

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


def add_response(app, assessment_id: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        a = session.get(Assessment, assessment_id)
        r = Response(assessment_id=a.id, team_id=a.teams[0].id, role_id=a.roles[0].id,
                     submitted_at=utcnow())
        session.add(r)
        session.flush()
        session.add(Answer(response_id=r.id, question_id="OWN-O1", value=4.0))
        session.commit()


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
             "overview, first after a change", "overview, from the store",
             *[f"{p}, {when}" for p in PAGES for when in ("charts drawn", "charts cached")]]
    figures: dict[str, list[float]] = {k: [] for k in names}
    get(f"/results/{aid}/")  # warm imports, fonts and the first analysis
    for _ in range(args.repeat):
        figures["baseline: results list page"].append(timed(lambda: get("/results/")))
        figures["baseline: answers into pandas"].append(timed(load_frame))
        add_response(app, aid)
        figures["overview, first after a change"].append(timed(lambda: get(f"/results/{aid}/")))
        figures["overview, from the store"].append(timed(lambda: get(f"/results/{aid}/")))
        for page in PAGES:
            for when in ("charts drawn", "charts cached"):
                figures[f"{page}, {when}"].append(
                    timed(lambda page=page: get(f"/results/{aid}/{page}")))
    baseline = statistics.median(figures["baseline: answers into pandas"])
    print(f"\nmedian of {args.repeat} runs; ratio = time / loading the answers into pandas")
    print(f"{'measure':<40} {'seconds':>9} {'ratio':>8}")
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"{name:<40} {median:>9.3f} {median / baseline:>8.2f}")
    html = client.get(f"/results/{aid}/").get_data(as_text=True)
    assert re.search(r"submitted responses", html)
    if os.environ.get("KEEP") is None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Fast start: a web process that serves respondents never loads the analysis, charting or PDF
stack. Checked in a fresh interpreter (this one has imported everything by now)."""

from __future__ import annotations

import json
import subprocess
import sys

from assessment import db
from assessment.models import Assessment

from .conftest import ROOT, make_assessment, make_tokens

HEAVY = ("pandas", "scipy", "sklearn", "matplotlib", "weasyprint")

JOURNEY = r"""
import json, re, sys
from assessment import create_app
app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": sys.argv[1],
                  "QUEUE_PATH": sys.argv[3]})
loaded = {"import": [m for m in HEAVY if m in sys.modules]}
client = app.test_client()
token, questions = sys.argv[2], json.loads(sys.argv[4])
csrf = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

def post(url, page, data):
    data["csrf_token"] = csrf.search(client.get(page).get_data(as_text=True)).group(1)
    response = client.post(url, data=data)
    assert response.status_code in (200, 302, 303), (url, response.status_code)

first = client.get(f"/s/{token}")
assert first.status_code == 200, (first.status_code, first.get_data(as_text=True)[-600:])
post(f"/s/{token}/start", f"/s/{token}", {})
for number, ids in enumerate(questions, start=1):
    post(f"/s/{token}/p/{number}", f"/s/{token}/p/{number}", {f"q-{q}": "4" for q in ids})
post(f"/s/{token}/submit", f"/s/{token}/review", {})
assert client.get("/s/thanks").status_code == 200
loaded["journey"] = [m for m in HEAVY if m in sys.modules]
print(json.dumps(loaded))
"""


def test_a_respondent_journey_loads_no_analysis_or_charting_library(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    with app.app_context():
        session = db.session()
        a = session.get(Assessment, aid)
        a.interim_releases = True  # the submit queues a release job: still nothing heavy
        session.commit()
        from assessment.services.banks import bank_of

        bank = bank_of(a.bank)
        questions = [[q.id for q in bank.questions_in(d.id)] for d in bank.dimensions]
    token = make_tokens(app, aid)[0]
    code = f"HEAVY = {HEAVY!r}\n" + JOURNEY
    done = subprocess.run(
        [sys.executable, "-c", code, app.config["DATABASE_URL"], token,
         str(tmp_path / "queue.db"), json.dumps(questions)],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == {"import": [], "journey": []}, loaded
    with app.app_context():  # the journey really submitted, and asked for a release
        from assessment.models import Job, Response

        assert db.session().query(Response).filter(Response.submitted_at.is_not(None)).count() == 1
        assert [j.kind for j in db.session().query(Job)] == ["release"]


def test_a_trivial_command_loads_no_analysis_or_charting_library(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = ("import sys, runpy; sys.argv = ['flask', '--app', 'app', 'assessment', 'list'];\n"
            "try:\n    runpy.run_module('flask', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "x",
           "INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout

"""Fast start: a web process that serves respondents never loads the analysis, charting or PDF
stack. Checked in a fresh interpreter (this one has imported everything by now)."""

from __future__ import annotations

import json
import subprocess
import sys

from assessment import db
from assessment.models import Assessment

from .conftest import ROOT, make_assessment, make_tokens

HEAVY = ("pandas", "scipy", "sklearn", "matplotlib", "weasyprint",
         # the analysis result's models: a fifth of a second to build, and no respondent's need;
         # pydantic itself and the API's action bodies likewise
         "assessment.analysis.result", "pydantic", "assessment.web.action_schemas")
# What a command that never serves a request does not need: the web layer (forms, login, the
# blueprints), the bank loader (YAML), the task queue, migrations, the PostgreSQL driver.
WEB_ONLY = ("flask_wtf", "wtforms", "email_validator",
            "assessment.web", "assessment.web.admin", "assessment.web.survey", "huey", "yaml",
            "alembic", "psycopg", "assessment.services.releases", "assessment.queue")

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


def _command(args: list[str], modules: tuple[str, ...], app, tmp_path) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """Run `flask --app app ARGS` in a fresh interpreter: (its output, which of `modules` it
    imported)."""
    code = (f"import sys, runpy; sys.argv = ['flask', '--app', 'app', *{args!r}];\n"
            "try:\n    runpy.run_module('flask', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            f"print('LOADED', [m for m in {modules!r} if m in sys.modules])")
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "x",
           "INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    output, _, loaded = done.stdout.rpartition("LOADED ")
    return output, json.loads(loaded.strip().replace("'", '"'))


def test_a_trivial_command_loads_no_analysis_or_charting_library(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Nor SQLAlchemy: on a SQLite file, `assessment list` reads through the driver alone."""
    aid = make_assessment(app)
    output, loaded = _command(["assessment", "list"],
                              HEAVY + WEB_ONLY + ("sqlalchemy", "assessment.models"), app, tmp_path)
    assert loaded == [], loaded
    assert f"{aid}\topen\t0 submitted\talignment" in output  # and it did its work


def test_commands_in_modules_of_their_own_load_when_they_run(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`jobs` is named in the app's command group without importing the queue; running it
    imports it, and `--help` still lists every command."""
    output, loaded = _command(["jobs", "list"], ("assessment.queue",), app, tmp_path)
    assert loaded == ["assessment.queue"]
    output, loaded = _command(["--help"], (), app, tmp_path)
    for name in ("analyze", "api-token", "report", "worker", "jobs", "assessment", "invite"):
        assert f"  {name} " in output, name


def test_routes_command_shows_the_whole_web_app(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    output, loaded = _command(["routes"], ("assessment.web",), app, tmp_path)
    assert loaded == ["assessment.web"]
    for endpoint in ("survey.page", "admin.index", "health.readyz", "api.openapi"):
        assert endpoint in output, endpoint


SERVE_AFTER_COMMAND_START = r"""
import json, os, re, sys
os.environ["FLASK_RUN_FROM_CLI"] = "true"  # as the `flask` command sets it, e.g. `flask run`
from assessment import create_app
app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": sys.argv[1],
                  "QUEUE_PATH": sys.argv[3]})
before = "assessment.web" in sys.modules
client = app.test_client()
token = sys.argv[2]
intro = client.get(f"/s/{token}")
csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', intro.get_data(as_text=True)).group(1)
print(json.dumps({
    "web_before": before, "intro": intro.status_code,
    "csp": "Content-Security-Policy" in intro.headers,
    "start_without_csrf": client.post(f"/s/{token}/start").status_code,
    "start": client.post(f"/s/{token}/start", data={"csrf_token": csrf}).status_code,
    "unknown": client.get("/s/not-a-token").status_code,
}))
"""


def test_an_app_started_by_a_command_sets_up_the_web_on_its_first_request(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A `flask` command leaves the web layer out until a request comes (`flask run`'s
    server, say); that request then gets all of it: the page, CSRF, headers, error pages."""
    token = make_tokens(app, make_assessment(app))[0]
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AFTER_COMMAND_START, app.config["DATABASE_URL"], token,
         str(tmp_path / "queue.db")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"web_before": False, "intro": 200, "csp": True, "start_without_csrf": 400,
                    "start": 302, "unknown": 404}, seen

"""The `analyze` command, run as a plain click command: no app, no database."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assessment.cli_analyze import analyze_command

from .conftest import DATA, FIXTURES, real_data


def run(*args: str):
    return CliRunner().invoke(analyze_command, [str(a) for a in args])


def test_json_on_real_data():
    real_data("lq2002")  # skips when ../shared/data is absent
    result = run(DATA / "lq2002.csv", "--bank", FIXTURES / "lq2002.yaml", "--group-col",
                 "COMPID", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["bank"] == {"id": "lq2002", "version": 1, "title": "Leadership climate (lq2002)"}
    assert out["n_respondents"] == 2042
    assert out["min_group_size"] == 5
    assert set(out) >= {"overall", "dimensions", "items", "divergence", "recommendations",
                        "readiness"}
    # mean(rwg.j(lq2002[,LEAD], lq2002$COMPID, ranvar=2)$rwg.j) -> 0.8677849 (test_agreement)
    assert out["dimensions"]["leadership"]["rwg_j_mean"] == pytest.approx(0.8677849, abs=1e-4)
    assert len(out["dimensions"]["leadership"]["groups"]) == 49


def test_text_summary_with_roles_to_a_file(tmp_path, small_bank):
    csv = tmp_path / "answers.csv"
    rows = ["team,role," + ",".join(small_bank.question_ids)]
    for i in range(40):
        values = ",".join(str(1 + (i + j) % 5) for j in range(len(small_bank.questions)))
        rows.append(f"{'North' if i < 20 else 'South'},{'Lead' if i % 4 == 0 else 'Agent'},"
                    f"{values}")
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "summary.txt"
    result = run(csv, "--bank", FIXTURES / "small.yaml", "--group-col", "team", "--role-col",
                 "role", "--min-group-size", "3", "--out", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "40 respondents in 2 groups" in text
    assert "handoffs" in text and "Readiness:" in text
    assert f"Written to {out}" in result.stderr


def test_bad_values_are_listed_on_stderr_with_exit_code_1(tmp_path, small_bank):
    csv = tmp_path / "bad.csv"
    csv.write_text("team," + ",".join(small_bank.question_ids) + "\n"
                   "North,1,2,3,4,5,1,2,x\n"
                   "North,1,2,3,4,5,1,2,9\n")
    result = run(csv, "--bank", FIXTURES / "small.yaml", "--group-col", "team")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{csv}: row 2, column C-1: 'x' is not a number",
        f"{csv}: row 3, column C-1: 9 is outside the scale 1..5",
    ]
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_a_broken_bank_is_refused_line_by_line(tmp_path):
    bank = tmp_path / "broken.yaml"
    bank.write_text((FIXTURES / "small.yaml").read_text().replace(
        "dimension: data, lens: architecture", "dimension: dta, lens: architecture"))
    csv = tmp_path / "answers.csv"
    csv.write_text("team\nNorth\n")
    result = run(csv, "--bank", bank, "--group-col", "team")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"{bank}: questions[4].dimension: unknown dimension 'dta'"


def test_missing_files_are_reported_without_a_traceback(tmp_path):
    result = run(tmp_path / "nope.csv", "--bank", FIXTURES / "small.yaml", "--group-col", "team")
    assert result.exit_code == 1
    assert "nope.csv: cannot read" in result.stderr
    result = run(tmp_path / "nope.csv", "--bank", tmp_path / "nope.yaml", "--group-col", "team")
    assert result.exit_code == 1
    assert "nope.yaml" in result.stderr

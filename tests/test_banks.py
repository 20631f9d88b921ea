"""Question banks: the shipped banks are valid and well formed; broken banks are refused with one
line per problem naming the file and field; registration is idempotent and versions are pinned."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from assessment import db
from assessment.banks import BankError, parse_bank, read_bank_file
from assessment.services.banks import register_bank_dir

from .conftest import ROOT, make_assessment

BANKS = ROOT / "question_banks"
DIMENSIONS = {"ownership", "governance", "data", "handoffs", "manual_checkpoints"}


def test_alignment_bank_covers_every_dimension_and_lens() -> None:
    bank, _ = read_bank_file(BANKS / "alignment.yaml")
    assert {d.id for d in bank.dimensions} == DIMENSIONS
    assert len(bank.questions) >= 40
    for dim in DIMENSIONS:
        qs = bank.questions_in(dim)
        assert sum(q.lens == "operating_model" for q in qs) >= 4, dim
        assert sum(q.lens == "architecture" for q in qs) >= 4, dim
        assert any(q.reverse for q in qs), dim
    assert all(q.help for q in bank.questions)


def test_readiness_bank_has_twenty_questions_across_dimensions_and_lenses() -> None:
    bank, _ = read_bank_file(BANKS / "replatform-readiness.yaml")
    assert len(bank.questions) >= 20
    assert {(q.dimension, q.lens) for q in bank.questions} >= {
        (d, lens) for d in DIMENSIONS for lens in ("architecture", "operating_model")}
    assert bank.readiness, "the readiness bank needs gates"


def test_banks_have_rules_for_every_dimension() -> None:
    rules = []
    for name in ("alignment.yaml", "replatform-readiness.yaml"):
        rules += read_bank_file(BANKS / name)[0].recommendations
    assert len(rules) >= 15
    named = {c.get("dimension") for r in rules for c in _clauses(r.when)}
    assert named >= DIMENSIONS or "*" in named


def _clauses(cond: dict) -> list[dict]:
    if "all" in cond or "any" in cond:
        return [c for sub in cond.get("all", []) + cond.get("any", []) for c in _clauses(sub)]
    return [cond]


@pytest.fixture
def good() -> dict:
    return {
        "id": "tiny", "version": 1, "title": "Tiny",
        "scale": {"min": 1, "max": 5, "labels": {1: "Strongly disagree", 5: "Strongly agree"}},
        "dimensions": [{"id": "ownership", "title": "Ownership"},
                       {"id": "data", "title": "Data"}],
        "questions": [
            {"id": "O1", "dimension": "ownership", "lens": "architecture", "text": "a"},
            {"id": "O2", "dimension": "ownership", "lens": "operating_model", "text": "b",
             "reverse": True},
            {"id": "D1", "dimension": "data", "text": "c"},
        ],
        "recommendations": [{"id": "r", "priority": "high", "title": "T",
                             "text": "{dimension_title}: {lens_gap:.0f}",
                             "when": {"all": [{"fact": "lens_gap", "dimension": "*", "op": "<",
                                               "value": -15}]}}],
        "readiness": [{"id": "g", "severity": "block", "reason": "R",
                       "require": {"fact": "consensus", "dimension": "data", "op": ">=",
                                   "value": 0.7}}],
    }


def test_a_good_bank_parses(good: dict) -> None:
    bank = parse_bank(good)
    assert bank.question("O2").reverse is True
    assert bank.scale.points == [1, 2, 3, 4, 5]
    assert bank.readiness[0].require["fact"] == "consensus"


BROKEN = [
    (lambda b: b["questions"][1].update(dimension="goverance"),
     "questions[1].dimension: unknown dimension 'goverance'"),
    (lambda b: b["questions"][2].update(id="O1"), "questions[2].id: duplicate question id 'O1'"),
    (lambda b: b["questions"][0].update(lens="platform"), "questions[0].lens: must be one of"),
    (lambda b: b["questions"][0].pop("text"), "questions[0].text: required"),
    (lambda b: b["questions"][0].update(reverse="yes please"), "questions[0].reverse:"),
    (lambda b: b.update(version="one"), "version: must be a positive integer"),
    (lambda b: b.update(id="Not A Slug"), "id: 'Not A Slug' is not a slug"),
    (lambda b: b.pop("scale"), "scale: required"),
    (lambda b: b["scale"].update(max=1), "scale: max must be above min"),
    (lambda b: b["scale"]["labels"].update({9: "x"}), "scale.labels.9: outside the scale"),
    (lambda b: b["dimensions"].append({"id": "empty", "title": "E"}),
     "dimension 'empty' has no questions"),
    (lambda b: b["dimensions"][0].update(weight=-1), "dimensions[0].weight: must be a positive"),
    (lambda b: b["recommendations"][0]["when"]["all"][0].update(fact="vibes"),
     "recommendations[0].when.all[0].fact: unknown fact 'vibes'"),
    (lambda b: b["recommendations"][0]["when"]["all"][0].update(op="=>"),
     "recommendations[0].when.all[0].op: must be one of"),
    (lambda b: b["recommendations"][0]["when"]["all"][0].pop("dimension"),
     "recommendations[0].when.all[0].dimension: fact 'lens_gap' needs a dimension"),
    (lambda b: b["recommendations"][0].update(priority="urgent"),
     "recommendations[0].priority: must be one of high, medium, low"),
    (lambda b: b["recommendations"][0].update(text="{nonsense}"),
     "recommendations[0].text: unknown placeholder '{nonsense}'"),
    (lambda b: b["readiness"][0].update(severity="fatal"), "readiness[0].severity: must be one of"),
    (lambda b: b["readiness"][0]["require"].update(dimension="nowhere"),
     "readiness[0].require.dimension: unknown dimension 'nowhere'"),
    (lambda b: b["readiness"][0]["require"].update(value="high"),
     "readiness[0].require.value: must be a finite number"),
    (lambda b: b.update(extra=1), "extra: unknown field"),
]


@pytest.mark.parametrize(("breakage", "expected"), BROKEN)
def test_each_problem_is_named_with_its_field_path(good: dict, breakage, expected: str) -> None:  # type: ignore[no-untyped-def]
    bank = copy.deepcopy(good)
    breakage(bank)
    with pytest.raises(BankError) as info:
        parse_bank(bank, "x.yaml")
    assert any(expected in line for line in info.value.lines()), info.value.lines()
    assert all(line.startswith("x.yaml: ") for line in info.value.lines())


def test_all_problems_are_reported_at_once(good: dict) -> None:
    good["questions"][0]["dimension"] = "nope"
    good["questions"][1]["lens"] = "nope"
    good["version"] = 0
    with pytest.raises(BankError) as info:
        parse_bank(good)
    assert len(info.value.problems) == 3


def test_yaml_booleans_and_syntax_errors_get_messages(tmp_path: Path, good: dict) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("id: x\nversion: 1\nscale: {min: 1, max: 2, labels: {1: No, 2: Yes}}\n")
    lines = _validate(path)
    assert any("scale.labels.1: must be text (quote it" in line for line in lines)
    path.write_text("id: [unclosed\n")
    assert _validate(path)[0].startswith(f"{path}: line ")
    path.write_text("!!python/object/apply:os.system ['echo hacked']\n")
    assert _validate(path), "unsafe YAML tags must be refused"


def _validate(path: Path) -> list[str]:
    from assessment.banks import validate_paths

    return validate_paths([str(path)])


def test_cli_validate_is_quiet_for_good_banks_and_lists_problems(runner, tmp_path, good) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["bank", "validate", str(BANKS / "alignment.yaml"),
                                 str(BANKS / "replatform-readiness.yaml")])
    assert result.exit_code == 0 and result.output == ""
    good["questions"][1]["dimension"] = "goverance"
    good["scale"]["max"] = "five"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(good))
    result = runner.invoke(args=["bank", "validate", str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert f"{bad}: questions[1].dimension: unknown dimension 'goverance'" in lines
    assert f"{bad}: scale.max: must be an integer" in lines
    assert "Traceback" not in result.output


def test_registration_is_idempotent_and_versions_are_pinned(app, tmp_path, good) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "banks"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(yaml.safe_dump(good))
    with app.app_context():
        session = db.session()
        assert register_bank_dir(session, folder).added == ["tiny v1"]
        assert register_bank_dir(session, folder).unchanged == ["tiny v1"]
        # An unused version may still change in place.
        good["title"] = "Tiny, retitled"
        (folder / "tiny.yaml").write_text(yaml.safe_dump(good))
        assert register_bank_dir(session, folder).updated == ["tiny v1"]
    make_assessment(app, bank="tiny", teams=("A",), roles=("R",))
    with app.app_context():
        session = db.session()
        good["questions"][0]["text"] = "changed"
        (folder / "tiny.yaml").write_text(yaml.safe_dump(good))
        result = register_bank_dir(session, folder)
        assert result.problems and "already use that version" in result.problems[0]
        assert "new version number" in result.problems[0]
        good["version"] = 2
        (folder / "tiny.yaml").write_text(yaml.safe_dump(good))
        assert register_bank_dir(session, folder).added == ["tiny v2"]

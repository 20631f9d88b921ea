"""Property-based tests of the question-bank validator: whatever a bank file holds, the loader
answers with a Bank or a BankError whose every line is `source: path: message`, quickly.

Strategies: (a) arbitrary YAML-shaped data, (b) mutations of the shipped `alignment` bank
(drop, replace or retype the value at any path), (c) arbitrary text and bytes, including YAML tags,
anchors and aliases, plus hand-made hostile files (alias bombs, deep nesting, oversized files).

Each loader bug these properties found has a test of its own below, with its minimal input
(aliases, deep nesting, odd types in known fields, malformed tagged scalars, non-finite numbers,
unknown nested fields, problem lines that would span several lines).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assessment.banks import Bank, BankError, parse_bank, parse_bank_text, read_bank_file
from assessment.banks.loader import MAX_BANK_BYTES, content_hash, validate_paths

ROOT = Path(__file__).resolve().parent.parent
GOOD_PATH = ROOT / "question_banks" / "alignment.yaml"
GOOD_TEXT = GOOD_PATH.read_text(encoding="utf-8")
GOOD = yaml.safe_load(GOOD_TEXT)
SOURCE = "fuzz/bank.yaml"

FUZZ = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- strategies ----------------------------------------------------------------------------------

# Every scalar type yaml.safe_load can produce: None, bool, int (any size), float (nan, inf),
# str, bytes (!!binary), date and datetime (!!timestamp).
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", " ", "architecture", "operating_model", "*", "score", "block", "high",
                     "<", "==", "{score}", "{nope}", "ownership", "OWN-A1", "yes", "~"]),
    st.binary(max_size=10),
    st.dates(),
    st.datetimes(),
)
hashable_keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["id", "version", "title", "scale", "dimensions", "questions", "when",
                     "require", "all", "any", "fact", "op", "value", "dimension", "min", "max",
                     "labels", "weight", "lens", "reverse"]),
    st.integers(), st.booleans(), st.none(), st.floats(), st.dates(),
)
yamlish = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(hashable_keys, children, max_size=4),
    ),
    max_leaves=25,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys and indices) into a parsed bank, the root excluded."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append(prefix + (key,))
            found.extend(_paths(value, prefix + (key,)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.append(prefix + (i,))
            found.extend(_paths(value, prefix + (i,)))
    return found


GOOD_PATHS = _paths(GOOD)


def _retype(value: Any) -> list[Any]:
    """The same content in other types, the mistakes a person typing YAML makes."""
    options: list[Any] = [None, str(value), [value], {"value": value}, True, 0, -1, 1.5]
    if isinstance(value, str):
        options += [value.upper(), " " + value + " ", value * 3, "", value.encode()]
    if isinstance(value, bool | int | float):
        options += [str(value), -value, value * 10**40, float("nan"), float("inf")]
    if isinstance(value, list):
        options += [[], value * 2, dict(enumerate(value))]
    if isinstance(value, dict):
        options += [{}, list(value.items()), list(value)]
    return options


@st.composite
def mutated_banks(draw: st.DrawFn) -> dict:
    data = copy.deepcopy(GOOD)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        op = draw(st.sampled_from(["drop", "replace", "retype"]))
        if op == "drop":
            del parent[last]
        elif op == "replace":
            parent[last] = draw(yamlish)
        else:
            parent[last] = draw(st.sampled_from(_retype(parent[last])))
    return data


YAML_FRAGMENTS = [
    "id: x\n", "version: 1\n", "scale: {min: 1, max: 5}\n", "dimensions:\n", "questions:\n",
    "  - ", "    ", "- ", ": ", "? ", "[", "]", "{", "}", ",", "'", '"', "|\n", ">\n", "#", "\n",
    "&a ", "*a", "&b [*a, *a, *a]", "<<: *a\n", "!!python/object/apply:os.system ['echo pwned']",
    "!!python/object:__main__.X {}", "!!python/name:os.system", "!!binary aGk=", "!!binary x",
    "!!timestamp 2020-13-45", "!!float abc", "!!int 0x", "!!int 12", "!!set {a, b}",
    "!!omap [a: 1]", "!!pairs [a: 1]", "!!str", "!!map", "!!seq", "!!null", "!!bool maybe",
    "!custom x", "%YAML 1.1\n---\n", "%TAG ! tag:x,2000:\n", "---\n", "...\n", "~", ".inf",
    "-.inf", ".nan", "1e999", "0o777", "0x_", "2001-12-14t21:59:43.10-05:00", "yes", "off",
    "\t", "\x00", "\ufeff", "\u2028", "\x85", "é", "{{", "<script>alert(1)</script>",
]
yaml_texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(YAML_FRAGMENTS) | st.text(max_size=8), max_size=30).map("".join),
    st.builds(lambda cut, extra: GOOD_TEXT[:cut] + extra,
              st.integers(0, len(GOOD_TEXT)), st.sampled_from(YAML_FRAGMENTS)),
)
raw_inputs = st.one_of(yaml_texts, st.binary(max_size=200),
                       yaml_texts.map(lambda t: t.encode("utf-16")),
                       yaml_texts.map(lambda t: t.encode("utf-8", "surrogatepass")))


# -- checking a result ---------------------------------------------------------------------------

# What str.splitlines() breaks on: a problem line containing one prints as several lines.
LINE_BREAKS = ("\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _check_outcome(call, source: str = SOURCE) -> Bank | None:  # type: ignore[no-untyped-def]
    """Run one load; the only acceptable failure is a BankError with well-formed lines."""
    started = time.perf_counter()
    try:
        result = call()
    except BankError as exc:
        assert exc.problems, "a BankError must name at least one problem"
        assert exc.lines() == [f"{source}: {p}" for p in exc.problems]
        for line in exc.lines():
            assert line.startswith(f"{source}: ")
            assert "Traceback" not in line
            assert not any(c in line for c in LINE_BREAKS), f"a line break inside {line!r}"
            rest = line[len(source) + 2:]
            path, sep, message = rest.partition(": ")
            assert sep and path and message.strip(), f"not 'source: path: message': {line!r}"
        return None
    finally:
        assert time.perf_counter() - started < 5, "the loader took more than 5 s"
    bank = result[0] if isinstance(result, tuple) else result
    assert isinstance(bank, Bank)
    return bank


NON_FINITE = "Out of range float values are not JSON compliant"


def _storable(definition: Any) -> list[str]:
    """Why a definition accepted by the loader could not be stored as JSON (register_bank
    hashes it and writes it to a JSON column), as messages; empty when it can."""
    try:
        json.dumps(definition, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return [str(exc)]
    return []


def _without_unknown_nested_fields(data: dict) -> dict:
    known = {
        "scale": {"min", "max", "labels", "not_applicable"},
        "dimensions": {"id", "title", "description", "weight"},
        "recommendations": {"id", "when", "priority", "title", "text"},
        "readiness": {"id", "severity", "require", "reason"},
    }
    data = copy.deepcopy(data)
    for section, fields in known.items():
        items = data.get(section)
        for item in [items] if isinstance(items, dict) else items or []:
            if isinstance(item, dict):
                for key in [k for k in item if k not in fields]:
                    del item[key]
    return data


# -- the valid banks still parse -----------------------------------------------------------------

@pytest.mark.parametrize("path", sorted((ROOT / "question_banks").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_banks_parse_and_round_trip(path: Path) -> None:
    bank, definition = read_bank_file(path)
    assert isinstance(bank, Bank) and bank.questions
    # Re-serialised YAML, JSON (as stored in the database) and a bytes upload all give the same.
    assert parse_bank_text(yaml.safe_dump(definition), "x")[0] == bank
    assert parse_bank(json.loads(json.dumps(definition)), "x") == bank
    assert parse_bank_text(path.read_bytes(), "x")[0] == bank
    assert not _storable(definition)
    assert validate_paths([str(path)]) == []


# -- (a) arbitrary data --------------------------------------------------------------------------

@FUZZ
@given(data=yamlish)
@example(data=None)
@example(data=[])
@example(data={})
@example(data={"id": "x", "version": True, "scale": {"min": 1, "max": 10**400}})
@example(data={"questions": {"a": 1}, "dimensions": "ownership", "scale": []})
def test_arbitrary_data_gives_a_bank_error(data: Any) -> None:
    assert _check_outcome(lambda: parse_bank(data, SOURCE)) is None


@FUZZ
@given(top=st.dictionaries(st.sampled_from(sorted(GOOD)), yamlish, min_size=1, max_size=9))
def test_arbitrary_sections_give_a_bank_error(top: dict) -> None:
    """Known section names with arbitrary contents get past the first check more often."""
    _check_outcome(lambda: parse_bank(top, SOURCE))


# -- (b) mutations of a valid bank ---------------------------------------------------------------

@FUZZ
@given(data=mutated_banks())
def test_mutated_bank_is_accepted_or_refused_cleanly(data: dict) -> None:
    bank = _check_outcome(lambda: parse_bank(data, SOURCE))
    if bank is None:
        return
    assert bank.id and bank.questions and bank.dimensions
    assert {q.dimension for q in bank.questions} <= {d.id for d in bank.dimensions}
    assert bank.scale.max > bank.scale.min
    assert all(d.weight > 0 and math.isfinite(d.weight) for d in bank.dimensions)
    content_hash(data)
    assert not _storable(data), _storable(data)  # an accepted bank can be stored as JSON


@pytest.mark.parametrize("path", GOOD_PATHS[:: max(1, len(GOOD_PATHS) // 120)],
                         ids=lambda p: ".".join(map(str, p))[:60])
def test_dropping_any_field_is_handled(path: tuple) -> None:
    """Exhaustive over a sample of paths: delete the value and reload."""
    data = copy.deepcopy(GOOD)
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    _check_outcome(lambda: parse_bank(data, SOURCE))


@settings(FUZZ, max_examples=20)
@given(data=mutated_banks())
def test_mutated_bank_survives_the_yaml_round_trip(data: dict) -> None:
    """The same mutations written as YAML and read through parse_bank_text."""
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return
    _check_outcome(lambda: parse_bank_text(text, SOURCE))


# -- (c) arbitrary text and bytes ----------------------------------------------------------------

@FUZZ
@given(raw=raw_inputs)
@example(raw="!!python/object/apply:os.system ['touch /tmp/pwned-by-bank']")
@example(raw="id: !!python/object/new:subprocess.Popen [['true']]")
@example(raw=b"\xff\xfe\x00")
@example(raw="\x00")
@example(raw="a: &a [*a]")
@example(raw="? [a]\n: 1")
@example(raw="%YAML 9.9\n--- x")
def test_arbitrary_text_gives_a_bank_error(raw: str | bytes) -> None:
    _check_outcome(lambda: parse_bank_text(raw, SOURCE))


def test_python_tags_are_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    raw = f"id: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(BankError) as caught:
        parse_bank_text(raw, SOURCE)
    assert not marker.exists()
    assert caught.value.lines()[0].startswith(f"{SOURCE}: line 1: ")


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=raw_inputs)
def test_files_give_lines_naming_the_file(tmp_path: Path, raw: str | bytes) -> None:
    """`bank validate` goes through validate_paths: every line names the file."""
    path = tmp_path / "fuzzed.yaml"
    path.write_bytes(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"))
    lines = validate_paths([str(path)])
    assert all(line.startswith(f"{path}: ") for line in lines)


# -- size limits ---------------------------------------------------------------------------------

def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(GOOD_TEXT + "#" * (MAX_BANK_BYTES + 1))
    started = time.perf_counter()
    with pytest.raises(BankError) as caught:
        read_bank_file(path)
    assert caught.value.lines() == [f"{path}: (file): larger than {MAX_BANK_BYTES} bytes"]
    assert time.perf_counter() - started < 1


def test_unreadable_paths_are_reported(tmp_path: Path) -> None:
    missing, folder = tmp_path / "missing.yaml", tmp_path
    lines = validate_paths([str(missing), str(folder)])
    assert len(lines) == 2
    assert lines[0].startswith(f"{missing}: (file): cannot read")
    assert lines[1].startswith(f"{folder}: (file): cannot read")


def test_a_file_at_the_size_limit_with_huge_scalars_is_quick() -> None:
    text = "id: " + "x" * (MAX_BANK_BYTES - 100) + "\n"
    started = time.perf_counter()
    with pytest.raises(BankError):
        parse_bank_text(text, SOURCE)
    assert time.perf_counter() - started < 5


# -- alias bombs and nesting ---------------------------------------------------------------------

def _laughs(levels: int, width: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_at_once() -> None:
    """Banks may not use anchors and aliases at all, so the classic bomb stops at its first
    alias, with a line saying why."""
    bomb = _laughs(10)  # 9**10 "lol"s if expanded
    started = time.perf_counter()
    with pytest.raises(BankError) as caught:
        parse_bank_text(bomb, SOURCE)
    assert time.perf_counter() - started < 1
    assert "anchors and aliases" in caught.value.lines()[0]


def _condition_bomb(levels: int, *, valid: bool) -> str:
    """A bank whose one readiness gate is a condition tree of shared (aliased) clauses: `levels`
    levels of ten aliases each, 10**levels clauses once walked, in a file of about 26 KB."""
    clause: dict = ({"fact": "score", "dimension": "*", "op": ">", "value": 1} if valid
                    else {"fact": "nope"})
    for _ in range(levels):
        clause = {"all": [clause] * 10}
    data = copy.deepcopy(GOOD)
    data["readiness"] = [{"id": "g", "severity": "block", "reason": "r", "require": clause}]
    return yaml.safe_dump(data)  # safe_dump writes the shared objects as anchors and aliases


def _run_isolated(code: str, timeout: float,
                  cpu_seconds: int = 60) -> subprocess.CompletedProcess | None:
    """Run code in a child Python with a memory cap and a CPU-time cap (the kernel stops it with
    SIGXCPU past `cpu_seconds`, however loaded the machine is); None if it overran the wall-clock
    limit, which is only a backstop."""
    prelude = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
        resource.setrlimit(resource.RLIMIT_CPU, ({cpu_seconds}, {cpu_seconds}))
    """)
    try:
        return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                              cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def test_even_small_aliased_condition_trees_are_refused() -> None:
    with pytest.raises(BankError) as caught:
        parse_bank_text(_condition_bomb(2, valid=True), SOURCE)
    assert "anchors and aliases" in caught.value.lines()[0]


def test_alias_bomb_in_conditions_is_refused_quickly() -> None:
    bomb = _condition_bomb(9, valid=False)
    assert len(bomb.encode()) < MAX_BANK_BYTES
    code = f"""
        from assessment.banks import BankError, parse_bank_text
        try:
            parse_bank_text({bomb!r}, "bomb.yaml")
        except BankError as exc:
            print("refused", len(exc.problems))
        else:
            print("accepted")
    """
    # CPU time, not wall time: a loaded machine must not fail this, an expanding bomb must.
    done = _run_isolated(code, timeout=120, cpu_seconds=3)
    assert done is not None, "loading a 26 KB bank did not finish in two minutes"
    assert done.returncode == 0, f"loading a 26 KB bank used over 3 s of CPU or failed: " \
        f"{done.returncode} {done.stderr[-500:]}"
    assert done.stdout.startswith("refused"), "an aliased condition tree should be refused"


@pytest.mark.parametrize("raw", ["[" * 1000 + "]" * 1000, "a: " + "{a: " * 1000 + "1" + "}" * 1000,
                                 "- " * 1000 + "x"], ids=["flow-seq", "flow-map", "block-seq"])
def test_deep_nesting_is_a_bank_error(raw: str) -> None:
    with pytest.raises(BankError):
        parse_bank_text(raw, SOURCE)


# -- the other reported bugs, one minimal example each -------------------------------------------

def _good_with(mutate) -> dict:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(GOOD)
    mutate(data)
    return data


def _set_condition(data: dict, clause: dict) -> None:
    data["recommendations"] = [{"id": "r", "when": clause, "title": "t", "text": "t"}]


BAD_DATA = {
    "label-key-inf": lambda d: d["scale"].__setitem__("labels", {math.inf: "x"}),
    "weight-10**400": lambda d: d["dimensions"][0].__setitem__("weight", 10**400),
    "fact-is-a-list": lambda d: _set_condition(d, {"fact": ["score"], "op": ">", "value": 1}),
    "condition-dimension-is-a-list": lambda d: _set_condition(
        d, {"fact": "score", "dimension": ["ownership"], "op": ">", "value": 1}),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_odd_types_in_known_fields_give_a_bank_error(case: str) -> None:
    with pytest.raises(BankError):
        parse_bank(_good_with(BAD_DATA[case]), SOURCE)


@pytest.mark.parametrize("raw", ["a: !!timestamp 2020-13-45", "a: !!timestamp x",
                                 "a: !!float abc", "a: !!int 0x"])
def test_malformed_tagged_scalars_give_a_bank_error(raw: str) -> None:
    with pytest.raises(BankError):
        parse_bank_text(raw, SOURCE)


@pytest.mark.parametrize("where", ["weight", "condition-value"])
@pytest.mark.parametrize("number", [math.nan, math.inf], ids=["nan", "inf"])
def test_non_finite_numbers_are_refused(where: str, number: float) -> None:
    def mutate(d: dict) -> None:
        if where == "weight":
            d["dimensions"][0]["weight"] = number
        else:
            _set_condition(d, {"fact": "score", "dimension": "*", "op": "<", "value": number})
    with pytest.raises(BankError):
        parse_bank(_good_with(mutate), SOURCE)


@pytest.mark.parametrize("section", ["scale", "dimension", "recommendation", "gate"])
def test_unknown_nested_fields_are_refused(section: str) -> None:
    target = {"scale": lambda d: d["scale"],
              "dimension": lambda d: d["dimensions"][0],
              "recommendation": lambda d: d["recommendations"][0],
              "gate": lambda d: d["readiness"][0]}[section]
    data = _good_with(lambda d: target(d).__setitem__("colour", dt.date(2020, 1, 1)))
    with pytest.raises(BankError) as caught:
        parse_bank(data, SOURCE)
    assert any("colour: unknown field" in line for line in caught.value.lines())


@pytest.mark.parametrize("data", [{"": 1}, {"a\nb": 1}, {"id": "x\ny"}],
                         ids=["empty-key", "newline-key", "newline-value"])
def test_problem_lines_are_single_lines_with_a_path(data: dict) -> None:
    with pytest.raises(BankError) as caught:
        parse_bank(data, SOURCE)
    for line in caught.value.lines():
        assert len(line.splitlines()) == 1
        assert not line.startswith(f"{SOURCE}: : ")

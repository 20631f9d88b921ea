"""Suppression: small cells are hidden everywhere, and no hidden cell can be recovered by
subtraction, in any part of the result (groups, roles, group x role, clusters, recommendations)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from assessment.analysis import analyze
from assessment.analysis.confidentiality import suppressed_cells, suppressed_keys

from .conftest import bank_fixture, planted, wide_bank

SUPPRESSED = {"suppressed": True}


def hidden(sizes: dict[str, int], k: int = 5) -> set[str]:
    mask = suppressed_keys(pd.Series(sizes), k)
    return set(mask.index[mask])


def test_nothing_hidden_when_every_cell_is_large_enough():
    assert hidden({"a": 5, "b": 9, "c": 30}) == set()


def test_one_small_cell_takes_the_next_smallest_with_it():
    assert hidden({"a": 10, "b": 3, "c": 8, "d": 20}) == {"b", "c"}


def test_two_small_cells_that_add_up_to_less_than_k_take_a_third():
    # 1 + 2 = 3 people: shown together as "total minus the rest" they would still be < 5.
    assert hidden({"a": 10, "b": 1, "c": 2, "d": 20}) == {"b", "c", "a"}


def test_two_small_cells_that_add_up_to_k_are_enough():
    assert hidden({"a": 10, "b": 2, "c": 3, "d": 20}) == {"b", "c"}


def test_a_single_cell_holding_everyone_is_shown():
    assert hidden({"a": 12}) == set()


def test_a_single_small_cell_is_hidden():
    assert hidden({"a": 3}) == {"a"}


def test_two_way_table_protects_rows_and_columns():
    # groups x roles; (g2, Manager) = 2 is small. Hiding it alone would let it be recovered from
    # g2's total and from Manager's total, so one more cell goes in its row and in its column,
    # and then in the rows/columns of those.
    counts = pd.DataFrame({"Manager": [6, 2, 7], "Staff": [20, 15, 30], "Lead": [8, 9, 10]},
                          index=["g1", "g2", "g3"])
    mask = suppressed_cells(counts, 5, lines=(0, 1))
    for axis in (0, 1):
        per_line = mask.sum(axis=axis)
        assert ((per_line == 0) | (per_line >= 2)).all()
    assert mask.at["g2", "Manager"]


def test_empty_cells_are_not_used_as_complements():
    counts = pd.DataFrame({"x": [0, 3, 12, 40]}, index=list("abcd"))
    mask = suppressed_cells(counts, 5)
    assert list(mask["x"]) == [False, True, True, False]


def _walk(value, path=()):
    """Yield (path, key, value) for every entry of a JSON structure."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield path, k, v
            yield from _walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*path, i))


def _clustered_data():
    """Two perception camps; a 3-person team and a 6-person team that is hidden as complement."""
    bank = wide_bank()
    answers, truth = planted(bank, [70, 60], seed=11)
    teams = np.array(["Alpha"] * 40 + ["Bravo"] * 30 + ["Charlie"] * 25 + ["Delta"] * 26
                     + ["Foxtrot-six"] * 6 + ["Echo-tiny"] * 3)
    roles = np.array((["Manager", "Staff", "Staff", "Engineer"] * 40)[:130], dtype=object)
    roles[:2] = "Director-rare"
    index = answers.index
    return bank, answers, pd.Series(teams, index=index), pd.Series(roles, index=index)


def test_suppressed_groups_never_appear_in_the_result():
    bank, answers, groups, roles = _clustered_data()
    result = analyze(answers, bank, groups=groups, roles=roles, min_group_size=5).to_json()
    assert result["divergence"]["clusters"]["k"] == 2
    hidden_names = {"Echo-tiny", "Foxtrot-six", "Director-rare"}
    # Foxtrot (6) is big enough alone but is the complement of Echo (3): hidden too.
    dims = result["dimensions"]
    for name in ("Echo-tiny", "Foxtrot-six"):
        assert all(d["groups"][name] == SUPPRESSED for d in dims.values())
        assert all(i["groups"][name] == SUPPRESSED for i in result["items"].values())
    assert all(d["roles"]["Director-rare"] == SUPPRESSED for d in dims.values())
    for path, key, value in _walk(result):
        # a hidden name is allowed only as a key whose content is the suppressed marker (or, for
        # the group x role table, a mapping of suppressed markers)
        if key in hidden_names and value != SUPPRESSED:
            assert path[-1] == "group_roles" or path[-2] == "group_roles", path
            assert all(v == SUPPRESSED for v in value.values()), (path, key)
        if isinstance(value, str):
            assert not any(name in value for name in hidden_names), (path, key, value)
    # nothing in clusters or recommendations names them even as a key
    text = json.dumps(result["divergence"]) + json.dumps(result["recommendations"])
    assert not any(name in text for name in hidden_names)


def test_no_breakdown_can_be_reversed_by_subtraction():
    bank, answers, groups, roles = _clustered_data()
    k = 5
    result = analyze(answers, bank, groups=groups, roles=roles, min_group_size=k).to_json()
    true_sizes = groups.value_counts()
    role_sizes = roles.value_counts()
    breakdowns = []
    for d in result["dimensions"].values():
        breakdowns.append((d["groups"], true_sizes))
        breakdowns.append((d["roles"], role_sizes))
    for i in result["items"].values():
        breakdowns.append((i["groups"], true_sizes))
    for cells, sizes in breakdowns:
        gone = [key for key, cell in cells.items() if cell == SUPPRESSED]
        assert len(gone) != 1
        if gone:
            assert sizes[gone].sum() >= k
        for cell in cells.values():
            if cell != SUPPRESSED:
                assert cell["n"] >= k
    for d in result["dimensions"].values():
        for by_role in d["group_roles"].values():
            shown = [c for c in by_role.values() if c != SUPPRESSED]
            assert all(c["n"] >= k for c in shown)
            assert len(by_role) - len(shown) != 1
    for cluster in result["divergence"]["clusters"]["clusters"]:
        assert all(g["n"] >= k for g in cluster["groups"])
        assert all(r["n"] >= k for r in cluster["roles"])


def test_min_group_size_one_hides_nothing():
    bank, answers, groups, roles = _clustered_data()
    result = analyze(answers, bank, groups=groups, roles=roles, min_group_size=1).to_json()
    assert result["dimensions"]["dim0"]["groups"]["Echo-tiny"]["n"] == 3
    assert result["overall"]["groups_suppressed"] == 0


def test_item_cells_with_few_answers_are_hidden_even_in_a_large_group(small_bank):
    # Team B has 8 members but only 2 gave an answer other than "don't know" on D-A1.
    answers = pd.DataFrame(3.0, index=range(24), columns=small_bank.question_ids)
    answers.loc[16:21, "D-A1"] = np.nan
    groups = pd.Series(["A"] * 8 + ["B"] * 8 + ["C"] * 8)
    result = analyze(answers, small_bank, groups=groups).to_json()
    cells = result["items"]["D-A1"]["groups"]
    assert cells["C"] == SUPPRESSED
    assert sum(c == SUPPRESSED for c in cells.values()) == 2
    assert result["items"]["H-A1"]["groups"]["C"]["n"] == 8


@pytest.mark.parametrize("k", [5, 10])
def test_recommendation_evidence_names_only_reportable_groups(k):
    bank = bank_fixture("small")
    rng = np.random.default_rng(0)
    n = 60
    answers = pd.DataFrame(rng.integers(1, 6, (n, len(bank.questions))).astype(float),
                           columns=bank.question_ids)
    groups = pd.Series(["Big"] * 30 + ["Mid"] * 22 + ["Small-seven"] * 7 + ["One"] * 1)
    result = analyze(answers, bank, groups=groups, min_group_size=k).to_json()
    shown = {g for g, cell in result["dimensions"]["handoffs"]["groups"].items()
             if cell != SUPPRESSED}
    assert result["recommendations"]
    for rec in result["recommendations"]:
        assert {g["group"] for g in rec["evidence"]["groups"]} <= shown

"""The whole analysis on designed data whose every figure is known in advance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assessment.analysis import analyze
from assessment.analysis.scoring import (
    GroupMoments,
    Summary,
    answer_distribution,
    score_respondents,
)

from .conftest import synthetic

SUPPRESSED = {"suppressed": True}


def designed(small_bank):
    """30 respondents in North, South, East. Handoffs: the platform (2 on the scale, the reverse
    item answered 4) lags the agreed way of working (4): A = 25, O = 75. Data: 3 everywhere.
    Culture: leads answer 4-5, agents 1-2, which makes two perception clusters."""
    n = 30
    index = pd.Index([f"r{i:02d}" for i in range(n)])
    lead = np.arange(n) % 4 == 0  # 8 leads: 3 in North, 2 in South, 3 in East
    culture = np.empty(n)
    culture[lead] = [4, 5] * 4  # mean 4.5
    culture[~lead] = [1, 2] * 11  # mean 1.5
    answers = pd.DataFrame({"H-A1": 2.0, "H-A2": 4.0, "H-O1": 4.0, "H-O2": 4.0, "D-A1": 3.0,
                            "D-O1": 3.0, "D-O2": 3.0, "C-1": culture}, index=index)
    groups = pd.Series(np.repeat(["North", "South", "East"], 10), index=index)
    roles = pd.Series(np.where(lead, "Lead", "Agent"), index=index)
    return answers, groups, roles


def test_result_is_json_ready_and_complete(small_bank):
    answers, groups, roles = synthetic(small_bank, {"A": 20, "B": 15, "C": 9, "D": 2})
    result = analyze(answers, small_bank, groups=groups, roles=roles, response_rate=0.4).to_json()
    json.dumps(result, allow_nan=False)
    assert set(result) >= {"bank", "n_respondents", "min_group_size", "overall", "dimensions",
                           "items", "divergence", "recommendations", "readiness"}
    assert result["bank"] == {"id": "small", "version": 2, "title": "Small test bank"}
    assert set(result["overall"]) >= {"alignment", "score", "consensus"}
    for d in result["dimensions"].values():
        assert set(d) >= {"n", "mean", "sd", "score", "alpha", "icc1", "icc2", "rwg_j_mean",
                          "ad_m_mean", "lenses", "lens_gap", "alignment", "role_gap",
                          "low_confidence", "groups", "roles"}
        assert set(d["groups"]["A"]) >= {"n", "mean", "rwg_j", "ad_m"}
        assert set(d["roles"]["Staff"]) >= {"n", "mean"}
    for item in result["items"].values():
        assert set(item) >= {"dimension", "n", "mean", "sd", "icc1", "icc2", "rwg_mean",
                             "distribution", "groups"}
        assert set(item["groups"]["A"]) >= {"n", "mean", "rwg", "ad_m"}
    clusters = result["divergence"]["clusters"]
    assert set(clusters) >= {"k", "silhouette", "clusters"}
    assert set(result["readiness"]) == {"verdict", "gates"}


def test_inputs_are_not_modified(small_bank):
    answers, groups, roles = synthetic(small_bank, {"A": 12, "B": 12})
    before = (answers.copy(), groups.copy(), roles.copy())
    analyze(answers, small_bank, groups=groups, roles=roles).to_json()
    pd.testing.assert_frame_equal(answers, before[0])
    pd.testing.assert_series_equal(groups, before[1])
    pd.testing.assert_series_equal(roles, before[2])


def test_designed_scores_and_alignment(small_bank):
    answers, groups, roles = designed(small_bank)
    result = analyze(answers, small_bank, groups=groups, roles=roles).to_json()
    handoffs = result["dimensions"]["handoffs"]
    # reverse item: 1 + 5 - 4 = 2, so the architecture lens is 2 -> 25 points
    assert handoffs["lenses"] == {"architecture": 25.0, "operating_model": 75.0}
    assert handoffs["lens_gap"] == -50.0
    assert handoffs["alignment"] == 50.0
    assert handoffs["score"] == 50.0 and handoffs["mean"] == 3.0 and handoffs["n"] == 30
    assert handoffs["rwg_j_mean"] == 1.0 and handoffs["consensus"] == 1.0
    data = result["dimensions"]["data"]
    assert data["alignment"] == 100.0
    culture = result["dimensions"]["culture"]
    assert culture["lens_gap"] is None and culture["alignment"] is None
    # handoffs weighs 2, data 1; culture has no lenses
    assert result["overall"]["alignment"] == pytest.approx((2 * 50 + 100) / 3)
    # leads 4.5, agents 1.5 on culture: 3 scale points of 4 = 75 points
    assert culture["role_gap"] == pytest.approx(75.0)
    assert culture["low_confidence"] is True  # rwg 0 within every group
    assert handoffs["low_confidence"] is False
    item = result["items"]["H-A2"]
    assert item["reverse"] is True and item["mean"] == 2.0
    assert item["distribution"] == {"1": 0, "2": 30, "3": 0, "4": 0, "5": 0, "dont_know": 0}
    # 3 leads per group are below 5: every group x role cell goes (agents as complements)
    assert all(cell == SUPPRESSED for row in handoffs["group_roles"].values()
               for cell in row.values())
    assert handoffs["roles"]["Lead"]["n"] == 8


def test_designed_divergence_recommendations_and_readiness(small_bank):
    answers, groups, roles = designed(small_bank)
    result = analyze(answers, small_bank, groups=groups, roles=roles).to_json()
    divergent = {e["item"]: e for e in result["divergence"]["items"]}
    assert set(divergent) == {"C-1"}
    entry = divergent["C-1"]
    # 3 leads against 7 agents in a team of 10 spread the answers (variance 2.2) no more than
    # random answering often does (2 on average), so no team counts as split; the roles differ.
    assert entry["reasons"] == ["roles_differ"]
    assert entry["groups_split"] == 0
    assert entry["role_gap"]["high"] == "Lead" and entry["role_gap"]["low"] == "Agent"
    assert entry["role_gap"]["p_value"] < 0.001
    assert result["dimensions"]["culture"]["divergent_items"] == 1

    fired = [(r["id"], r["dimension"]) for r in result["recommendations"]]
    # consensus 0 vs .7 (medium) before culture's score (8 x 4.5 + 22 x 1.5) / 30 = 2.3, i.e.
    # 32.5 points (low)
    assert fired == [("platform-lags-handoffs", "handoffs"), ("low-consensus", "culture"),
                     ("low-maturity", "culture")]
    # Thirty people differing on one statement are not distinct camps: one population answering
    # that statement with the same spread splits about as well (silhouette .75 against .82).
    clusters = result["divergence"]["clusters"]
    assert clusters["k"] == 1 and clusters["clusters"] == []
    assert clusters["test"]["p_value"] > 0.05
    lags = result["recommendations"][0]
    assert lags["text"] == "In Handoffs the platform trails by -50 points."
    assert lags["priority"] == "high"
    assert {i["item"] for i in lags["evidence"]["items"]} == {"H-A1", "H-A2"}
    assert {g["group"] for g in lags["evidence"]["groups"]} == {"North", "South", "East"}
    consensus = result["recommendations"][1]
    assert consensus["evidence"]["items"][0]["item"] == "C-1"

    verdict = result["readiness"]
    assert verdict["verdict"] == "not_ready"
    gates = {g["id"]: g for g in verdict["gates"]}
    assert gates["handoffs-not-far-behind"]["passed"] is False
    assert gates["consensus-everywhere"]["evidence"]["failing_dimensions"] == ["culture"]
    assert gates["known-response-rate"]["reason"] == "insufficient data"
    with_rate = analyze(answers, small_bank, groups=groups, roles=roles,
                        response_rate=0.6).to_json()
    rates = {g["id"]: g for g in with_rate["readiness"]["gates"]}
    assert rates["known-response-rate"]["passed"] is True


def test_groups_that_differ_are_found(small_bank):
    answers, groups, roles = synthetic(small_bank, {"A": 30, "B": 30, "C": 30}, missing=0)
    shift = groups.map({"A": -1.5, "B": 0.0, "C": 1.5})
    answers["D-A1"] = (3 + shift).clip(1, 5)
    answers.loc[answers.index[::3], "D-A1"] += np.where(shift[::3] > 0, -1, 1)
    result = analyze(answers, small_bank, groups=groups, roles=roles).to_json()
    entry = next(e for e in result["divergence"]["items"] if e["item"] == "D-A1")
    assert "groups_differ" in entry["reasons"]
    assert entry["icc1"] > 0.5
    assert entry["group_spread"] > 50


def test_respondent_scores_use_answered_items_only(small_bank):
    answers = pd.DataFrame([[5, np.nan, np.nan, np.nan, 1, 1, np.nan, np.nan],
                            [1, 1, 3, 3, 2, 4, 4, 3]], columns=small_bank.question_ids,
                           dtype=float)
    scores = score_respondents(answers, small_bank)
    # one of four handoffs items answered is less than half: no score for the dimension, while
    # one of the two architecture items is half of that lens, and two of three data items will do
    assert np.isnan(scores.at[0, "handoffs"])
    assert scores.at[0, "handoffs:architecture"] == 5.0
    assert scores.at[0, "data"] == 1.0
    assert np.isnan(scores.at[0, "handoffs:operating_model"])
    assert np.isnan(scores.at[0, "culture"])
    assert scores.at[1, "handoffs"] == 2.0
    assert scores.at[1, "data:operating_model"] == 4.0
    assert "culture:architecture" not in scores.columns


def test_group_mean_is_the_mean_of_respondent_scores(small_bank):
    # Respondent 1 answered two handoffs items, respondent 2 all four: the dimension mean is the
    # mean of their two scores (5 and 1), not the mean of the six answers (2.33).
    answers = pd.DataFrame({"H-A1": [5.0, 1.0], "H-A2": [np.nan, 5.0], "H-O1": [5.0, 1.0],
                            "H-O2": [np.nan, 1.0]})
    result = analyze(answers, small_bank, groups=pd.Series(["A", "A"]), min_group_size=1).to_json()
    assert result["dimensions"]["handoffs"]["mean"] == 3.0
    assert result["dimensions"]["handoffs"]["groups"]["A"]["mean"] == 3.0


def test_summary_matches_the_t_interval():
    values = pd.DataFrame({"x": [1.0, 2.0, 2.0, 4.0, 5.0, np.nan]})
    summary = Summary.of(GroupMoments.of(values, None), _scale(1, 5))
    low, high = stats.t.interval(0.95, 4, loc=2.8, scale=stats.sem([1, 2, 2, 4, 5]))
    assert summary.n.at["all", "x"] == 5
    assert low < 1 < high < 5
    # the t interval (0.76, 4.84) is cut at the bottom of the 1-5 scale
    assert summary.ci_low.at["all", "x"] == 1.0
    assert summary.ci_high.at["all", "x"] == pytest.approx(high)
    assert summary.score.at["all", "x"] == pytest.approx(45.0)


def test_confidence_intervals_never_leave_the_scale(small_bank):
    # Two people answering 1 and 5 give a t interval of 3 +- 25 scale points.
    answers = pd.DataFrame({"C-1": [1.0, 5.0, 1.0, 1.0, 1.0, 1.0]})
    result = analyze(answers, small_bank, groups=pd.Series(["A"] * 6), min_group_size=1).to_json()
    item = result["items"]["C-1"]
    assert item["ci95"][0] == 1.0 and item["ci95"][1] < 5
    for cell in (item, result["dimensions"]["culture"], item["groups"]["A"]):
        assert 1.0 <= cell["ci95"][0] <= cell["mean"] <= cell["ci95"][1] <= 5.0


def test_distribution_bins_pre_scored_values_to_the_nearest_point():
    values = pd.DataFrame({"x": [1.0, 1.4, 2.6, np.nan, 5.0]})
    out = answer_distribution(values, _scale(1, 5))
    assert list(out["x"]) == [2, 0, 1, 0, 1, 1]


def test_small_inputs_do_not_break(small_bank):
    answers = pd.DataFrame([[3.0] * 8], columns=small_bank.question_ids)
    result = analyze(answers, small_bank, groups=pd.Series(["Solo"])).to_json()
    json.dumps(result, allow_nan=False)
    assert result["dimensions"]["handoffs"]["groups"]["Solo"] == SUPPRESSED
    assert result["dimensions"]["handoffs"]["rwg_j_mean"] is None
    assert result["divergence"]["clusters"]["k"] is None
    # consensus cannot be computed for a group of one: the warn gate fails for lack of data
    assert result["readiness"]["verdict"] == "conditional"
    gates = {g["id"]: g for g in result["readiness"]["gates"]}
    assert gates["consensus-everywhere"]["reason"] == "insufficient data"


def _scale(lo, hi):
    from assessment.banks import Scale

    return Scale(min=lo, max=hi, labels={})


def test_nobody_answered_anything(small_bank):
    answers = pd.DataFrame(np.nan, index=range(12), columns=small_bank.question_ids)
    result = analyze(answers, small_bank, groups=pd.Series(["A"] * 6 + ["B"] * 6)).to_json()
    json.dumps(result, allow_nan=False)
    assert result["dimensions"]["handoffs"]["score"] is None
    assert result["overall"]["alignment"] is None
    assert result["items"]["C-1"]["distribution"]["dont_know"] == 12
    with pytest.raises(ValueError, match="no respondents"):
        analyze(answers.iloc[:0], small_bank, groups=pd.Series([], dtype=object)).to_json()

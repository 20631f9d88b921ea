"""Agreement and reliability statistics against R's `multilevel` package (Bliese, v2.7).

Every reference value below was computed with R 4 and `library(multilevel)`; the exact call is in
the comment beside it. The issue's definitions and multilevel's agree on the caps: `rwg` caps the
group variance at the null variance (`if (V > ranvar) V <- ranvar`) and `rwg.j` caps the *mean*
item variance (`if (S > ranvar) S <- ranvar`), which is what we implement. The one difference is
missing data: multilevel drops incomplete rows (`na.exclude`), we use every answer per item; the
reference data are complete, so the numbers must match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assessment.analysis import analyze
from assessment.analysis.agreement import (
    ad_m,
    cronbach_alpha,
    icc,
    null_variance,
    rwg,
    rwg_j,
)
from assessment.analysis.scoring import GroupMoments

from .conftest import bank_fixture, real_data

# A hand-worked example, small enough to check on paper:
#   A: x1 = 1 5 1 5  (variance 16/3 > 2: capped, rwg 0)    x2 = 2 4 2 4  (variance 4/3)
#   B: x1 = 3 3 4 4  (variance 1/3, rwg 1 - (1/3)/2)      x2 = 3 4 4 4  (variance 1/4)
#   C: a group of one: no rwg, no AD
# R: g <- c("A","A","A","A","B","B","B","B","C"); x1 <- c(1,5,1,5,3,3,4,4,2)
#    x2 <- c(2,4,2,4,3,4,4,4,2)
HAND = pd.DataFrame({"x1": [1, 5, 1, 5, 3, 3, 4, 4, 2], "x2": [2, 4, 2, 4, 3, 4, 4, 4, 2]},
                    dtype=float)
HAND_GROUPS = pd.Series(["A"] * 4 + ["B"] * 4 + ["C"])


def test_null_variance_of_five_options_is_two():
    assert null_variance(5) == 2.0  # (25 - 1) / 12


def test_rwg_hand_example():
    moments = GroupMoments.of(HAND, HAND_GROUPS)
    out = rwg(moments, null_variance(5))
    # rwg(x1, g, ranvar=2)$rwg -> 0.0000000000 0.8333333333 NA
    assert out.loc["A", "x1"] == pytest.approx(0.0, abs=1e-4)
    assert out.loc["B", "x1"] == pytest.approx(0.8333333333, abs=1e-4)
    assert np.isnan(out.loc["C", "x1"])
    # rwg(x2, g, ranvar=2)$rwg -> 0.3333333333 0.8750000000 NA
    assert out.loc["A", "x2"] == pytest.approx(0.3333333333, abs=1e-4)
    assert out.loc["B", "x2"] == pytest.approx(0.875, abs=1e-4)


def test_rwg_j_hand_example_caps_the_mean_variance():
    moments = GroupMoments.of(HAND, HAND_GROUPS)
    out = rwg_j(moments, null_variance(5), ["x1", "x2"])
    # rwg.j(cbind(x1,x2), g, ranvar=2)$rwg.j -> 0.0000000000 0.9213483146 NA
    # (A: mean variance (16/3 + 4/3)/2 = 10/3 is capped at 2, so rwg(j) is 0)
    assert out["A"] == pytest.approx(0.0, abs=1e-4)
    assert out["B"] == pytest.approx(0.9213483146, abs=1e-4)
    assert np.isnan(out["C"])


def test_ad_m_hand_example():
    moments = GroupMoments.of(HAND, HAND_GROUPS)
    out = ad_m(HAND, HAND_GROUPS, moments)
    # ad.m(x1, g)$AD.M -> 2.0 0.5 NA
    assert out.loc["A", "x1"] == pytest.approx(2.0, abs=1e-4)
    assert out.loc["B", "x1"] == pytest.approx(0.5, abs=1e-4)
    assert np.isnan(out.loc["C", "x1"])
    # ad.m(cbind(x1,x2), g)$AD.M -> 1.5000 0.4375 NA
    dimension = out.mean(axis=1)
    assert dimension["A"] == pytest.approx(1.5, abs=1e-4)
    assert dimension["B"] == pytest.approx(0.4375, abs=1e-4)


def test_icc_hand_example_can_be_negative():
    moments = GroupMoments.of(HAND, HAND_GROUPS)
    out = icc(moments)
    # m <- aov(x1 ~ as.factor(g)); ICC1(m) -> -0.2857142857; ICC2(m) -> -2
    assert out.at["x1", "icc1"] == pytest.approx(-0.2857142857, abs=1e-4)
    assert out.at["x1", "icc2"] == pytest.approx(-2.0, abs=1e-4)
    # s <- (x1+x2)/2; m <- aov(s ~ as.factor(g)); ICC1 -> -0.1045130641; ICC2 -> -0.3963963964
    # summary(m): F = 0.71613, Pr(>F) = 0.52613
    scores = GroupMoments.of(HAND.mean(axis=1).to_frame("s"), HAND_GROUPS)
    out = icc(scores)
    assert out.at["s", "icc1"] == pytest.approx(-0.1045130641, abs=1e-4)
    assert out.at["s", "icc2"] == pytest.approx(-0.3963963964, abs=1e-4)
    assert out.at["s", "f"] == pytest.approx(0.71613, abs=1e-4)
    assert out.at["s", "p"] == pytest.approx(0.52613, abs=1e-4)


def test_cronbach_alpha_hand_example():
    # cronbach(cbind(x1,x2))$Alpha -> 0.8981481481
    assert cronbach_alpha(HAND) == pytest.approx(0.8981481481, abs=1e-4)


def test_cronbach_alpha_needs_two_items():
    assert np.isnan(cronbach_alpha(HAND[["x1"]]))


LEAD = [f"LEAD{i:02d}" for i in range(1, 12)]
BHR_ITEMS = ["AF06", "AF07", "AP12", "AP17", "AP33", "AP34", "AS14", "AS15", "AS16", "AS17",
             "AS28"]


def test_lq2002_rwg_j_of_leadership_items():
    lq = real_data("lq2002")
    moments = GroupMoments.of(lq[LEAD], lq["COMPID"])
    out = rwg_j(moments, null_variance(5), LEAD)
    # r <- rwg.j(lq2002[,paste0("LEAD", sprintf("%02d",1:11))], lq2002$COMPID, ranvar=2)
    # mean(r$rwg.j) -> 0.8677849; head(r): COMPID 2 0.8075272584, 3 0.8959383151, 4 0.8600120204
    # min(r$rwg.j) -> 0.7748995996 (COMPID 20)
    assert out.mean() == pytest.approx(0.8677849, abs=1e-4)
    assert out[2] == pytest.approx(0.8075272584, abs=1e-4)
    assert out[3] == pytest.approx(0.8959383151, abs=1e-4)
    assert out[4] == pytest.approx(0.8600120204, abs=1e-4)
    assert out.min() == pytest.approx(0.7748995996, abs=1e-4)
    assert out.idxmin() == 20


def test_lq2002_rwg_and_ad_m():
    lq = real_data("lq2002")
    moments = GroupMoments.of(lq[LEAD], lq["COMPID"])
    single = rwg(moments, null_variance(5))["LEAD01"]
    # r1 <- rwg(lq2002$LEAD01, lq2002$COMPID, ranvar=2); mean(r1$rwg) -> 0.4234190612
    # head(r1): 2 0.3704710145, 3 0.1959459459, 4 0.4409090909
    assert single.mean() == pytest.approx(0.4234190612, abs=1e-4)
    assert single[2] == pytest.approx(0.3704710145, abs=1e-4)
    assert single[3] == pytest.approx(0.1959459459, abs=1e-4)
    dimension = ad_m(lq[LEAD], lq["COMPID"], moments).mean(axis=1)
    # a <- ad.m(lq2002[,LEAD], lq2002$COMPID); mean(a$AD.M) -> 0.89019647; head: 2 1.0205176768
    assert dimension.mean() == pytest.approx(0.89019647, abs=1e-4)
    assert dimension[2] == pytest.approx(1.0205176768, abs=1e-4)
    assert dimension[3] == pytest.approx(0.8671226509, abs=1e-4)


def test_lq2002_icc_and_alpha():
    lq = real_data("lq2002")
    out = icc(GroupMoments.of(lq[["LEAD", "LEAD01"]], lq["COMPID"]))
    # m <- aov(LEAD ~ as.factor(COMPID), data=lq2002); ICC1(m) -> 0.08795621852; ICC2 -> 0.800754373
    assert out.at["LEAD", "icc1"] == pytest.approx(0.08795621852, abs=1e-4)
    assert out.at["LEAD", "icc2"] == pytest.approx(0.800754373, abs=1e-4)
    # m <- aov(LEAD01 ~ as.factor(COMPID), data=lq2002); ICC1 -> 0.0525607697; ICC2 -> 0.6980589849
    assert out.at["LEAD01", "icc1"] == pytest.approx(0.0525607697, abs=1e-4)
    assert out.at["LEAD01", "icc2"] == pytest.approx(0.6980589849, abs=1e-4)
    # cronbach(lq2002[,LEAD])$Alpha -> 0.9022365658
    assert cronbach_alpha(lq[LEAD]) == pytest.approx(0.9022365658, abs=1e-4)


def test_bh1996_icc_of_wellbeing():
    bh = real_data("bh1996")
    out = icc(GroupMoments.of(bh[["WBEING"]], bh["GRP"]))
    # m <- aov(WBEING ~ as.factor(GRP), data=bh1996); ICC1(m) -> 0.04336905008; ICC2 -> 0.7717128755
    # (Bliese 2000 reports .04 and .77 for these data)
    assert out.at["WBEING", "icc1"] == pytest.approx(0.04336905008, abs=1e-4)
    assert out.at["WBEING", "icc2"] == pytest.approx(0.7717128755, abs=1e-4)


def test_bhr2000_rwg_rwg_j_ad_m_and_alpha():
    bhr = real_data("bhr2000")
    moments = GroupMoments.of(bhr[BHR_ITEMS], bhr["GRP"])
    single = rwg(moments, null_variance(5))["AF06"]
    # r <- rwg(bhr2000$AF06, bhr2000$GRP, ranvar=2); mean(r$rwg) -> 0.4571496036
    # head(r): 1 0.5803623612, 2 0.5782828283, 3 0.3376432560
    assert single.mean() == pytest.approx(0.4571496036, abs=1e-4)
    assert single[1.0] == pytest.approx(0.5803623612, abs=1e-4)
    assert single[3.0] == pytest.approx(0.3376432560, abs=1e-4)
    joint = rwg_j(moments, null_variance(5), BHR_ITEMS)
    # rj <- rwg.j(bhr2000[,items], bhr2000$GRP, ranvar=2); mean(rj$rwg.j) -> 0.8876115013
    # head(rj): 1 0.9009814854, 2 0.9222832134, 3 0.8868092553
    assert joint.mean() == pytest.approx(0.8876115013, abs=1e-4)
    assert joint[2.0] == pytest.approx(0.9222832134, abs=1e-4)
    deviations = ad_m(bhr[BHR_ITEMS], bhr["GRP"], moments)
    # mean(ad.m(bhr2000$AF06, bhr2000$GRP)$AD.M) -> 0.8533528622
    assert deviations["AF06"].mean() == pytest.approx(0.8533528622, abs=1e-4)
    # a <- ad.m(bhr2000[,items], bhr2000$GRP); mean(a$AD.M) -> 0.8690722566; head: 1 0.8481366379
    assert deviations.mean(axis=1).mean() == pytest.approx(0.8690722566, abs=1e-4)
    assert deviations.mean(axis=1)[1.0] == pytest.approx(0.8481366379, abs=1e-4)
    # cronbach(bhr2000[,items])$Alpha -> 0.8913432598
    assert cronbach_alpha(bhr[BHR_ITEMS]) == pytest.approx(0.8913432598, abs=1e-4)


def test_analyze_reproduces_the_references_end_to_end():
    """The same figures through `analyze`: the dimension is the respondent mean of its items."""
    lq = real_data("lq2002")
    bank = bank_fixture("lq2002")
    result = analyze(lq[bank.question_ids], bank, groups=lq["COMPID"].astype(str))
    leadership = result["dimensions"]["leadership"]
    assert leadership["rwg_j_mean"] == pytest.approx(0.8677849, abs=1e-4)
    assert leadership["consensus"] == pytest.approx(0.8677849, abs=1e-4)
    assert leadership["icc1"] == pytest.approx(0.08795621852, abs=1e-4)
    assert leadership["icc2"] == pytest.approx(0.800754373, abs=1e-4)
    assert leadership["alpha"] == pytest.approx(0.9022365658, abs=1e-4)
    assert leadership["ad_m_mean"] == pytest.approx(0.89019647, abs=1e-4)
    assert leadership["groups"]["2"]["rwg_j"] == pytest.approx(0.8075272584, abs=1e-4)
    item = result["items"]["LEAD01"]
    assert item["rwg_mean"] == pytest.approx(0.4234190612, abs=1e-4)
    assert item["icc1"] == pytest.approx(0.0525607697, abs=1e-4)
    assert item["groups"]["3"]["rwg"] == pytest.approx(0.1959459459, abs=1e-4)

    bh = real_data("bh1996")
    bank = bank_fixture("bh1996")
    result = analyze(bh[["WBEING"]], bank, groups=bh["GRP"].astype(str))
    assert result["dimensions"]["wellbeing"]["icc1"] == pytest.approx(0.04336905008, abs=1e-4)
    assert result["dimensions"]["wellbeing"]["icc2"] == pytest.approx(0.7717128755, abs=1e-4)
    # group keys are the values as strings
    assert "1.0" in result["dimensions"]["wellbeing"]["groups"]

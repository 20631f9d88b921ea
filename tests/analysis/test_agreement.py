"""Agreement and reliability statistics against R's `multilevel` (Bliese, v2.7) and `psych` (2.2.9).

Every reference value below was computed with R 4 and `library(multilevel)` / `library(psych)`;
the exact call is in the comment beside it. The definitions agree on the caps: `rwg` caps the
group variance at the null variance (`if (V > ranvar) V <- ranvar`) and `rwg.j` caps the *mean*
item variance (`if (S > ranvar) S <- ranvar`), which is what we implement. The one difference is
missing data: `rwg.j` 2.7 drops incomplete rows (`na.exclude`), we use every answer per item; for
data with blanks the reference computes the pairwise figures in R item by item (the calls are
spelled out), and `rwg`, `aov` and `psych::alpha` are pairwise (per item) already.

Figures of random answering come from simulations (`rwg.sim`, `rwg.j.sim`, ours with another
generator), so they are compared within simulation error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assessment.analysis import analyze
from assessment.analysis.agreement import (
    ad_m,
    ad_m_cutoff,
    cronbach_alpha,
    icc,
    item_agreement,
    null_variance,
    random_answer_variances,
    rwg,
    rwg_chance,
    rwg_j,
    rwg_j_chance,
    rwg_j_lindell,
    slightly_skewed_variance,
    split_p_values,
    team_reliability,
)
from assessment.analysis.divergence import benjamini_hochberg, holm, role_gaps
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
    result = analyze(lq[bank.question_ids], bank, groups=lq["COMPID"].astype(str)).to_json()
    leadership = result["dimensions"]["leadership"]
    assert leadership["rwg_j_mean"] == pytest.approx(0.8677849, abs=1e-4)
    # per_item <- sapply(LEAD, function(i) mean(rwg(lq2002[[i]], lq2002$COMPID, ranvar=2)$rwg))
    # mean(per_item) -> 0.393810649
    assert leadership["consensus"] == pytest.approx(0.393810649, abs=1e-4)
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
    result = analyze(bh[["WBEING"]], bank, groups=bh["GRP"].astype(str)).to_json()
    assert result["dimensions"]["wellbeing"]["icc1"] == pytest.approx(0.04336905008, abs=1e-4)
    assert result["dimensions"]["wellbeing"]["icc2"] == pytest.approx(0.7717128755, abs=1e-4)
    # group keys are the values as strings
    assert "1.0" in result["dimensions"]["wellbeing"]["groups"]


def test_consensus_is_the_mean_item_agreement_and_not_inflated_by_j():
    """lq2002's leadership: rwg(j) .87 reads as agreement while its 11 items agree at .39 on
    average: the consensus is read at the items' level."""
    lq = real_data("lq2002")
    bank = bank_fixture("lq2002")
    result = analyze(lq[bank.question_ids], bank, groups=lq["COMPID"].astype(str)).to_json()
    leadership = result["dimensions"]["leadership"]
    # per_item <- sapply(LEAD, function(i) mean(rwg(lq2002[[i]], lq2002$COMPID, ranvar=2)$rwg))
    # per_item[c("LEAD01","LEAD05")] -> 0.4234190612 0.4633416344; mean(per_item) -> 0.393810649
    assert result["items"]["LEAD05"]["rwg_mean"] == pytest.approx(0.4633416344, abs=1e-4)
    assert leadership["consensus"] == pytest.approx(0.393810649, abs=1e-4)
    assert leadership["consensus"] == pytest.approx(
        np.mean([result["items"][q]["rwg_mean"] for q in LEAD]), abs=1e-12)
    assert leadership["consensus_reading"] == "weak"
    assert leadership["low_confidence"] is True
    # g2 <- sapply(LEAD, function(i) {r <- rwg(lq2002[[i]], lq2002$COMPID, ranvar=2);
    #                                  r$rwg[r$grpid == "2"]}); mean(g2) -> 0.279726614
    assert leadership["groups"]["2"]["rwg_mean"] == pytest.approx(0.279726614, abs=1e-4)
    assert leadership["groups"]["2"]["agrees"] is False
    # slightly skewed null, variance 1.34 (LeBreton & Senter 2008):
    # mean(rwg.j(lq2002[,LEAD], lq2002$COMPID, ranvar=1.34)$rwg.j) -> 0.4102780185
    # mean(sapply(LEAD, function(i) mean(rwg(lq2002[[i]], lq2002$COMPID, ranvar=1.34)$rwg)))
    #   -> 0.1583389006
    assert leadership["rwg_j_skewed_mean"] == pytest.approx(0.4102780185, abs=1e-4)
    assert leadership["consensus_skewed"] == pytest.approx(0.1583389006, abs=1e-4)
    assert result["agreement"]["slightly_skewed_variance"] == 1.34


def test_lindell_r_star_wg_j():
    lq = real_data("lq2002")
    moments = GroupMoments.of(lq[LEAD], lq["COMPID"])
    out = rwg_j_lindell(moments, null_variance(5), LEAD)
    # l <- rwg.j.lindell(lq2002[,LEAD], lq2002$COMPID, ranvar=2); mean(l$rwg.lindell)
    #   -> 0.3926210825; head: 2 0.2761034256, 3 0.4390526891, 4 0.3583562902
    assert out.mean() == pytest.approx(0.3926210825, abs=1e-4)
    assert out[2] == pytest.approx(0.2761034256, abs=1e-4)
    assert out[3] == pytest.approx(0.4390526891, abs=1e-4)
    # Team 2 has an item more spread than random answering: capped for its item rwg, the mean
    # of its items (.2797) lies above r*wg(j) (.2761); without a capped item they are equal.
    items = rwg(moments, null_variance(5))
    mean_items = item_agreement(items, LEAD)
    assert mean_items[2] == pytest.approx(0.279726614, abs=1e-4)
    uncapped = (moments.var[LEAD] <= null_variance(5)).all(axis=1)
    assert uncapped.any()
    assert np.allclose(mean_items[uncapped], out[uncapped])


def _with_blanks(frame: pd.DataFrame) -> pd.DataFrame:
    """Blanks at fixed rows (0-based i), the same in R with i0 <- 0:(n-1)."""
    out = frame.copy()
    i = np.arange(len(out))
    out.loc[i % 7 == 0, "LEAD01"] = np.nan
    out.loc[i % 11 == 3, "LEAD05"] = np.nan
    out.loc[i % 5 == 1, "LEAD09"] = np.nan
    return out


def test_data_with_blanks_are_used_pairwise():
    # b <- lq2002; i0 <- 0:(nrow(b)-1); b$LEAD01[i0 %% 7 == 0] <- NA
    # b$LEAD05[i0 %% 11 == 3] <- NA; b$LEAD09[i0 %% 5 == 1] <- NA   (292, 186, 409 blanks)
    lq = _with_blanks(real_data("lq2002"))
    assert lq[["LEAD01", "LEAD05", "LEAD09"]].isna().sum().tolist() == [292, 186, 409]
    moments = GroupMoments.of(lq[LEAD], lq["COMPID"])
    out = icc(moments)
    # m <- aov(LEAD01 ~ as.factor(COMPID), data=b); ICC1(m) -> 0.04889303609;
    # ICC2(m) -> 0.64738382462; summary(m): F 2.83594 on 48 and 1701, Pr(>F) 7.1317e-10
    assert out.at["LEAD01", "icc1"] == pytest.approx(0.04889303609, abs=1e-4)
    assert out.at["LEAD01", "icc2"] == pytest.approx(0.64738382462, abs=1e-4)
    assert out.at["LEAD01", "f"] == pytest.approx(2.83594, abs=1e-4)
    assert out.at["LEAD01", "p"] == pytest.approx(7.1317e-10, rel=1e-3)
    assert out.at["LEAD01", "n"] == 1750
    # Pairwise rwg(j): per group, each item's variance over its answers, J = items with 2+:
    # pr <- sapply(split(b[,LEAD], b$COMPID), function(Q) {
    #   v <- apply(Q, 2, function(x) if (sum(!is.na(x)) >= 2) var(x, na.rm=TRUE) else NA)
    #   J <- sum(!is.na(v)); S <- mean(v, na.rm=TRUE); if (S > 2) S <- 2
    #   (J*(1-S/2)) / (J*(1-S/2) + S/2) })
    # head(pr) -> 2 0.8089394358, 3 0.8945629255; mean(pr) -> 0.8675566401
    # (rwg.j 2.7 drops incomplete rows instead: mean 0.8625648122)
    joint = rwg_j(moments, null_variance(5), LEAD)
    assert joint[2] == pytest.approx(0.8089394358, abs=1e-4)
    assert joint[3] == pytest.approx(0.8945629255, abs=1e-4)
    assert joint.mean() == pytest.approx(0.8675566401, abs=1e-4)
    # alpha(b[,LEAD])$total$raw_alpha -> 0.9018421889 (pairwise covariances)
    assert cronbach_alpha(lq[LEAD]) == pytest.approx(0.9018421889, abs=1e-4)
    # Every respondent answered at least 8 of 11, so each has a score, the mean of their answers:
    # b$S <- rowMeans(b[,LEAD], na.rm=TRUE); m <- aov(S ~ as.factor(COMPID), data=b)
    # ICC1(m) -> 0.08641139725; ICC2(m) -> 0.79763916683
    bank = bank_fixture("lq2002")
    result = analyze(lq[bank.question_ids], bank, groups=lq["COMPID"].astype(str)).to_json()
    leadership = result["dimensions"]["leadership"]
    assert leadership["n"] == len(lq)
    assert leadership["icc1"] == pytest.approx(0.08641139725, abs=1e-4)
    assert leadership["icc2"] == pytest.approx(0.79763916683, abs=1e-4)
    assert leadership["alpha"] == pytest.approx(0.9018421889, abs=1e-4)
    assert leadership["groups"]["2"]["rwg_j"] == pytest.approx(0.8089394358, abs=1e-4)
    assert leadership["icc1_group_size"] == pytest.approx(len(lq) / 49)


def test_each_team_has_its_own_reliability():
    lq = real_data("lq2002")
    bank = bank_fixture("lq2002")
    result = analyze(lq[bank.question_ids], bank, groups=lq["COMPID"].astype(str)).to_json()
    groups = result["dimensions"]["leadership"]["groups"]
    # m <- aov(LEAD ~ as.factor(COMPID), data=lq2002); icc1 <- ICC1(m)   (0.08795621852)
    # sizes <- table(lq2002$COMPID); sizes * icc1 / (1 + (sizes - 1) * icc1)
    #   -> 2 (24 people) 0.6982977554, 3 (37) 0.7810967365, 4 (45) 0.8127248470
    assert groups["2"]["n"] == 24
    assert groups["2"]["reliability"] == pytest.approx(0.6982977554, abs=1e-4)
    assert groups["2"]["reliable"] is False
    assert groups["3"]["reliability"] == pytest.approx(0.7810967365, abs=1e-4)
    assert groups["3"]["reliable"] is True
    assert groups["4"]["reliability"] == pytest.approx(0.8127248470, abs=1e-4)
    # A team of two: 2 * icc1 / (1 + icc1) -> 0.1616907317, though ICC(2) is .80
    assert team_reliability(pd.Series([2.0]), 0.08795621852)[0] == pytest.approx(0.1616907317,
                                                                                  abs=1e-6)
    assert team_reliability(pd.Series([10.0]), -0.1)[0] == 0.0


def test_random_answering_matches_multilevel_simulations():
    # set.seed(1); a <- rwg.sim(gsize=n, nresp=5, nrep=10000)
    # quantile(a$rwg, .95, type=1): n=3 0.8333333, n=5 0.75, n=25 0.2883333
    # (a$rwg.95, the next value up, is what a team must reach: 1, 0.85, 0.2916667)
    assert rwg_chance(3, 5) == pytest.approx(0.8333333, abs=1e-6)
    assert rwg_chance(5, 5) == pytest.approx(0.75, abs=1e-6)
    assert rwg_chance(25, 5) == pytest.approx(0.2883333, abs=0.01)
    # b <- rwg.j.sim(gsize=n, nitems=10, nresp=5, nrep=5000); quantile(b$rwg, .95, type=1)
    #   n=5 0.7692308, n=10 0.6548026, n=25 0.4982534; mean(b$rwg >= .7) at n=5 -> 0.1084
    assert rwg_j_chance(5, 10, 5) == pytest.approx(0.7692308, abs=0.02)
    assert rwg_j_chance(10, 10, 5) == pytest.approx(0.6548026, abs=0.02)
    assert rwg_j_chance(25, 10, 5) == pytest.approx(0.4982534, abs=0.02)
    # one 5-person team in nine reaches .70 by answering at random: .70 is not beyond chance
    assert rwg_j_chance(5, 10, 5) > 0.70
    # the same draws in every process
    random_answer_variances.cache_clear()
    rwg_j_chance.cache_clear()
    assert rwg_j_chance(5, 10, 5) == rwg_j_chance.__wrapped__(5, 10, 5)


def test_split_test_holds_its_level_under_random_answering():
    """Teams answering at random are split (more spread than chance) in 5% of cases; a team
    answering 1 and 5 half and half is split."""
    rng = np.random.default_rng(11)
    sizes = np.repeat([5, 8, 12, 25, 60], 400)
    groups = np.repeat(np.arange(len(sizes)), sizes)
    values = pd.DataFrame({"x": rng.integers(1, 6, len(groups)).astype(float)})
    p = split_p_values(GroupMoments.of(values, pd.Series(groups)), 5)["x"]
    assert p.between(0, 1).all()
    assert (p < 0.05).mean() == pytest.approx(0.05, abs=0.015)
    polarised = pd.DataFrame({"x": [1.0, 5.0] * 6})
    p = split_p_values(GroupMoments.of(polarised, pd.Series(["t"] * 12)), 5)
    assert p.at["t", "x"] < 0.001


def test_null_variances_and_ad_m_cutoff():
    # LeBreton & Senter (2008): slightly skewed 5-point null .05 .15 .20 .35 .25
    points = np.arange(1, 6)
    share = np.array([0.05, 0.15, 0.20, 0.35, 0.25])
    variance = (share * points**2).sum() - (share * points).sum() ** 2
    assert slightly_skewed_variance(5) == pytest.approx(variance, abs=1e-9) == 1.34
    assert slightly_skewed_variance(4) is None
    assert ad_m_cutoff(5) == pytest.approx(5 / 6)  # Burke & Dunlap (2002): c/6
    assert ad_m_cutoff(7) == pytest.approx(7 / 6)


def test_holm_and_benjamini_hochberg_match_p_adjust():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan, 0.2])
    # p.adjust(c(0.01, 0.04, 0.03, 0.005, NA, 0.2), "holm") -> 0.040 0.090 0.090 0.025 NA 0.200
    assert np.allclose(holm(p), [0.04, 0.09, 0.09, 0.025, np.nan, 0.2], equal_nan=True)
    # p.adjust(..., "BH") -> 0.025 0.050 0.050 0.025 NA 0.200
    assert np.allclose(benjamini_hochberg(pd.Series(p)), [0.025, 0.05, 0.05, 0.025, np.nan, 0.2],
                       equal_nan=True)


def test_role_gap_is_tested_over_every_pair():
    """The extreme pair of four roles with Holm's adjustment over all six pairs."""
    from assessment.analysis.scoring import Summary
    from assessment.banks import Scale

    lq = real_data("lq2002")
    role = np.select([lq["COMPID"] % 4 == 0, lq["COMPID"] % 4 == 1, lq["COMPID"] % 4 == 2],
                     ["Lead", "Mgr", "Staff"], "Ops")
    summary = Summary.of(GroupMoments.of(lq[["LEAD"]], pd.Series(role)),
                         Scale(min=1, max=5, labels={}))
    out = role_gaps(summary, summary.n < 0, Scale(min=1, max=5, labels={}))
    # tapply(lq2002$LEAD, role2, mean): Lead 2.870835047 ... Staff 3.119582926
    # pairwise.t.test(lq2002$LEAD, role2, pool.sd=FALSE, p.adjust.method="holm")$p.value:
    #   Staff-Lead 2.61752659e-05 (Ops-Lead 0.0118420695, Staff-Mgr 0.003310581997)
    assert (out.at["LEAD", "high"], out.at["LEAD", "low"]) == ("Staff", "Lead")
    assert out.at["LEAD", "difference"] == pytest.approx(
        (3.119582926 - 2.870835047) / 4 * 100, abs=1e-6)
    assert out.at["LEAD", "p_adjusted"] == pytest.approx(2.61752659e-05, rel=1e-4)
    assert out.at["LEAD", "pairs"] == 6

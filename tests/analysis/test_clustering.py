"""Perception clusters: planted groups and known structure (iris, Old Faithful, the demo's camp)
are found; one population of survey answers (noise, a lattice of few items, ceiling and floor
effects) is not split at any seed or row order; small clusters never appear; the test's figures
are in the result; and the large-n path (MiniBatchKMeans, sampled silhouette) finds the same
groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_score

from assessment.analysis import analyze, clustering
from assessment.analysis.clustering import PerceptionClusters, silhouette

from .conftest import FIXTURES, planted, wide_bank


def one_population(n: int, items: int, seed: int, *, shift: float, floor: bool = False,
                   loading: float = 0.8) -> pd.DataFrame:
    """Survey answers of one population: a general factor, item difficulties and noise, piled
    at the top of a 1-5 scale (a ceiling effect) or, with `floor`, at the bottom; 5% blanks."""
    rng = np.random.default_rng(seed)
    latent = (3 + shift + rng.normal(0, 0.3, items) + loading * rng.normal(size=(n, 1))
              + rng.normal(0, 0.8, (n, items)))
    if floor:
        latent = 6 - latent
    values = np.clip(np.rint(latent), 1, 5)
    values[rng.random(values.shape) < 0.05] = np.nan
    return pd.DataFrame(values)


def k_at_seeds_and_orders(answers: pd.DataFrame, seeds=(0, 1), orders=2) -> list:  # type: ignore[no-untyped-def]
    found = []
    for seed in seeds:
        for order in range(orders):
            shuffled = (answers if order == 0
                        else answers.sample(frac=1, random_state=100 + order))
            found.append(PerceptionClusters(random_state=seed).fit(shuffled).k_)
    return found


def test_uniform_noise_on_few_items_is_one_population():
    # Five items on a 1-5 scale are a lattice of 3,125 points: k-means cut 400 random answers
    # into 7 or 8 "camps" against a Gaussian reference.
    for data_seed in range(3):
        rng = np.random.default_rng(data_seed)
        answers = pd.DataFrame(rng.integers(1, 6, (400, 5)).astype(float))
        assert k_at_seeds_and_orders(answers) == [1, 1, 1, 1]


@pytest.mark.parametrize(("items", "floor"), [(31, False), (50, False), (31, True), (50, True)])
def test_one_skewed_population_has_no_camps(items, floor):
    answers = one_population(300, items, seed=items + floor, shift=1.2, floor=floor)
    assert k_at_seeds_and_orders(answers) == [1, 1, 1, 1]


def test_one_population_with_minor_factors_has_no_camps():
    # Like real scales: a strong general factor, two minor factors on five items each, 2,000
    # people. The minor factors' eigenvalues (1.16 and below) lie under the noise edge of a
    # correlation matrix without a general factor; a reference that wipes them out is less
    # structured than the data and "finds" 5 or 6 camps.
    rng = np.random.default_rng(0)
    general, minor_a, minor_b = (rng.normal(size=(2000, 1)) for _ in range(3))
    load_a = np.r_[np.full(5, 0.45), np.zeros(9)]
    load_b = np.r_[np.zeros(5), np.full(5, 0.45), np.zeros(4)]
    latent = (3.3 + 0.8 * general + minor_a * load_a + minor_b * load_b
              + rng.normal(0, 0.6, (2000, 14)) + rng.normal(0, 0.3, 14))
    answers = pd.DataFrame(np.clip(np.rint(latent), 1, 5))
    assert k_at_seeds_and_orders(answers) == [1, 1, 1, 1]


def test_known_structure_is_found_at_every_seed_and_order():
    iris = load_iris(as_frame=True)
    # by silhouette iris has two groups: setosa, and the two other species together
    setosa = (iris.target == 0).astype(int)
    # write.csv(faithful, "faithful.csv", row.names = FALSE)  (R's datasets package)
    faithful = pd.read_csv(FIXTURES / "faithful.csv")
    long_eruptions = (faithful["eruptions"] > 3).astype(int)
    for data, truth in ((iris.data, setosa), (faithful, long_eruptions)):
        for seed in (0, 1):
            for order in range(2):
                shuffled = data if order == 0 else data.sample(frac=1, random_state=100 + order)
                model = PerceptionClusters(random_state=seed).fit(shuffled)
                assert model.k_ == 2
                labels = model.labels_.loc[data.index]
                assert adjusted_rand_score(truth, labels) > 0.95


def test_the_result_reports_the_test():
    bank = wide_bank()
    answers, _ = planted(bank, [90, 60], seed=8)
    groups = pd.Series(np.where(np.arange(150) % 2, "North", "South"), index=answers.index)
    test = analyze(answers, bank, groups=groups).to_json()["divergence"]["clusters"]
    figures = test["test"]
    assert figures["significance"] == clustering.SIGNIFICANCE
    assert figures["draws"] >= clustering.MIN_REFERENCE_DRAWS
    assert figures["p_value"] < clustering.SIGNIFICANCE
    assert set(figures["critical_by_k"]) == set(test["silhouette_by_k"])
    k = str(test["k"])
    # the bar is both criteria: the minimum-effect test's bound and the practical size
    assert test["threshold"] == max(figures["critical_by_k"][k],
                                    test["reference_by_k"][k] + clustering.MIN_GAIN)
    assert test["silhouette"] > test["threshold"]
    assert figures["min_gain"] == clustering.MIN_GAIN
    assert figures["negligible_gain"] == clustering.NEGLIGIBLE_GAIN
    assert figures["gain"] == pytest.approx(test["silhouette"] - test["reference_by_k"][k])
    assert figures["gain"] >= clustering.MIN_GAIN
    assert figures["effect"] == "silhouette gain over one population"
    for k, critical in figures["critical_by_k"].items():
        assert critical > test["reference_by_k"][k] + clustering.NEGLIGIBLE_GAIN
        assert figures["gain_by_k"][k] == pytest.approx(
            test["silhouette_by_k"][k] - test["reference_by_k"][k])


def test_silhouette_matches_scikit_learn():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(200, 4))
    distances = pairwise_distances(points)
    for labels in (rng.integers(0, 3, 200), (points[:, 0] > 0).astype(int),
                   np.r_[0, np.ones(199, dtype=int)]):
        assert silhouette(distances, labels) == pytest.approx(
            silhouette_score(distances, labels, metric="precomputed"), abs=1e-12)


def test_planted_clusters_are_recovered():
    bank = wide_bank()
    answers, truth = planted(bank, [120, 80, 50])
    model = PerceptionClusters(random_state=0).fit(answers)
    assert model.k_ == 3
    assert adjusted_rand_score(truth, model.labels_.loc[answers.index]) > 0.95
    assert model.silhouette_ >= model.threshold_
    assert model.gain_ >= clustering.MIN_GAIN


def test_weakly_separated_camps_in_many_items_are_still_found():
    # One scale point apart on each of 24 items, with noise: a real but quiet split, silhouette well
    # below the .25 a fixed cut-off would ask for.
    bank = wide_bank()
    answers, truth = planted(bank, [200, 200], separation=1.0, noise=0.8, seed=3)
    model = PerceptionClusters(random_state=0).fit(answers)
    assert model.k_ == 2
    assert model.silhouette_ < 0.25
    assert adjusted_rand_score(truth, model.labels_) > 0.8


def test_one_cloud_with_a_general_factor_is_not_split():
    # Everyone sits on one continuum (more or less positive about everything): k-means would cut
    # it in two with a silhouette above .25, but there are no distinct groups.
    bank = wide_bank()
    rng = np.random.default_rng(1)
    factor = rng.normal(size=(600, 1))
    values = np.clip(np.rint(3 + factor * 1.0 + rng.normal(0, 0.6, (600, 24))), 1, 5)
    answers = pd.DataFrame(values, columns=bank.question_ids)
    model = PerceptionClusters(random_state=0).fit(answers)
    assert max(model.silhouette_by_k_.values()) > 0.25
    assert model.k_ == 1


def test_uniform_noise_has_no_clusters():
    bank = wide_bank()
    rng = np.random.default_rng(2)
    answers = pd.DataFrame(rng.integers(1, 6, (400, 24)).astype(float),
                           columns=bank.question_ids)
    assert PerceptionClusters(random_state=0).fit(answers).k_ == 1


def test_too_few_respondents_to_try():
    bank = wide_bank()
    answers, _ = planted(bank, [4, 4])
    model = PerceptionClusters(min_cluster_size=5).fit(answers)
    assert model.k_ is None


def test_no_cluster_is_smaller_than_the_minimum_group_size():
    bank = wide_bank()
    answers, _ = planted(bank, [100, 100, 6], seed=4)
    model = PerceptionClusters(min_cluster_size=10, random_state=0).fit(answers)
    assert model.k_ == 2
    assert model.labels_.value_counts().min() >= 10


def test_same_random_state_same_clusters():
    bank = wide_bank()
    answers, _ = planted(bank, [60, 60, 60], seed=5)
    first = PerceptionClusters(random_state=7).fit(answers)
    second = PerceptionClusters(random_state=7).fit(answers)
    assert first.k_ == second.k_
    assert (first.labels_ == second.labels_).all()


def test_large_n_path_uses_minibatch_and_a_sample(monkeypatch):
    monkeypatch.setattr(clustering, "SELECTION_SAMPLE", 300)
    monkeypatch.setattr(clustering, "MINIBATCH_ABOVE", 1000)
    bank = wide_bank()
    answers, truth = planted(bank, [900, 700, 400], seed=6)
    model = PerceptionClusters(random_state=0).fit(answers)
    assert model.method_ == "minibatch_kmeans"
    assert model.k_ == 3
    assert adjusted_rand_score(truth, model.labels_) > 0.95


def test_cluster_description_in_the_result():
    bank = wide_bank()
    answers, truth = planted(bank, [90, 60], seed=8)
    # Cluster 0 lives mostly in team North, cluster 1 in South and East.
    teams = np.where(truth == 0, "North", np.where(np.arange(len(truth)) % 2 == 0, "South", "East"))
    groups = pd.Series(teams, index=answers.index)
    result = analyze(answers, bank, groups=groups, random_state=0).to_json()
    clusters = result["divergence"]["clusters"]
    assert clusters["k"] == 2
    first, second = clusters["clusters"]
    assert (first["size"], second["size"]) == (90, 60)
    assert first["share"] == pytest.approx(0.6)
    assert [g["group"] for g in first["groups"]] == ["North"]
    assert first["groups"][0]["n"] == 90
    assert "(mostly in North)" in first["label"]
    assert len(first["centroid_2d"]) == 2
    # the item that sets the first cluster apart most is one where its profile differs
    top = first["distinguishing_items"][0]
    inside = answers.loc[truth == 0, top["item"]].mean()
    outside = answers.loc[truth == 1, top["item"]].mean()
    assert top["difference"] == pytest.approx(inside - outside)
    assert abs(top["difference"]) >= max(abs(d["difference"])
                                         for d in first["distinguishing_items"])

"""Perception clusters: groups of respondents who see the organisation differently, whatever their
team, and what sets each apart.

Owns the clustering (an estimator in scikit-learn's style: parameters in `__init__`, work in `fit`,
learned attributes ending in `_`, randomness only through `random_state`) and the description of
each cluster for a lead: size, the items that set it apart, a plain-language label, its group and
role composition (suppressed where small) and 2-D coordinates for a map.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import pairwise_distances, silhouette_score
from threadpoolctl import threadpool_limits

from assessment.banks import Bank

from .confidentiality import suppressed_cells

# When is a split "distinct groups"? Survey answers share a general factor (people positive about
# everything), and k-means cuts such a single elongated cloud in two with a silhouette of .3-.4, so
# a fixed cut-off (Kaufman & Rousseeuw's .25) reports camps that are not there, while true camps in
# 50 items reach only .1-.2. The threshold is therefore relative: the silhouette k-means reaches on
# Gaussian data with the same covariance (one cloud with the same correlations: no groups), plus
# this margin, which is several times the reference's sampling noise at the sample size used.
SILHOUETTE_MARGIN = 0.03
MAX_CLUSTERS = 8
# k is chosen on a random sample of at most this many respondents, with its distance matrix
# computed once (1,500^2 doubles = 18 MB) and reused for every k's silhouette.
SELECTION_SAMPLE = 1500
# Above this many respondents the final fit uses MiniBatchKMeans (memory and time stay linear).
MINIBATCH_ABOVE = 20_000
N_INIT = 5
# Respondents who answered fewer than half the items are mostly imputed values: left out.
MIN_ANSWERED_SHARE = 0.5
DISTINGUISHING_ITEMS = 5
LENS_WORDS = {"architecture": "platform", "operating_model": "way of working"}


class PerceptionClusters:
    """K-means on respondents' standardised item vectors, k chosen by silhouette over 2..8.

    A k is eligible when its silhouette beats the reference (the same k-means on Gaussian data with
    the data's covariance) by `margin`; the k that beats it by most wins, else k = 1.

    `fit(scored)` reads the scored item columns (NaN = don't know, imputed by the item mean before
    standardising). Learned: `labels_` (Series: cluster 0..k-1 per clustered respondent), `k_`
    (1 when no silhouette beats its reference by `margin` or no k keeps every cluster at
    `min_cluster_size`; None when there are too few respondents to try), `silhouette_`,
    `silhouette_by_k_`, `reference_by_k_`, `threshold_`, `centers_` (standardised),
    `centroid_2d_` (PCA coordinates of the centres), `method_`.
    """

    def __init__(self, *, min_cluster_size: int = 5, max_clusters: int = MAX_CLUSTERS,
                 margin: float = SILHOUETTE_MARGIN, random_state: int = 0) -> None:
        self.min_cluster_size = min_cluster_size
        self.max_clusters = max_clusters
        self.margin = margin
        self.random_state = random_state

    def fit(self, scored: pd.DataFrame) -> PerceptionClusters:
        # One thread for OpenMP and BLAS: on a small shared machine, and in a web worker sharing
        # its cores with others, k-means' spinning OpenMP threads ran up to thirty times slower
        # than a single thread in our measurements.
        with threadpool_limits(limits=1):
            return self._fit(scored)

    def _fit(self, scored: pd.DataFrame) -> PerceptionClusters:
        kept = scored.loc[scored.notna().mean(axis=1) >= MIN_ANSWERED_SHARE]
        data = kept.loc[:, kept.notna().any(axis=0)]
        n = len(data)
        self.method_ = "kmeans"
        self.silhouette_by_k_: dict[int, float] = {}
        self.reference_by_k_: dict[int, float] = {}
        self.silhouette_ = None
        self.threshold_ = None
        self.centroid_2d_ = np.zeros((0, 2))
        self.centers_ = np.zeros((0, data.shape[1]))
        self.labels_ = pd.Series(0, index=data.index, dtype=int)
        self.k_: int | None = None
        if n < max(3, 2 * self.min_cluster_size) or data.shape[1] == 0:
            return self
        values = data.to_numpy(dtype=float)
        means = np.nanmean(values, axis=0)
        values = np.where(np.isnan(values), means, values)
        sd = values.std(axis=0)
        z = (values - means) / np.where(sd > 0, sd, 1.0)
        rng = np.random.default_rng(self.random_state)
        sample = (np.sort(rng.choice(n, SELECTION_SAMPLE, replace=False))
                  if n > SELECTION_SAMPLE else np.arange(n))
        zs = z[sample]
        distances = pairwise_distances(zs)
        covariance = np.atleast_2d(np.cov(zs, rowvar=False))
        reference = rng.multivariate_normal(np.zeros(zs.shape[1]), covariance, len(zs),
                                            method="eigh")
        reference_distances = pairwise_distances(reference)
        scale_up = n / len(sample)
        fitted: dict[int, KMeans] = {}
        distinct = len(np.unique(zs, axis=0))
        for k in range(2, min(self.max_clusters, distinct - 1) + 1):
            model = KMeans(n_clusters=k, n_init=N_INIT, random_state=self.random_state).fit(zs)
            sizes = np.bincount(model.labels_, minlength=k) * scale_up
            if sizes.min() < self.min_cluster_size or len(set(model.labels_)) < 2:
                continue
            fitted[k] = model
            self.silhouette_by_k_[k] = float(silhouette_score(distances, model.labels_,
                                                              metric="precomputed"))
            cloud = KMeans(n_clusters=k, n_init=N_INIT,
                           random_state=self.random_state).fit(reference)
            self.reference_by_k_[k] = (
                float(silhouette_score(reference_distances, cloud.labels_, metric="precomputed"))
                if len(set(cloud.labels_)) > 1 else 0.0)
        self.k_ = 1
        self.centers_ = z.mean(axis=0, keepdims=True)
        # Silhouette falls with k even for one cloud, so k is the one that beats its reference
        # by the most, among those that beat it by at least the margin.
        gain = {k: self.silhouette_by_k_[k] - self.reference_by_k_[k]
                for k in self.silhouette_by_k_}
        by_gain = sorted(gain, key=gain.get, reverse=True)
        if by_gain:
            self.silhouette_ = self.silhouette_by_k_[by_gain[0]]
            self.threshold_ = self.reference_by_k_[by_gain[0]] + self.margin
        for k in by_gain:
            if gain[k] < self.margin:
                break
            labels, centers = self._fit_all(z, fitted[k])
            if np.bincount(labels, minlength=k).min() >= self.min_cluster_size:
                self.k_ = k
                self.labels_ = pd.Series(labels, index=data.index)
                self.centers_ = centers
                self.threshold_ = self.reference_by_k_[k] + self.margin
                self.silhouette_ = float(silhouette_score(distances, labels[sample],
                                                          metric="precomputed"))
                break
        self.centroid_2d_ = np.zeros((len(self.centers_), 2))
        if distinct > 2:
            n_components = min(2, z.shape[1])
            pca = PCA(n_components=n_components, random_state=self.random_state).fit(zs)
            self.centroid_2d_[:, :n_components] = pca.transform(self.centers_)
        return self

    def _fit_all(self, z: np.ndarray, on_sample: KMeans) -> tuple[np.ndarray, np.ndarray]:
        """Labels and centres for every respondent, starting from the sample's centres."""
        if len(z) == len(on_sample.labels_):
            return on_sample.labels_, on_sample.cluster_centers_
        k = on_sample.n_clusters
        if len(z) > MINIBATCH_ABOVE:
            self.method_ = "minibatch_kmeans"
            model = MiniBatchKMeans(n_clusters=k, init=on_sample.cluster_centers_, n_init=1,
                                    batch_size=4096, random_state=self.random_state).fit(z)
        else:
            model = KMeans(n_clusters=k, init=on_sample.cluster_centers_, n_init=1,
                           random_state=self.random_state).fit(z)
        return model.labels_, model.cluster_centers_


def _composition(keys: pd.Series, labels: pd.Series, hidden_keys: pd.Series,
                 min_group_size: int) -> pd.DataFrame:
    """Counts of each key (group or role) in each cluster, NaN where the cell must not be shown."""
    # Every cluster gets a column even if none of its members has a key (people of hidden
    # groups carry no role).
    counts = pd.crosstab(keys.loc[labels.index], labels).reindex(
        index=hidden_keys.index, columns=np.sort(labels.unique()), fill_value=0)
    row_hidden = pd.DataFrame(np.repeat(hidden_keys.to_numpy()[:, None], counts.shape[1], axis=1),
                              index=counts.index, columns=counts.columns)
    hidden = suppressed_cells(counts, min_group_size, hidden=row_hidden, lines=(0, 1))
    return counts.where(~hidden & (counts > 0))


def _label(bank: Bank, items: list[dict], groups: list[str], roles: list[str]) -> str:
    """A plain-language label from the distinguishing items and the dominant groups and roles."""

    def phrase(entries: list[dict]) -> str:
        lenses: dict[str, set[str | None]] = {}
        for e in entries:
            q = bank.question(e["item"])
            lenses.setdefault(q.dimension, set()).add(q.lens)
        names = []
        for dim_id, seen in lenses.items():
            name = bank.dimension(dim_id).title
            if len(seen) == 1 and None not in seen:
                name = f"{name} ({LENS_WORDS[next(iter(seen))]})"
            names.append(name)
        return ", ".join(names)

    top = items[:3]
    parts = []
    higher = [e for e in top if e["difference"] > 0]
    lower = [e for e in top if e["difference"] < 0]
    if higher:
        parts.append(f"more positive about {phrase(higher)}")
    if lower:
        parts.append(f"more critical of {phrase(lower)}")
    text = "; ".join(parts) or "close to the overall average"
    text = text[0].upper() + text[1:]
    who = ([f"mostly in {' and '.join(groups)}"] if groups else []) + (
        [f"mostly {' and '.join(roles)} role"] if roles else [])
    if who:
        text += f" ({'; '.join(who)})"
    return text


def _dominant(shown: pd.Series, size: int, overall_share: pd.Series) -> list[str]:
    """Shown keys that make up at least a quarter of a cluster and half as much again as their
    share of everyone clustered: the ones that characterise it."""
    return [str(key) for key, count in shown.items()
            if count / size >= 0.25 and count / size >= 1.5 * overall_share.get(key, 0.0)][:2]


def describe_clusters(
    model: PerceptionClusters,
    scored: pd.DataFrame,
    bank: Bank,
    *,
    groups: pd.Series,
    roles: pd.Series | None,
    group_hidden: pd.Series,
    role_hidden: pd.Series | None,
    min_group_size: int,
) -> dict:
    """The clusters as a lead reads them.

    Reads the fitted `model`, the scored item columns (observed values only, not the imputed ones),
    each respondent's group and role, and which groups and roles are suppressed. Returns
    `{"k", "silhouette", "method", "threshold", "n_clustered", "note", "clusters": [...]}` with
    clusters largest first, each with `id`, `size`, `share`, `label`, `distinguishing_items`
    (cluster mean minus everyone else's, in answer-scale points, largest first), `groups` and
    `roles` (only cells of at least `min_group_size` people in reportable groups; the rest is
    counted in `other`) and `centroid_2d`.
    """
    result: dict = {
        "k": model.k_,
        "silhouette": model.silhouette_,
        "silhouette_by_k": {str(k): v for k, v in model.silhouette_by_k_.items()},
        "reference_by_k": {str(k): v for k, v in model.reference_by_k_.items()},
        "threshold": model.threshold_,
        "method": model.method_,
        "n_clustered": len(model.labels_),
        "clusters": [],
    }
    if model.k_ is None:
        result["note"] = "too few respondents to look for clusters"
        return result
    if model.k_ == 1:
        result["note"] = ("no distinct groups: the answers form one cloud of opinion (no split "
                          "separates them better than it would separate one Gaussian cloud)")
        return result
    result["note"] = None
    labels = model.labels_
    observed = scored.loc[labels.index]
    grouped = observed.groupby(labels)
    sums, counts = grouped.sum(min_count=1).fillna(0.0), grouped.count()
    total_sum, total_count = sums.sum(axis=0), counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = sums / counts.where(counts > 0)
        outside = (total_sum - sums) / (total_count - counts).where(total_count - counts > 0)
    difference = inside - outside
    group_cells = _composition(groups, labels, group_hidden, min_group_size)
    role_cells = (None if roles is None or role_hidden is None
                  else _composition(roles, labels, role_hidden, min_group_size))
    group_share = groups.loc[labels.index].value_counts(normalize=True)
    role_share = (None if roles is None
                  else roles.loc[labels.index].value_counts(normalize=True))
    sizes = labels.value_counts()
    for rank, cluster in enumerate(sizes.index, start=1):
        size = int(sizes[cluster])
        diffs = difference.loc[cluster].dropna()
        top = diffs.reindex(diffs.abs().sort_values(ascending=False).index)[:DISTINGUISHING_ITEMS]
        items = [{"item": qid, "dimension": bank.question(qid).dimension,
                  "lens": bank.question(qid).lens, "difference": value}
                 for qid, value in top.items()]
        shown_groups = group_cells[cluster].dropna().sort_values(ascending=False)
        shown_roles = (pd.Series(dtype=float) if role_cells is None
                       else role_cells[cluster].dropna().sort_values(ascending=False))
        entry = {
            "id": rank,
            "size": size,
            "share": size / len(labels),
            "label": _label(bank, items, _dominant(shown_groups, size, group_share),
                            [] if role_share is None
                            else _dominant(shown_roles, size, role_share)),
            "distinguishing_items": items,
            "groups": [{"group": str(g), "n": c, "share": c / size}
                       for g, c in shown_groups.items()],
            "other_groups_n": size - shown_groups.sum(),
            "centroid_2d": list(model.centroid_2d_[cluster]),
        }
        if role_cells is not None:
            entry["roles"] = [{"role": str(r), "n": c, "share": c / size}
                              for r, c in shown_roles.items()]
            entry["other_roles_n"] = size - shown_roles.sum()
        else:
            entry["roles"] = []
        result["clusters"].append(entry)
    return result

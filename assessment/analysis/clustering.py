"""Perception clusters: groups of respondents who see the organisation differently, whatever their
team, and what sets each apart.

Owns the clustering (an estimator in scikit-learn's style: parameters in `__init__`, work in `fit`,
learned attributes ending in `_`, randomness only through `random_state`) and the description of
each cluster for a lead: size, the items that set it apart, a plain-language label, its group and
role composition (suppressed where small) and 2-D coordinates for a map.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special, stats
from scipy.optimize import isotonic_regression
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import pairwise_distances
from threadpoolctl import threadpool_limits

from assessment.banks import Bank

from .confidentiality import suppressed_cells

# When is a split "distinct groups"? k-means splits any cloud, and how well (its silhouette)
# depends on the cloud's shape: survey answers are discrete and usually skewed (ceiling, floor,
# acquiescence), share a general factor, and sit on a lattice when there are few items, and each
# of these lets k-means beat a symmetric Gaussian reference on data with no groups at all. So the
# reference is what one population of these very answers looks like: every item keeps its own
# discrete, skewed distribution (made unimodal, since two peaks on an item are already two camps)
# and the items keep their correlations (a Gaussian copula calibrated so that the reference's
# correlations are the data's). k-means runs on several draws of it, and a k counts only when the
# data's silhouette lies above the reference's upper prediction bound: a test at level
# `SIGNIFICANCE` over all the k tried (Bonferroni).
SIGNIFICANCE = 0.01
# A test at level .01 still reports groups in about one in a hundred data sets with none, so a k
# must also clear a practical size: its silhouette must beat the reference's mean by at least
# `MIN_GAIN` (the effect figure, on the silhouette's own -1..1 scale). It is the smallest gain
# that planted camps show in our checks (weak camps one scale point apart on 24 items: .035 to
# .04; the demo's front-line camp, iris and planted profiles: .09 to .34), while one population
# that passes a test against "no gain" by chance does so with a gain of a few reference spreads
# (.01 to .035 in bench/null_rates.py --grid). Kaufman & Rousseeuw's fixed ".25 = no
# substantial structure" is not used: skewed single populations and lattices of few items exceed
# it, and real but quiet camps in many items stay below it.
MIN_GAIN = 0.03
# The test itself is a minimum-effect test (Murphy & Myors 1999): its null hypothesis is not "no
# gain over one population" but "a negligible gain of at most `NEGLIGIBLE_GAIN`". A chance pass
# sits a few reference spreads above the reference, and on few items the spread is large enough
# (.007 for 5 items and 400 people) for that to reach `MIN_GAIN` (bench/null_rates.py --grid
# found one such run: acquiescent answers, 5 items, gain .033); camps stand far above it.
NEGLIGIBLE_GAIN = 0.01
# Reference draws: as many as fit in the work of `REFERENCE_ROWS` clustered rows (k-means has
# local optima, so the spread of the reference's silhouette needs enough draws to be estimated;
# an underestimated spread is what lets a single population through), between
# `MIN_REFERENCE_DRAWS` and `MAX_REFERENCE_DRAWS`.
REFERENCE_ROWS = 6_000
MIN_REFERENCE_DRAWS = 10
MAX_REFERENCE_DRAWS = 20
# The first look at the test comes after this many draws; it stops there when the data's
# silhouette lies less than `FUTILITY_T` reference spreads above the reference at every k.
FIRST_LOOK = 5
FUTILITY_T = 1.0
# Rounds of copula calibration: each corrects the latent correlations by the gap between the
# data's and a reference draw's correlations (the rank-preserving maps to discrete answers weaken
# correlations, most where answers pile up at one end of the scale).
CALIBRATION_ROUNDS = 3
# Rows per calibration draw: enough that its sampling noise (about 1/sqrt(rows) per correlation)
# does not leak into the reference as structure the data do not have.
CALIBRATION_ROWS = 5000
# Items with more distinct values than this, or with non-integer values, are treated as
# continuous and their distribution is taken from a histogram.
MAX_DISCRETE_LEVELS = 20
MAX_HISTOGRAM_BINS = 30
MAX_CLUSTERS = 8
# k is chosen on a sample of at most this many respondents, with its distance matrix computed once
# and reused for every k's silhouette (1,000^2 doubles = 8 MB), and the reference draws have the
# same size.
SELECTION_SAMPLE = 1000
# Above this many respondents the final fit uses MiniBatchKMeans (memory and time stay linear).
MINIBATCH_ABOVE = 20_000
N_INIT = 3
# k-means starts per k on each reference draw: as many as on the data. With one start the
# reference's silhouette came out lower by up to one reference spread (5 noise items, 400
# people; 50 items, 1,000 people), which would tilt the test towards finding groups.
REFERENCE_N_INIT = N_INIT
# Respondents who answered fewer than half the items are mostly imputed values: left out.
MIN_ANSWERED_SHARE = 0.5
DISTINGUISHING_ITEMS = 5
LENS_WORDS = {"architecture": "platform", "operating_model": "way of working"}


class PerceptionClusters:
    """K-means on respondents' standardised item vectors, k from 2..8 accepted only when its
    silhouette beats one population of the same answers in a test at level `significance` and
    by at least `MIN_GAIN`.

    `fit(scored)` reads the scored item columns (NaN = don't know, imputed by the item mean before
    standardising). Rows are put in a canonical order first, so the result does not depend on the
    order of the respondents. Learned: `labels_` (Series: cluster 0..k-1 per clustered
    respondent), `k_` (1 when no k passes the test or keeps every cluster at `min_cluster_size`;
    None when there are too few respondents to try), `silhouette_` (of the chosen k, or the best
    k tried), `silhouette_by_k_`, `reference_by_k_` (mean silhouette of the reference draws),
    `reference_sd_by_k_`, `critical_by_k_` (the test's bound), `gain_by_k_` (silhouette minus the
    reference's mean), `bar_by_k_` (the silhouette a k must exceed: the larger of the test's bound
    and the reference's mean plus `MIN_GAIN`), `threshold_` and `gain_` (the bar and the gain of
    the k reported in `silhouette_`), `p_value_by_k_`, `p_value_` (the smallest Bonferroni-adjusted
    p-value over k, from the t prediction distribution), `centers_` (standardised),
    `centroid_2d_` (PCA coordinates of the centres), `method_`, `draws_`, `n_sample_`.
    """

    def __init__(self, *, min_cluster_size: int = 5, max_clusters: int = MAX_CLUSTERS,
                 significance: float = SIGNIFICANCE, draws: int | None = None,
                 random_state: int = 0) -> None:
        self.min_cluster_size = min_cluster_size
        self.max_clusters = max_clusters
        self.significance = significance
        self.draws = draws
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
        self.reference_sd_by_k_: dict[int, float] = {}
        self.critical_by_k_: dict[int, float] = {}
        self.gain_by_k_: dict[int, float] = {}
        self.p_value_by_k_: dict[int, float] = {}
        self.bar_by_k_: dict[int, float] = {}
        self.silhouette_ = None
        self.gain_: float | None = None
        self.threshold_ = None
        self.p_value_ = None
        self.draws_ = 0
        self.n_sample_ = 0
        self.centroid_2d_ = np.zeros((0, 2))
        self.centers_ = np.zeros((0, data.shape[1]))
        self.labels_ = pd.Series(0, index=data.index, dtype=int)
        self.k_: int | None = None
        if n < max(3, 2 * self.min_cluster_size) or data.shape[1] == 0:
            return self
        raw = data.to_numpy(dtype=float)
        # Canonical order: sorted by the answers themselves, so that the sample, the k-means
        # starts and hence k do not depend on the order the respondents came in.
        order = np.lexsort(np.nan_to_num(raw, nan=-np.inf).T[::-1])
        raw = raw[order]
        index = data.index[order]
        means = np.nanmean(raw, axis=0)
        values = np.where(np.isnan(raw), means, raw)
        sd = values.std(axis=0)
        z = (values - means) / np.where(sd > 0, sd, 1.0)
        rng = np.random.default_rng(self.random_state)
        sample = (np.sort(rng.choice(n, SELECTION_SAMPLE, replace=False))
                  if n > SELECTION_SAMPLE else np.arange(n))
        zs = z[sample]
        self.n_sample_ = len(sample)
        distances = pairwise_distances(zs)
        scale_up = n / len(sample)
        fitted: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        distinct = len(np.unique(zs, axis=0))
        ks = [k for k in range(2, min(self.max_clusters, distinct - 1) + 1)]
        for k in ks:
            labels, centers = kmeans(zs, k, N_INIT, self.random_state)
            if len(set(labels)) < 2:
                continue
            fitted[k] = labels, centers
            self.silhouette_by_k_[k] = silhouette(distances, labels)
        self.k_ = 1
        self.centers_ = z.mean(axis=0, keepdims=True)
        tried = list(self.silhouette_by_k_)
        if tried:
            draws = self.draws or int(np.clip(REFERENCE_ROWS // len(sample), MIN_REFERENCE_DRAWS,
                                              MAX_REFERENCE_DRAWS))
            reference = SinglePopulation(raw[sample], rng)
            observed = np.array([self.silhouette_by_k_[k] for k in tried])
            # A first look after `FIRST_LOOK` draws stops the test when the data lie nowhere near
            # the reference's upper tail, or nowhere near the practical size, at every k:
            # stopping only ever keeps "no distinct groups", so it cannot add false groups, and
            # most answers (one population) are done quickly. (Stopping early for groups as
            # well was tried: five draws estimate the spread too roughly, and the k chosen then
            # changed with the seed.)
            first = min(FIRST_LOOK, draws)
            drawn = _silhouettes(reference.draws(first), tried, self.random_state)
            look = _compare(observed, drawn, self.significance)
            ahead = observed - look["mean"]
            promising = (ahead >= FUTILITY_T * look["scale"]) & (ahead >= MIN_GAIN / 2)
            if first < draws and promising.any():
                more = _silhouettes(reference.draws(draws - first), tried, self.random_state)
                drawn = np.vstack([drawn, more])
                look = _compare(observed, drawn, self.significance)
            self.draws_ = len(drawn)
            mean, p_values = look["mean"], look["p"]
            gain = observed - mean
            self.p_value_ = float(p_values.min())
            for i, k in enumerate(tried):
                self.reference_by_k_[k] = float(mean[i])
                self.reference_sd_by_k_[k] = float(look["sd"][i])
                self.critical_by_k_[k] = float(look["critical"][i])
                self.gain_by_k_[k] = float(gain[i])
                self.p_value_by_k_[k] = float(p_values[i])
                # the silhouette k must exceed: the test's bound and the practical size
                self.bar_by_k_[k] = max(float(look["critical"][i]), float(mean[i]) + MIN_GAIN)
            # Silhouette falls with k even for one population, so among the k that pass, the one
            # whose silhouette is furthest above the reference's wins; when none passes, the k
            # closest to passing is reported.
            bars = np.array([self.bar_by_k_[k] for k in tried])
            closest = tried[int(np.argmax(observed - bars))]
            self.silhouette_ = self.silhouette_by_k_[closest]
            self.threshold_ = self.bar_by_k_[closest]
            self.gain_ = self.gain_by_k_[closest]
            passing = [i for i in range(len(tried))
                       if p_values[i] < self.significance and gain[i] >= MIN_GAIN]
            for i in sorted(passing, key=lambda i: observed[i] - mean[i], reverse=True):
                k = tried[i]
                sizes = np.bincount(fitted[k][0], minlength=k) * scale_up
                if sizes.min() < self.min_cluster_size:
                    continue
                labels, centers = self._fit_all(z, fitted[k])
                if np.bincount(labels, minlength=k).min() >= self.min_cluster_size:
                    self.k_ = k
                    self.labels_ = pd.Series(labels, index=index).loc[data.index]
                    self.centers_ = centers
                    # the figures the test compared, so the result never reads as a pass below
                    # its own bar
                    self.threshold_ = self.bar_by_k_[k]
                    self.silhouette_ = self.silhouette_by_k_[k]
                    self.gain_ = self.gain_by_k_[k]
                    break
        self.centroid_2d_ = np.zeros((len(self.centers_), 2))
        if distinct > 2:
            n_components = min(2, z.shape[1])
            pca = PCA(n_components=n_components, random_state=self.random_state).fit(zs)
            self.centroid_2d_[:, :n_components] = pca.transform(self.centers_)
        return self

    def _fit_all(self, z: np.ndarray, on_sample: tuple[np.ndarray, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Labels and centres for every respondent, starting from the sample's centres."""
        sample_labels, sample_centers = on_sample
        if len(z) == len(sample_labels):
            return sample_labels, sample_centers
        k = len(sample_centers)
        if len(z) > MINIBATCH_ABOVE:
            self.method_ = "minibatch_kmeans"
            model = MiniBatchKMeans(n_clusters=k, init=sample_centers, n_init=1,
                                    batch_size=4096, random_state=self.random_state).fit(z)
        else:
            model = KMeans(n_clusters=k, init=sample_centers, n_init=1,
                           random_state=self.random_state).fit(z)
        return model.labels_, model.cluster_centers_


def _compare(observed: np.ndarray, reference: np.ndarray, level: float
             ) -> dict[str, np.ndarray]:
    """The data's silhouette per k against draws x k reference silhouettes: the upper prediction
    bound of one more reference silhouette (t with draws - 1 degrees of freedom) at `level`,
    Bonferroni over the k, shifted up by `NEGLIGIBLE_GAIN` (the minimum-effect null); `p` holds
    the p-values adjusted likewise and `t` the distances above the shifted mean in spreads."""
    draws, ks = reference.shape
    mean = reference.mean(axis=0)
    spread = reference.std(axis=0, ddof=1)
    scale = spread * np.sqrt(1.0 + 1.0 / draws)
    floor = mean + NEGLIGIBLE_GAIN
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(scale > 0, (observed - floor) / scale,
                     np.where(observed > floor, np.inf, -np.inf))
    quantile = stats.t.ppf(1.0 - level / ks, draws - 1)
    return {"mean": mean, "sd": spread, "t": t, "scale": scale,
            "p": np.minimum(1.0, stats.t.sf(t, draws - 1) * ks),
            "critical": floor + quantile * scale}


def _silhouettes(draws: np.ndarray, ks: list[int], random_state: int) -> np.ndarray:
    """Silhouette of k-means at each k (columns) on each standardised reference draw (rows of
    the result; `draws` is draws x respondents x items)."""
    out = np.empty((len(draws), len(ks)))
    for d, z in enumerate(draws):
        distances = pairwise_distances(z)
        for j, k in enumerate(ks):
            labels, _ = kmeans(z, k, REFERENCE_N_INIT, random_state)
            out[d, j] = silhouette(distances, labels)
    return out


def kmeans(z: np.ndarray, k: int, n_init: int, random_state: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Labels and centres of k-means (Lloyd's algorithm from greedy k-means++ starts, the best of
    `n_init` by inertia; stops when the centres move less than 1e-4 of the mean variance), as
    scikit-learn's `KMeans` does. Written out because the test runs it some 150 times per
    analysis on at most 1,000 rows, where scikit-learn's per-call overhead (validation, thread
    pool set-up) took most of the time: 4 to 6 times slower on small samples in our
    measurements, no faster on 1,000 rows. The data and the reference draws both use it."""
    rng = np.random.default_rng([random_state, k])
    n = len(z)
    squares = (z * z).sum(axis=1)
    tolerance = 1e-4 * float(z.var(axis=0).mean())
    trials = 2 + int(np.log(k))
    rows = np.arange(n)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(n_init):
        centers = np.empty((k, z.shape[1]))
        first = int(rng.integers(n))
        centers[0] = z[first]
        closest = np.maximum(squares - 2 * z @ z[first] + squares[first], 0.0)
        for c in range(1, k):
            # greedy k-means++: of a few candidates drawn in proportion to their squared
            # distance to the nearest centre, the one that lowers the inertia most
            candidates = np.minimum(np.searchsorted(np.cumsum(closest),
                                                    rng.random(trials) * closest.sum()), n - 1)
            to_candidates = np.maximum(squares[None, :] - 2 * z[candidates] @ z.T
                                       + squares[candidates][:, None], 0.0)
            options = np.minimum(closest[None, :], to_candidates)
            pick = int(np.argmin(options.sum(axis=1)))
            centers[c] = z[candidates[pick]]
            closest = options[pick]
        for _ in range(300):
            labels = (squares[:, None] - 2 * z @ centers.T
                      + (centers * centers).sum(axis=1)[None, :]).argmin(axis=1)
            members = np.zeros((n, k))
            members[rows, labels] = 1.0
            counts = members.sum(axis=0)
            moved = np.where(counts[:, None] > 0,
                             (members.T @ z) / np.maximum(counts, 1.0)[:, None], centers)
            shift = float(((moved - centers) ** 2).sum())
            centers = moved
            if shift <= tolerance:
                break
        distances = (squares[:, None] - 2 * z @ centers.T
                     + (centers * centers).sum(axis=1)[None, :])
        labels = distances.argmin(axis=1)
        inertia = float(distances[rows, labels].sum())
        if best is None or inertia < best[0]:
            best = (inertia, labels, centers)
    assert best is not None
    return best[1], best[2]


def silhouette(distances: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (Rousseeuw 1987) from a full distance matrix, as
    `sklearn.metrics.silhouette_score(..., metric="precomputed")` but with one matrix product for
    all points' distances to every cluster: the test computes it some 300 times per analysis, and
    scikit-learn's chunked loop took most of the analysis time. A point alone in its cluster
    scores 0; 0 when there are fewer than two clusters."""
    clusters, codes = np.unique(labels, return_inverse=True)
    if len(clusters) < 2:
        return 0.0
    members = np.zeros((len(codes), len(clusters)))
    members[np.arange(len(codes)), codes] = 1.0
    sizes = members.sum(axis=0)
    totals = distances @ members  # each point's summed distance to each cluster
    own_size = sizes[codes]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = totals[np.arange(len(codes)), codes] / (own_size - 1)
        others = np.where(members > 0, np.inf, totals / sizes)
        b = others.min(axis=1)
        s = (b - a) / np.maximum(a, b)
    s = np.where(own_size > 1, np.nan_to_num(s), 0.0)
    return float(s.mean())


class SinglePopulation:
    """Draws of one population of survey answers like `raw` (respondents x items, NaN = don't
    know): each item's own unimodal distribution, the items' correlations, the same don't-knows,
    standardised as the data are. `draws(m)` returns m standardised draws of `len(raw)` rows."""

    def __init__(self, raw: np.ndarray, rng: np.random.Generator) -> None:
        self.rng = rng
        self.missing = np.isnan(raw)
        self.quantiles = [_unimodal_quantile_function(column[~np.isnan(column)])
                          for column in raw.T]
        target = _cleaned(_correlation(_standardised(raw)), len(raw))
        latent = target
        rows = max(CALIBRATION_ROWS, len(raw))
        for _ in range(CALIBRATION_ROUNDS):
            latent = _nearest_correlation(latent + target
                                          - _correlation(self._values(latent, rows)))
        self.latent = latent

    def _raw(self, latent: np.ndarray, rows: int) -> np.ndarray:
        """`rows` answers of the population (NaN where the data's don't-knows are, row by row)."""
        p = latent.shape[0]
        factor = np.linalg.cholesky(latent + 1e-9 * np.eye(p))
        uniform = special.ndtr(self.rng.standard_normal((rows, p)) @ factor.T)
        values = np.empty_like(uniform)
        for j, q in enumerate(self.quantiles):
            values[:, j] = q(uniform[:, j])
        missing = np.resize(self.missing, (rows, p))
        return np.where(missing, np.nan, values)

    def _values(self, latent: np.ndarray, rows: int) -> np.ndarray:
        return _standardised(self._raw(latent, rows))

    def draws(self, m: int) -> np.ndarray:
        """m draws (m x respondents x items), made in one pass and standardised one by one."""
        rows = len(self.missing)
        raw = self._raw(self.latent, m * rows).reshape(m, rows, -1)
        return np.stack([_standardised(one) for one in raw])


def _standardised(raw: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean-impute, then z-score each column (constant columns become 0), as `fit` does."""
    means = np.nanmean(raw, axis=0)
    values = np.where(np.isnan(raw), means, raw)
    sd = values.std(axis=0)
    z: NDArray[np.float64] = (values - means) / np.where(sd > 0, sd, 1.0)
    return z


def _correlation(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Correlation matrix of standardised columns; 0 off the diagonal for constant columns."""
    out = (z.T @ z) / len(z)
    np.fill_diagonal(out, 1.0)
    return out


def _cleaned(correlation: np.ndarray, n: int) -> np.ndarray:
    """The correlation matrix with its sampling noise removed (Laloux et al. 1999): eigenvalues
    no larger than pure noise would give are replaced by their mean. Without this a reference
    population built on the sample's correlations carries their noise, its own samples add noise
    again, and the data look more structured than one population of themselves. The noise edge is
    Marchenko-Pastur's sigma2 (1 + sqrt(p/n))^2 with sigma2 the mean of the eigenvalues taken as
    noise (found by iterating): with a strong general factor the rest of the spectrum sits well
    below 1, and an edge at 1 would wipe out real minor factors."""
    p = len(correlation)
    values, vectors = np.linalg.eigh(correlation)  # ascending
    signal = 0
    while True:
        noise = values[:p - signal]
        edge = noise.mean() * (1.0 + np.sqrt(p / n)) ** 2
        found = int((values > edge).sum())
        if found == signal or found >= p - 1:
            break
        signal = found
    if p - signal > 1:
        values = values.copy()
        values[:p - signal] = values[:p - signal].mean()
    return _nearest_correlation((vectors * values) @ vectors.T)


def _nearest_correlation(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """A valid correlation matrix near `matrix`: negative eigenvalues raised, unit diagonal."""
    symmetric = (matrix + matrix.T) / 2
    values, vectors = np.linalg.eigh(symmetric)
    fixed = (vectors * np.maximum(values, 1e-6)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    out: NDArray[np.float64] = fixed / np.outer(scale, scale)
    np.fill_diagonal(out, 1.0)
    return out


def _unimodal(pmf: NDArray[np.float64]) -> NDArray[np.float64]:
    """The unimodal probabilities closest to `pmf` in least squares over the choice of mode (rising
    up to it, falling after it; isotonic regression on each side)."""
    best, best_error = pmf, np.inf
    for mode in range(len(pmf)):
        rising = isotonic_regression(pmf[:mode + 1], increasing=True).x
        falling = (isotonic_regression(pmf[mode + 1:], increasing=False).x
                   if mode + 1 < len(pmf) else np.zeros(0))
        fit = np.concatenate([rising, falling])
        error = float(((fit - pmf) ** 2).sum())
        if error < best_error - 1e-15:
            best, best_error = fit, error
    best = np.clip(best, 0.0, None)
    shares: NDArray[np.float64] = best / best.sum()
    return shares


def _unimodal_quantile_function(observed: np.ndarray):  # type: ignore[no-untyped-def]
    """The quantile function (uniform -> value) of the unimodal distribution closest to the
    observed values: over the integers between the lowest and highest answer for answers on
    a scale, over histogram bins (uniform within a bin) otherwise."""
    if len(observed) == 0:
        return lambda u: np.zeros_like(u)
    low, high = float(observed.min()), float(observed.max())
    if low == high:
        return lambda u: np.full_like(u, low)
    integers = np.allclose(observed, np.round(observed))
    if integers and high - low + 1 <= MAX_DISCRETE_LEVELS:
        support = np.arange(low, high + 1)
        pmf = np.bincount((np.round(observed) - low).astype(int),
                          minlength=len(support)) / len(observed)
        cumulative = np.cumsum(_unimodal(pmf))
        cumulative[-1] = 1.0
        return lambda u: support[np.searchsorted(cumulative, u, side="right").clip(
            max=len(support) - 1)]
    bins = int(np.clip(np.sqrt(len(observed)), 10, MAX_HISTOGRAM_BINS))
    counts, edges = np.histogram(observed, bins=bins, range=(low, high))
    cumulative = np.concatenate([[0.0], np.cumsum(_unimodal(counts / counts.sum()))])
    cumulative[-1] = 1.0
    return lambda u: np.interp(u, cumulative, edges)


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


def _label(bank: Bank, items: list[dict[str, Any]], groups: list[str], roles: list[str]) -> str:
    """A plain-language label from the distinguishing items and the dominant groups and roles."""

    def phrase(entries: list[dict[str, Any]]) -> str:
        lenses: dict[str, set[str | None]] = {}
        for e in entries:
            q = bank.question(e["item"])
            lenses.setdefault(q.dimension, set()).add(q.lens)
        names = []
        for dim_id, seen in lenses.items():
            name = bank.dimension(dim_id).title
            only = next(iter(seen))
            if len(seen) == 1 and only is not None:
                name = f"{name} ({LENS_WORDS[only]})"
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
) -> dict[str, Any]:
    """The clusters as a lead reads them.

    Reads the fitted `model`, the scored item columns (observed values only, not the imputed ones),
    each respondent's group and role, and which groups and roles are suppressed. Returns
    `{"k", "silhouette", "method", "threshold", "n_clustered", "test", "note", "clusters": [...]}`
    (`test` holds the figures of the test against one population) with
    clusters largest first, each with `id`, `size`, `share`, `label`, `distinguishing_items`
    (cluster mean minus everyone else's, in answer-scale points, largest first), `groups` and
    `roles` (only cells of at least `min_group_size` people in reportable groups; the rest is
    counted in `other`) and `centroid_2d`.
    """
    result: dict[str, Any] = {
        "k": model.k_,
        "silhouette": model.silhouette_,
        "silhouette_by_k": {str(k): v for k, v in model.silhouette_by_k_.items()},
        "reference_by_k": {str(k): v for k, v in model.reference_by_k_.items()},
        "threshold": model.threshold_,
        "method": model.method_,
        "n_clustered": len(model.labels_),
        "test": {
            "reference": "one population: each item's own unimodal distribution, the items' "
                         "correlations (Gaussian copula)",
            "draws": model.draws_,
            "significance": model.significance,
            "negligible_gain": NEGLIGIBLE_GAIN,
            "sample": model.n_sample_,
            "p_value": model.p_value_,
            "reference_sd_by_k": {str(k): v for k, v in model.reference_sd_by_k_.items()},
            "critical_by_k": {str(k): v for k, v in model.critical_by_k_.items()},
            # the practical size: the silhouette's gain over the reference's mean, and its bound
            "effect": "silhouette gain over one population",
            "gain": model.gain_,
            "min_gain": MIN_GAIN,
            "gain_by_k": {str(k): v for k, v in model.gain_by_k_.items()},
        },
        "clusters": [],
    }
    if model.k_ is None:
        result["note"] = "too few respondents to look for clusters"
        return result
    if model.k_ == 1:
        result["note"] = ("no distinct groups: no split separates the answers clearly better "
                          "than it separates one population of answers like them")
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

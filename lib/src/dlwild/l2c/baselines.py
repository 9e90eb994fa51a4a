"""Classical clusterings on the same test sets (digest §4, "Baselines"), all from
scikit-learn: k-means and agglomerative (Ward) clustering given the true k, the same with k
chosen by the silhouette score among 2..k_max (the silhouette is undefined for one
cluster), DBSCAN with eps from the set's own nearest-neighbour distances, HDBSCAN; DBSCAN's
and HDBSCAN's noise points count as clusters of their own. And the paper's "random cluster
assignment" row: a random partition with the *true* k and the generator's size rule,
independent of the data (:func:`random_partition`, :func:`random_row`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlwild.l2c.episodes import cluster_sizes, shuffled_labels
from dlwild.l2c.evaluation import Scores, nmi, score_sets
from dlwild.speakers.metrics import mr_hungarian

__all__ = ["BASELINES", "baseline_scores", "dbscan", "random_partition", "random_row"]


def _flat(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


def kmeans(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means (k-means++ start, 4 restarts) with k clusters."""
    from sklearn.cluster import KMeans

    return KMeans(k, n_init=4, random_state=seed).fit_predict(_flat(x))


def agglomerative(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Ward-linkage agglomerative clustering cut at k clusters."""
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(k).fit_predict(_flat(x))


def _by_silhouette(method: Callable[..., np.ndarray], x: np.ndarray, k_max: int,
                   seed: int = 0) -> np.ndarray:
    from sklearn.metrics import silhouette_score

    best, best_score = None, -np.inf
    for k in range(2, min(k_max, len(x) - 1) + 1):
        labels = method(x, k, seed)
        if len(set(labels.tolist())) < 2:
            continue
        score = silhouette_score(_flat(x), labels)
        if score > best_score:
            best, best_score = labels, score
    return best if best is not None else np.zeros(len(x), dtype=np.int64)


def _noise_apart(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels).copy()
    noise = labels < 0
    labels[noise] = labels.max(initial=-1) + 1 + np.arange(noise.sum())
    return labels


def dbscan(x: np.ndarray, min_samples: int = 4) -> np.ndarray:
    """DBSCAN with eps = twice the median distance of a point to its ``min_samples - 1``-th
    neighbour (the k-distance heuristic, per set); noise points are singletons."""
    from sklearn.cluster import DBSCAN
    from sklearn.neighbors import NearestNeighbors

    flat = _flat(x)
    distances = NearestNeighbors(n_neighbors=min_samples).fit(flat).kneighbors(flat)[0]
    eps = max(2.0 * float(np.median(distances[:, -1])), 1e-9)
    return _noise_apart(DBSCAN(eps=eps, min_samples=min_samples).fit_predict(flat))


def hdbscan(x: np.ndarray, min_cluster_size: int = 3) -> np.ndarray:
    """scikit-learn's HDBSCAN; noise points are singletons."""
    from sklearn.cluster import HDBSCAN

    return _noise_apart(HDBSCAN(min_cluster_size=min_cluster_size, copy=True).fit_predict(_flat(x)))


#: name -> function (x, k_true, k_max) -> labels
BASELINES: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "k-means (true k)": lambda x, k, k_max: kmeans(x, k),
    "agglomerative (true k)": lambda x, k, k_max: agglomerative(x, k),
    "k-means (silhouette k)": lambda x, k, k_max: _by_silhouette(kmeans, x, k_max),
    "agglomerative (silhouette k)": lambda x, k, k_max: _by_silhouette(agglomerative, x,
                                                                       k_max),
    "DBSCAN": lambda x, k, k_max: dbscan(x),
    "HDBSCAN": lambda x, k, k_max: hdbscan(x),
}


def baseline_scores(x: np.ndarray, labels: np.ndarray, k: np.ndarray, k_max: int,
                    methods: tuple[str, ...] | None = None) -> dict[str, Scores]:
    """Every baseline (or ``methods``) on the sets ``x [B, n, ...]``."""
    out = {}
    for name in methods or tuple(BASELINES):
        method = BASELINES[name]
        preds = [method(xi, int(ki), k_max) for xi, ki in zip(x, k, strict=True)]
        out[name] = score_sets(labels, preds, k)
    return out


def random_partition(n: int, k: int, rng: np.random.Generator,
                     min_per_cluster: int = 2) -> np.ndarray:
    """A random partition of n items into k clusters by the generator's size rule."""
    return shuffled_labels(cluster_sizes(n, k, rng, min_per_cluster), rng)


def random_row(n: int, k_max: int, draws_per_k: int, seed: int = 0) -> dict[str, float]:
    """The paper's "random cluster assignment" row: MR and NMI of a random partition
    against an independent random truth with the same k, averaged over k = 1..k_max."""
    rng = np.random.default_rng([seed, n, 485])
    mrs, nmis = [], []
    for k in range(1, k_max + 1):
        for _ in range(draws_per_k):
            true, pred = random_partition(n, k, rng), random_partition(n, k, rng)
            mrs.append(mr_hungarian(true, pred))
            nmis.append(nmi(true, pred))
    return {"mr": float(np.mean(mrs)), "nmi": float(np.mean(nmis)), "n": n,
            "draws": len(mrs)}

"""Clustering embeddings and scoring them, with typed results: each clustering is keyed by
:class:`ClusterKey` (system, layer, speakers) and holds an :class:`Evaluation` (every MR
definition, ARI and ACP per method, the dendrogram, whether dominant sets converged).

The results file keeps the chapter's JSON shape, ``{"<system>/<layer>/<n>": {method:
scores}}``; :func:`to_json` and :func:`from_json` are the only places that spell it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from dlwild.speakers import cluster, metrics
from dlwild.speakers.audio import Utterance
from dlwild.speakers.settings import GMM, GMM_SYSTEM, NETWORKS

#: The clustering methods, in the page's order: AHC at the oracle's best cut, AHC at the
#: true number of speakers, dominant sets (no k).
METHODS = ("ahc_best_cut", "ahc_true_k", "dominant_sets")


class ClusterKey(NamedTuple):
    """Which clustering: ``system`` (a network kind or ``"gmm"``), its ``layer`` (None for the
    GMM baseline) and how many test ``speakers`` were clustered."""

    system: str
    layer: str | None
    speakers: int

    @property
    def name(self) -> str:
        """The page's name of the system (e.g. ``MLSP 2016 CNN, L8 softmax``)."""
        if self.system == GMM:
            return GMM_SYSTEM
        return NETWORKS[self.system].system(str(self.layer))

    @property
    def label(self) -> str:
        """The results file's key: ``cnn2016/L7/40``, ``gmm/40``."""
        parts = [self.system] + ([self.layer] if self.layer else []) + [str(self.speakers)]
        return "/".join(parts)

    @classmethod
    def parse(cls, label: str) -> ClusterKey:
        """The key a results file wrote as :attr:`label`."""
        parts = label.split("/")
        if len(parts) == 2 and parts[0] == GMM:
            return cls(GMM, None, int(parts[1]))
        if len(parts) == 3 and parts[0] in NETWORKS:
            return cls(parts[0], parts[1], int(parts[2]))
        raise ValueError(f"not a clustering key: {label!r} (want <network>/<layer>/<n> or "
                         "gmm/<n>)")


@dataclass(frozen=True)
class Evaluation:
    """One clustering's scores per method (:data:`METHODS`; GMM: the best cut only), its AHC
    ``linkage``, and ``ds_converged``: False when a dominant-sets peel hit its iteration limit."""

    scores: dict[str, dict[str, float]]
    linkage: np.ndarray | None = None
    ds_converged: bool | None = None

    def mr(self, method: str = "ahc_best_cut", definition: str = "mr_legacy") -> float:
        """One misclassification rate (``definition`` names a function of :mod:`metrics`)."""
        return float(self.scores[method][definition])


Clustering = dict[ClusterKey, Evaluation]


def evaluate_clustering(X: np.ndarray, true: Sequence[str], *, device: Any = "auto",
                        best_cut_metric: Callable = metrics.mr_legacy) -> Evaluation:
    """AHC (complete linkage, cosine) at the best cut and at the true k, and dominant sets,
    each with every MR definition, ARI and ACP."""
    linkage = cluster.agglomerative(X)
    k_best, best, _ = cluster.best_cut(linkage, true, metric=best_cut_metric)
    k_true, at_k, _ = cluster.at_true_k(linkage, true)
    ds = cluster.dominant_sets(X, device=device)
    return Evaluation({
        "ahc_best_cut": {**metrics.cluster_metrics(true, best), "k": k_best},
        "ahc_true_k": {**metrics.cluster_metrics(true, at_k), "k": k_true},
        "dominant_sets": {**metrics.cluster_metrics(true, ds.labels), "k": ds.k},
    }, linkage, ds.converged)


def best_cut_mr(X: np.ndarray, true: Sequence[str], definition: str = "mr_annpr2018") -> float:
    """MR ``definition`` of AHC at the best cut (chosen by the legacy MR, as
    :func:`evaluate_clustering` does): the segment-length sweep's one number."""
    _, labels, _ = cluster.best_cut(cluster.agglomerative(X), true, metric=metrics.mr_legacy)
    return float(metrics.cluster_metrics(true, labels)[definition])


def gmm_distances(groups: Sequence[tuple[Utterance, ...]], n_components: int,
                  seed: int) -> np.ndarray:
    """ACM MM 2009's model distances: one MFCC/GMM per utterance, the Beigi et al. distance
    between every two (computed once, then shared by every subset clustered)."""
    from dlwild.speakers.audio import load_audio
    from dlwild.speakers.features import SR
    from dlwild.speakers.models import fit_gmm, gmm_distance_matrix, mfcc_features

    gmms = [fit_gmm(mfcc_features(load_audio(g, SR)), n_components=n_components,
                    random_state=seed) for g in groups]
    return gmm_distance_matrix(gmms)


def gmm_baseline(distances: np.ndarray, true: Sequence[str]) -> Evaluation:
    """ACM MM 2009 baseline on a model-distance matrix: complete-linkage AHC, MR at the best
    cut (the paper tuned its stopping threshold on ground truth)."""
    from scipy.cluster.hierarchy import linkage as scipy_linkage
    from scipy.spatial.distance import squareform

    linkage = scipy_linkage(squareform(distances, checks=False), method="complete")
    k, labels, _ = cluster.best_cut(linkage, true, metric=metrics.mr_legacy)
    return Evaluation({"ahc_best_cut": {**metrics.cluster_metrics(true, labels), "k": k}},
                      linkage)


def to_json(clustering: Mapping[ClusterKey, Evaluation]) -> dict[str, dict]:
    """The results file's ``clustering`` entries: ``{key.label: scores}``."""
    return {key.label: evaluation.scores for key, evaluation in clustering.items()}


def from_json(entries: Mapping[str, Any]) -> Clustering:
    """Typed clusterings from a results file's ``clustering`` (its ``sweep`` left out)."""
    return {ClusterKey.parse(label): Evaluation(dict(scores))
            for label, scores in entries.items() if label != "sweep"}


def sizes(clustering: Mapping[ClusterKey, Evaluation]) -> list[int]:
    """The speaker counts clustered, smallest first."""
    return sorted({key.speakers for key in clustering})

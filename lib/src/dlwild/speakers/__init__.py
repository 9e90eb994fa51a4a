"""Speaker clustering chapter (ACM MM 2009, MLSP 2016/2017, ANNPR 2018, ICPR 2018).

Utterance embeddings are clustered without knowing the number of speakers, and the result is
scored by the papers' misclassification-rate (MR) family, ARI and ACP.  Public entry points:

- :func:`dominant_sets` ``(X, metric="cosine", **params) -> DominantSets`` — ICPR 2018
  dominant sets (``.labels``, ``.converged``);
- :func:`cluster_metrics` ``(true, pred) -> dict`` — every MR definition, ARI, ACP and counts.

Submodules: :mod:`~dlwild.speakers.metrics` (the MR family, Wilson intervals),
:mod:`~dlwild.speakers.cluster` (agglomerative clustering with oracle cuts, dominant sets),
:mod:`~dlwild.speakers.embeddings` (snippets, the papers' networks, cached training,
embeddings: reusable by other chapters), :mod:`~dlwild.speakers.evaluation` (typed clustering
results); the chapter: :mod:`~dlwild.speakers.chapter` (its declaration),
:mod:`~dlwild.speakers.settings`, :mod:`~dlwild.speakers.pipeline`, ``tables``, ``figures``,
``prose``. Imports stay light here (numpy only; torch, scipy and sklearn load when used).
"""

from __future__ import annotations

from .cluster import dominant_sets
from .metrics import cluster_metrics

__all__ = ["cluster_metrics", "dominant_sets"]

"""Speaker clustering chapter (ACM MM 2009, MLSP 2016/2017, ANNPR 2018, ICPR 2018).

Utterance embeddings are clustered without knowing the number of speakers, and the result is
scored by the papers' misclassification-rate (MR) family, ARI and ACP.  Public entry points:

- :func:`dominant_sets` ``(X, metric="cosine", **params) -> labels`` — ICPR 2018 dominant sets;
- :func:`cluster_metrics` ``(true, pred) -> dict`` — every MR definition, ARI, ACP and counts.

Submodules: :mod:`dlwild.speakers.metrics` (the MR family, Wilson intervals) and
:mod:`dlwild.speakers.cluster` (agglomerative clustering with oracle cuts, dominant sets).
Imports stay light here (numpy only; torch, scipy and sklearn load when used).
"""

from __future__ import annotations

from .cluster import dominant_sets
from .metrics import cluster_metrics

__all__ = ["cluster_metrics", "dominant_sets"]

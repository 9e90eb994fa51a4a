"""The L2C loss (paper §3.3; digest §3.3).

``P_ij = sum_k P(k) sum_l P(l | x_i, k) P(l | x_j, k)`` is the probability that items i and j
share a cluster; the assignment loss is the weighted binary cross-entropy of ``P_ij``
against ``y_ij`` over the unordered pairs,

    L_ca = -(2 / (n (n - 1))) sum_{i<j} [phi1 y_ij log P_ij + phi2 (1 - y_ij) log(1 - P_ij)],

with ``phi1 = c sqrt(1 - phi)``, ``phi2 = c sqrt(phi)``, ``phi1 + phi2 = 2`` and phi the
prior that two items of a training set share a cluster
(:func:`dlwild.l2c.episodes.same_cluster_prior`, computed for the chapter's n and generator,
not 0.5); the count loss is ``-log P(k_true)``; ``L = L_cc + lambda L_ca`` with lambda = 5."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dlwild.l2c.episodes import same_cluster_prior
from dlwild.l2c.model import Output

__all__ = ["EPS", "PairWeights", "l2c_loss", "pair_probabilities", "pair_weights"]

#: P_ij is clipped into (EPS, 1 - EPS) before the logs.
EPS = 1e-6


@dataclass(frozen=True)
class PairWeights:
    """The pair weights phi1 (same cluster) and phi2 (different clusters) for prior phi."""

    phi: float
    same: float
    different: float


def pair_weights(phi: float) -> PairWeights:
    """phi1 = c sqrt(1 - phi), phi2 = c sqrt(phi), with c such that phi1 + phi2 = 2."""
    if not 0.0 < phi < 1.0:
        raise ValueError(f"the same-cluster prior phi must lie in (0, 1), got {phi}")
    a, b = (1 - phi) ** 0.5, phi**0.5
    c = 2.0 / (a + b)
    return PairWeights(phi, c * a, c * b)


def weights_for(n: int, k_max: int, min_per_cluster: int = 2) -> PairWeights:
    """The pair weights of the chapter's generator for sets of n items."""
    return pair_weights(same_cluster_prior(n, k_max, min_per_cluster))


def pair_probabilities(out: Output) -> torch.Tensor:
    """``P [B, n, n]``: the same-cluster probability of every pair, marginalised over k."""
    pk = out.log_pk.exp()
    total = 0
    for k, log_a in enumerate(out.log_assign):
        a = log_a.exp()
        total = total + pk[:, k, None, None] * (a @ a.transpose(1, 2))
    return total


def same_cluster(labels: torch.Tensor) -> torch.Tensor:
    """``y [B, n, n]``: 1 where two items share a true label."""
    return (labels.unsqueeze(2) == labels.unsqueeze(1)).to(torch.float32)


def l2c_loss(out: Output, labels: torch.Tensor, k_true: torch.Tensor, weights: PairWeights,
             lam: float = 5.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(total, count loss, assignment loss)``, each averaged over the sets of the batch.
    ``labels [B, n]`` are the true clusters, ``k_true [B]`` their counts (1..k_max)."""
    n = labels.shape[1]
    if n < 2:
        raise ValueError(f"the pairwise loss needs sets of at least 2 items, got n={n}")
    p = pair_probabilities(out).clamp(EPS, 1 - EPS)
    y = same_cluster(labels)
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=labels.device), diagonal=1)
    terms = weights.same * y * p.log() + weights.different * (1 - y) * (1 - p).log()
    assign = -(2.0 / (n * (n - 1))) * terms[:, upper].sum(-1)
    count = -out.log_pk.gather(1, (k_true - 1).long().unsqueeze(1)).squeeze(1)
    return (count + lam * assign).mean(), count.mean(), assign.mean()

"""Today's dominant-sets clustering, kept verbatim as the baseline of
``benchmarks/dominant_sets.py`` (and the reference of ``tests/speakers/test_cluster.py``): the
torch implementation of ``dlwild.speakers.cluster`` before the replicator dynamics were compiled
(issue 24, item 12).  Not part of the library; the affinity matrix, which did not change,
comes from it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dlwild.speakers.cluster import (
    affinity_matrix,  # unchanged: only the dynamics and peeling were rewritten
)

if TYPE_CHECKING:
    import torch


def _replicate(
    A: torch.Tensor, x0: torch.Tensor | np.ndarray | None, epsilon: float, max_iter: int,
    check_every: int,
) -> tuple[torch.Tensor, int, bool]:
    """The replicator dynamics of :func:`replicator_dynamics`: ``(x, iterations, converged)``."""
    import torch

    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"affinity must be a square matrix, got shape {tuple(A.shape)}")
    if epsilon <= 0 or max_iter < 1 or check_every < 1:
        raise ValueError("epsilon must be > 0 and max_iter, check_every >= 1")
    n = A.shape[0]
    x = (torch.full((n,), 1.0 / n, dtype=A.dtype, device=A.device) if x0 is None
         else torch.as_tensor(x0, dtype=A.dtype, device=A.device).clone())
    done = 0
    while done < max_iter:
        steps = min(check_every, max_iter - done)
        xs, diffs = [], []
        for _ in range(steps):
            ax = A @ x
            new = x * ax / torch.dot(x, ax)
            diffs.append(torch.linalg.vector_norm(new - x))
            xs.append(new)
            x = new
        hit = torch.nonzero(torch.stack(diffs) <= epsilon)
        if hit.numel():
            first = int(hit[0, 0])
            return xs[first], done + first + 1, True
        done += steps
    return x, done, False


def replicator_dynamics(
    A: torch.Tensor | np.ndarray, x0: torch.Tensor | np.ndarray | None = None, *,
    epsilon: float = 1e-6, max_iter: int = 10_000, check_every: int = 64,
) -> tuple[torch.Tensor, int]:
    """Discrete replicator dynamics ``x <- x * (A x) / (x^T A x)`` from ``x0`` (default: the
    barycentre), stopped at the first t with ``||x(t+1) - x(t)||_2 <= epsilon`` (ICPR 2018, digest
    §4.5).  Iterations run in batches of ``check_every`` matrix-vector products with one
    convergence check per batch; the returned ``x(t+1)`` and iteration count are exactly those of
    a step-by-step loop.  Returns ``(x, iterations)``; warns if ``max_iter`` is reached."""
    import torch

    x, iterations, converged = _replicate(torch.as_tensor(A), x0, epsilon, max_iter,
                                          check_every)
    if not converged:
        warnings.warn(
            f"replicator dynamics did not reach epsilon={epsilon:g} in {max_iter} iterations",
            RuntimeWarning, stacklevel=2,
        )
    return x, iterations


@dataclass(frozen=True)
class DominantSets:
    """A dominant-sets clustering: ``labels`` in peeling order, and ``unconverged``, the peels
    whose replicator dynamics stopped at ``max_iter`` (they take the state reached)."""

    labels: np.ndarray
    peels: int
    unconverged: int

    @property
    def converged(self) -> bool:
        """True when every peel's dynamics reached epsilon within the iteration limit."""
        return self.unconverged == 0

    @property
    def k(self) -> int:
        """Number of clusters found."""
        return int(len(set(self.labels.tolist())))


def dominant_sets_from_affinity(
    A: torch.Tensor | np.ndarray, *, theta: float = 0.1, epsilon: float = 1e-6,
    max_iter: int = 10_000, check_every: int = 64,
) -> DominantSets:
    """Peel dominant sets off an affinity graph (ICPR 2018, digest §4.5): run the replicator
    dynamics on the unassigned nodes, take ``{i : x_i > theta * max(x)}`` as the next cluster,
    remove it and repeat until every node is assigned.  Labels 0, 1, ... in peeling order.
    Nodes with no affinity left (a lone node, or an all-zero remainder) become singletons [O]."""
    import torch

    A = torch.as_tensor(A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"affinity must be a square matrix, got shape {tuple(A.shape)}")
    if not torch.isfinite(A).all() or (A < 0).any():
        raise ValueError("affinity must be finite and non-negative")
    if not 0.0 <= theta < 1.0:
        raise ValueError(f"theta must lie in [0, 1), got {theta!r}")
    n = A.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    remaining = torch.ones(n, dtype=torch.bool, device=A.device)
    cluster = peels = unconverged = 0
    while bool(remaining.any()):
        # The dynamics run on the sub-graph of the unassigned nodes only: the same result as on
        # the whole graph with zero mass on assigned nodes (multiplicative updates keep them at
        # zero), but each peel costs O(m^2) for the m nodes left instead of O(n^2).
        idx = torch.nonzero(remaining).flatten()
        sub = A[idx][:, idx]
        m = idx.numel()
        x0 = torch.full((m,), 1.0 / m, dtype=A.dtype, device=A.device)
        if float(torch.dot(x0, sub @ x0)) <= 0.0:
            for i in idx.tolist():
                labels[i] = cluster
                cluster += 1
            break
        x, _, converged = _replicate(sub, x0, epsilon, max_iter, check_every)
        peels += 1
        unconverged += not converged
        members = idx[x > theta * x.max()]
        labels[members.cpu().numpy()] = cluster
        remaining[members] = False
        cluster += 1
    return DominantSets(labels, peels, unconverged)


def dominant_sets(
    X: np.ndarray, metric: str = "cosine", *, theta: float = 0.1, epsilon: float = 1e-6,
    n_neighbours: int = 7, max_iter: int = 10_000, check_every: int = 64,
    device: str | torch.device = "auto", dtype: str = "float64",
) -> DominantSets:
    """Speaker clustering by dominant sets (SCDS, Hibraj et al., ICPR 2018; digest §4.5): no k is
    needed.  Defaults are the paper's: cosine distance, local scaling over 7 neighbours,
    theta = 0.1, epsilon = 1e-6 ("SCDSbest" used theta 0.15 / 0.67 and epsilon 1e-6 / 1e-7);
    ``max_iter`` is ours.  ``X`` is ``(items, dims)``; returns :class:`DominantSets` (int labels
    in peeling order and whether the dynamics converged)."""
    A = affinity_matrix(X, metric, n_neighbours, device=device, dtype=dtype)
    return dominant_sets_from_affinity(A, theta=theta, epsilon=epsilon, max_iter=max_iter,
                                       check_every=check_every)

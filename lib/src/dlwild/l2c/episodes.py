"""Episodes: the sets L2C trains and is tested on (paper §3.4; digest §3.4).

A set holds n items from k classes, k uniform in 1..k_max, at least ``min_per_cluster``
items per cluster and the remaining slots spread over the k chosen classes at random
(multinomial, equal odds), its order shuffled. Training sets come from the training classes
only; validation and test sets from classes disjoint from them. Everything is drawn from a
seeded generator, so the same seed gives the same 300 test sets.

:func:`same_cluster_prior` is phi = E[y_ij] of this generator, exact, for the loss weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ClassPool", "Episode", "cluster_sizes", "draw_k", "same_cluster_prior",
           "shuffled_labels"]


def _check_n_k(n: int, k: int, min_per_cluster: int) -> None:
    if k < 1:
        raise ValueError(f"a set needs at least one cluster, got k={k}")
    if n < 2:
        raise ValueError(f"a set needs at least 2 items, got n={n}")
    if n < k * min_per_cluster:
        raise ValueError(f"n={n} items cannot hold k={k} clusters of at least "
                         f"{min_per_cluster} items each")


def draw_k(rng: np.random.Generator, k_max: int, n: int, min_per_cluster: int = 2) -> int:
    """A cluster count uniform in 1..k_max (k_max must fit n)."""
    _check_n_k(n, k_max, min_per_cluster)
    return int(rng.integers(1, k_max + 1))


def cluster_sizes(n: int, k: int, rng: np.random.Generator,
                  min_per_cluster: int = 2) -> np.ndarray:
    """Sizes of k clusters summing to n: ``min_per_cluster`` each, the rest multinomial."""
    _check_n_k(n, k, min_per_cluster)
    return min_per_cluster + rng.multinomial(n - k * min_per_cluster, np.full(k, 1.0 / k))


def shuffled_labels(sizes: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """Cluster labels 0..k-1 with the given sizes, in a random order."""
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return labels[rng.permutation(len(labels))]


def same_cluster_prior(n: int, k_max: int, min_per_cluster: int = 2) -> float:
    """phi = P(two items of a training set share a cluster), exact for this generator:
    the mean over k = 1..k_max of ``sum_c E[s_c (s_c - 1)] / (n (n - 1))`` with
    ``s_c = min_per_cluster + m_c``, ``m ~ Multinomial(n - k min, 1/k)``."""
    for k in range(1, k_max + 1):
        _check_n_k(n, k, min_per_cluster)
    total = 0.0
    for k in range(1, k_max + 1):
        r, p = n - k * min_per_cluster, 1.0 / k
        mean, var = r * p, r * p * (1 - p)
        a = min_per_cluster
        # E[(m + a)(m + a - 1)] = E[m^2] + (2a - 1) E[m] + a(a - 1)
        per_cluster = var + mean**2 + (2 * a - 1) * mean + a * (a - 1)
        total += k * per_cluster / (n * (n - 1))
    return total / k_max


@dataclass
class Episode:
    """One set: its item indices (into a class pool's items), their true cluster labels
    0..k-1 and k."""

    index: np.ndarray
    labels: np.ndarray
    k: int


class ClassPool:
    """Items grouped by class, from which sets are drawn: ``items_of[c]`` are the item indices
    of class ``c``. Pools of training, validation and test classes must be disjoint
    (:meth:`check_disjoint`)."""

    def __init__(self, labels: Sequence[int] | np.ndarray, classes: Sequence[int] | None = None):
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.size == 0:
            raise ValueError(f"a class pool needs a 1-D, non-empty label array, got {labels.shape}")
        chosen = sorted(set(labels.tolist()) if classes is None else classes)
        self.items_of: dict[int, np.ndarray] = {
            int(c): np.flatnonzero(labels == c) for c in chosen}
        empty = [c for c, idx in self.items_of.items() if idx.size == 0]
        if empty:
            raise ValueError(f"classes {empty} have no items")

    @property
    def classes(self) -> list[int]:
        """The pool's classes."""
        return list(self.items_of)

    def check_disjoint(self, *others: ClassPool) -> None:
        """Raise ValueError if any other pool shares a class with this one."""
        for other in others:
            shared = set(self.classes) & set(other.classes)
            if shared:
                raise ValueError(f"class pools must be disjoint; they share {sorted(shared)}")

    def episode(self, n: int, k_max: int, rng: np.random.Generator,
                min_per_cluster: int = 2, k: int | None = None) -> Episode:
        """One set of n items: k (uniform in 1..k_max unless given) distinct classes of the
        pool, sizes by :func:`cluster_sizes`, items drawn without replacement where a class
        has enough (with replacement otherwise), order shuffled."""
        if k_max > len(self.items_of):
            raise ValueError(f"k_max={k_max} needs at least {k_max} classes, the pool has "
                             f"{len(self.items_of)}")
        k = draw_k(rng, k_max, n, min_per_cluster) if k is None else k
        chosen = rng.choice(self.classes, size=k, replace=False)
        sizes = cluster_sizes(n, k, rng, min_per_cluster)
        index = np.concatenate([
            rng.choice(self.items_of[int(c)], size=s, replace=s > self.items_of[int(c)].size)
            for c, s in zip(chosen, sizes, strict=True)])
        labels = np.repeat(np.arange(k), sizes)
        order = rng.permutation(n)
        return Episode(index[order], labels[order], k)

    def episodes(self, count: int, n: int, k_max: int, seed: int | Sequence[int],
                 min_per_cluster: int = 2) -> list[Episode]:
        """``count`` sets drawn from a generator seeded by ``seed``: same seed, same sets."""
        rng = np.random.default_rng(seed)
        return [self.episode(n, k_max, rng, min_per_cluster) for _ in range(count)]


def split_classes(classes: Sequence[int], sizes: Sequence[int], seed: int) -> list[list[int]]:
    """Disjoint class lists of the given sizes (train, validation, test), drawn with ``seed``."""
    classes = sorted(classes)
    if sum(sizes) > len(classes):
        raise ValueError(f"a split of {tuple(sizes)} classes needs {sum(sizes)} classes, there "
                         f"are {len(classes)}")
    order = np.random.default_rng([seed, 77]).permutation(len(classes))
    out, start = [], 0
    for size in sizes:
        out.append(sorted(classes[i] for i in order[start:start + size]))
        start += size
    return out


def pools(labels: np.ndarray, split: Mapping[str, Sequence[int]]) -> dict[str, ClassPool]:
    """A :class:`ClassPool` per split name, checked disjoint."""
    out = {name: ClassPool(labels, classes) for name, classes in split.items()}
    names = list(out)
    for i, name in enumerate(names):
        out[name].check_disjoint(*(out[o] for o in names[i + 1:]))
    return out

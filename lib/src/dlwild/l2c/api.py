"""The chapter's public entry points.

>>> model = load_trained("points")                 # the chapter's trained network
>>> labels, k = cluster(model, X)                  # X: (n, 2) points of one set
>>> labels, ks, scores = cluster_sets(model, fresh_points(300))   # 300 sets it never saw

:func:`load_trained` returns the network the chapter trains for ``"points"``, ``"speech"``
or ``"images"`` from the artifact cache, training it first if it is not there (the same
artifact as the chapter's run with the same scale, seed and data). :func:`cluster` clusters
one new set in a forward pass: ``k = argmax P(k)`` and each item's ``argmax_l P(l | x_i, k)``.
:func:`fresh_points` draws 2-D sets that no network of the chapter saw, and
:func:`cluster_sets` clusters many sets through :func:`cluster` and scores them."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dlwild.l2c.data import PointsData, Sets
from dlwild.l2c.evaluation import Scores, score_sets
from dlwild.l2c.model import L2C
from dlwild.l2c.settings import DATASETS, SETTINGS

__all__ = ["FRESH_SEED", "check_set", "cluster", "cluster_sets", "fresh_points",
           "load_trained"]

#: The second word of :func:`fresh_points`' seed: no training, validation or test split of
#: the chapter draws its sets with it (theirs: the epoch, 2018, or 5).
FRESH_SEED = 2026


def load_trained(dataset: str, *, scale: str = "quick", seed: int = 0, data: str = "auto",
                 speech_corpus: str = "librispeech", image_set: str = "coil20",
                 points_n: int = 72, device: Any = "cpu", progress: bool = False) -> L2C:
    """The chapter's trained L2C network for ``dataset`` (points, speech or images) at
    ``scale``, loaded from the artifact cache or trained now. Its input is one item of
    ``model.input_shape``: ``(2,)`` for points, a ``(bands, frames)`` spectrogram window for
    speech, an ``(H, W)`` grey image for images (as :mod:`dlwild.l2c.data` makes them)."""
    from dlwild.l2c.pipeline import load_data, settings_for, train_all

    if dataset not in DATASETS:
        raise ValueError(f"unknown data set {dataset!r}: expected one of {', '.join(DATASETS)}")
    if scale not in SETTINGS:
        raise ValueError(f"unknown scale {scale!r}: expected one of {', '.join(SETTINGS)}")
    settings = settings_for(SETTINGS[scale], points_n)
    datas = load_data(data, settings, seed, speech_corpus, image_set, which=(dataset,))
    return train_all(datas, settings, seed=seed, device=device, progress=progress)[
        dataset].model


def check_set(model: L2C, x: Any) -> np.ndarray:
    """``x`` as a float32 array ``(n, *model.input_shape)`` with 2 <= n <= model.max_n and
    finite values; otherwise a ValueError naming what was expected."""
    want = "(n, " + ", ".join(str(s) for s in model.input_shape) + ")"
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a set must be a numeric array of shape {want}: {exc}") from exc
    if arr.size == 0:
        raise ValueError(f"the set is empty: expected an array of shape {want} with n >= 2")
    if arr.shape[1:] != model.input_shape:
        raise ValueError(f"a set for this model must have shape {want} (items of "
                         f"{model.input_shape}, what its embedding net takes), got {arr.shape}")
    n = arr.shape[0]
    if n < 2:
        raise ValueError(f"a set needs at least 2 items to cluster, got n={n}")
    if n > model.max_n:
        raise ValueError(f"the set holds n={n} items, more than this model supports "
                         f"(max_n={model.max_n}; the paper found n >= 1000 fails)")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=tuple(range(1, arr.ndim))).sum())
        raise ValueError(f"the set has NaN or infinite values in {bad} of its {n} items: "
                         "expected finite features")
    return arr


@torch.no_grad()
def cluster(model: L2C, x: Any) -> tuple[np.ndarray, int]:
    """Cluster one set ``x`` of shape ``(n, *model.input_shape)``: ``(labels, k)``, labels
    numbered 0, 1, ... in order of first appearance, k the count head's most likely number
    of clusters (a cluster no item chose leaves fewer distinct labels than k)."""
    from dlwild.l2c.evaluation import predict

    arr = check_set(model, x)
    labels, k, _ = predict(model, arr[None])
    _, first = np.unique(labels[0], return_index=True)
    order = {int(labels[0][i]): rank for rank, i in enumerate(sorted(first))}
    return np.array([order[int(v)] for v in labels[0]], dtype=np.int64), int(k[0])


def fresh_points(count: int, *, n: int = 72, k_max: int = 5, seed: int = 0) -> Sets:
    """``count`` sets of ``n`` 2-D points from the chapter's generator, drawn from a random
    stream that none of its training, validation or test sets comes from: sets no network of
    the chapter has seen. The same arguments give the same sets."""
    if count < 1 or k_max < 1 or n < 2 * k_max:
        raise ValueError(f"fresh_points needs count >= 1 and n >= 2 * k_max (two points per "
                         f"cluster), got count={count}, n={n}, k_max={k_max}")
    return PointsData().sets("test", count, n, k_max, seed=(seed, FRESH_SEED))


def cluster_sets(model: L2C, sets: Sets) -> tuple[list[np.ndarray], np.ndarray, Scores]:
    """Every set of ``sets`` through :func:`cluster`, one call per set as a user makes it:
    ``(labels per set, k per set, their MR / NMI / count scores against the truth)``."""
    out = [cluster(model, x) for x in sets.x]
    labels = [lab for lab, _ in out]
    ks = np.array([k for _, k in out], dtype=np.int64)
    return labels, ks, score_sets(sets.labels, labels, sets.k, ks)

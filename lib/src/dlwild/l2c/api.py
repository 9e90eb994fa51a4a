"""The chapter's public entry points.

>>> model = load_trained("points")                 # the chapter's trained network
>>> labels, k = cluster(model, X)                  # X: (n, 2) points of one set

:func:`load_trained` returns the network the chapter trains for ``"points"``, ``"speech"``
or ``"images"`` from the artifact cache, training it first if it is not there (the same
artifact as the chapter's run with the same scale, seed and data). :func:`cluster` clusters
one new set in a forward pass: ``k = argmax P(k)`` and each item's ``argmax_l P(l | x_i, k)``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dlwild.l2c.model import L2C
from dlwild.l2c.settings import DATASETS, SETTINGS

__all__ = ["check_set", "cluster", "load_trained"]


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

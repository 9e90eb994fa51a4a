"""Decoding the Deep Watershed Detector's output into detections (ISMIR 2018, digest 3.2).

The predicted energy map is cut at a level; every connected component of what stays above
it -- a watershed with a single flooding level -- is one detected symbol: centre = mean pixel,
class = majority vote of the class map, size = mean (or max) of the box map over the
component.  The network and its training are in :mod:`.dwd`.

Choices where the paper is silent:

* Two cuts as in the authors' code: level ``ceil(0.35 * E_max)`` (their 7 of 20) and level 1;
  a low-cut component is kept only where it touches no high-cut component; components with
  fewer than ``min_area`` (default 4) pixels are dropped (code: <= 8 px, with larger markers).
* Per-detection score (the paper has none; AP needs a ranking): mean over the component of
  P(energy level > 0) times the mean probability of the voted class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from skimage.measure import label as label_components
from torch import nn

from dlwild.deepscores.dwd import DWDOutput
from dlwild.deepscores.dwd_targets import image_to_input
from dlwild.deepscores.evaluate import Detection

__all__ = ["DecodeConfig", "decode", "decode_output", "predict"]


@dataclass(frozen=True)
class DecodeConfig:
    """How energy maps become detections.

    ``cuts``: (high, low) energy levels of the two-cut rule (a single cut: ``(level,)``); None =
    ``(ceil(0.35 * e_max), 1)``, the authors' code's 7 and 1 of 20 levels.  ``min_area``:
    components with fewer pixels are dropped.  ``box_reduce``: ``mean`` of the box map over a
    component (paper) or ``max`` (later code).  ``connectivity``: 1 (4-neighbours; splits
    diagonally touching markers) or 2.  Tiny components are removed from each cut before the
    overlap test, so a low-cut blob around a removed speck still counts.
    """

    cuts: tuple[int, ...] | None = None
    min_area: int = 4
    box_reduce: str = "mean"
    connectivity: int = 1

    def levels(self, e_max: int) -> tuple[int, ...]:
        """The cut levels for ``e_max`` energy levels, highest first."""
        cuts = self.cuts if self.cuts is not None else (math.ceil(0.35 * e_max), 1)
        if not 1 <= len(cuts) <= 2 or any(not 1 <= c < e_max for c in cuts):
            raise ValueError(f"cuts must be one or two levels in 1..{e_max - 1}, got {cuts!r}")
        return tuple(sorted(cuts, reverse=True))

    def __post_init__(self) -> None:
        if self.box_reduce not in ("mean", "max"):
            raise ValueError(f"box_reduce must be 'mean' or 'max', got {self.box_reduce!r}")
        if self.connectivity not in (1, 2):
            raise ValueError(f"connectivity must be 1 or 2, got {self.connectivity!r}")


def _components(levels: np.ndarray, cuts: tuple[int, ...], min_area: int,
                connectivity: int) -> tuple[np.ndarray, int]:
    """Label image of the detections' pixel sets (0 = none) and their number."""

    def cut(level: int) -> tuple[np.ndarray, int]:
        labels, n = label_components(levels >= level, return_num=True,
                                     connectivity=connectivity)
        if n and min_area > 1:
            small = np.bincount(labels.ravel(), minlength=n + 1) < min_area
            small[0] = False
            if small.any():
                labels, n = label_components(~small[labels] & (labels > 0), return_num=True,
                                             connectivity=connectivity)
        return labels, n

    labels, n = cut(cuts[0])
    if len(cuts) == 1:
        return labels, n
    low, n_low = cut(cuts[1])
    if n_low:
        touched = np.zeros(n_low + 1, dtype=bool)
        touched[np.unique(low[labels > 0])] = True
        touched[0] = True
        extra = ~touched[low]
        labels = labels.copy()
        if extra.any():
            relabel, n_extra = label_components(extra, return_num=True,
                                                connectivity=connectivity)
            labels[extra] = relabel[extra] + n
            n += n_extra
    return labels, n


def decode(
    levels: np.ndarray,
    class_map: np.ndarray,
    box_map: np.ndarray,
    classes: Sequence[str],
    e_max: int,
    config: DecodeConfig = DecodeConfig(),
    *,
    foreground_prob: np.ndarray | None = None,
    class_prob: np.ndarray | None = None,
    box_sizes: Mapping[str, tuple[float, float]] | None = None,
    scale: float = 1.0,
    offset: tuple[float, float] = (0.0, 0.0),
) -> list[Detection]:
    """Detections from one image's (predicted or target) maps.

    ``levels`` (H, W): energy level per pixel (argmax of the energy head); ``class_map`` (H, W):
    class id per pixel (1..n; 0 = background never wins a vote unless it is all there is, then
    the component is dropped); ``box_map`` (2, H, W): box (height, width) in output pixels.
    Components (see :class:`DecodeConfig`) give one detection each: centre = mean pixel centre,
    class = majority vote (ties: lower id), size = mean (or max) of the box map over the
    component, or ``box_sizes[class]`` when given (cached per-class sizes, WoRMS).
    Score = mean of ``foreground_prob`` (H, W: P(level > 0)) over the component times the mean
    of ``class_prob`` (n + 1, H, W probabilities) of the voted class; 1 where not given.
    Boxes are mapped back to page coordinates: ``(output + offset) / scale``.
    """
    labels, n = _components(levels, config.levels(e_max), config.min_area, config.connectivity)
    if n == 0:
        return []
    flat = labels.ravel()
    inside = flat > 0
    ids = flat[inside] - 1
    area = np.bincount(ids, minlength=n).astype(np.float64)
    rows, cols = np.indices(labels.shape)
    cy = np.bincount(ids, rows.ravel()[inside] + 0.5, minlength=n) / area
    cx = np.bincount(ids, cols.ravel()[inside] + 0.5, minlength=n) / area
    n_ids = len(classes) + 1
    pix_cls = class_map.ravel()[inside].astype(np.int64)
    if pix_cls.min(initial=0) < 0 or pix_cls.max(initial=0) >= n_ids:
        raise ValueError(f"class_map holds ids outside 0..{n_ids - 1}")
    votes = np.bincount(ids * n_ids + pix_cls, minlength=n * n_ids).reshape(n, n_ids)
    votes[:, 0] = 0
    voted = votes.argmax(axis=1)
    index = np.arange(1, n + 1)
    if config.box_reduce == "mean":
        sizes = np.stack([ndimage.mean(box_map[c], labels, index) for c in range(2)], axis=1)
    else:
        sizes = np.stack([ndimage.maximum(box_map[c], labels, index) for c in range(2)], axis=1)
    score = np.ones(n)
    if foreground_prob is not None:
        score *= np.bincount(ids, foreground_prob.ravel()[inside], minlength=n) / area
    if class_prob is not None:
        chosen = class_prob.reshape(class_prob.shape[0], -1)[voted[ids], np.flatnonzero(inside)]
        score *= np.bincount(ids, chosen, minlength=n) / area
    ox, oy = offset
    detections = []
    for k in range(n):
        if votes[k, voted[k]] == 0:
            continue  # only background votes: no class to report
        name = classes[voted[k] - 1]
        h, w = box_sizes[name] if box_sizes is not None and name in box_sizes else sizes[k]
        x0, y0 = (cx[k] - w / 2 + ox) / scale, (cy[k] - h / 2 + oy) / scale
        x1, y1 = (cx[k] + w / 2 + ox) / scale, (cy[k] + h / 2 + oy) / scale
        detections.append(Detection(name, (float(x0), float(y0), float(x1), float(y1)),
                                    float(score[k])))
    return detections


@dataclass(frozen=True)
class DecodeMaps:
    """What decoding reads of one image's net output, kept compactly: the energy levels of
    every pixel, and the class, foreground probability, class probabilities and box size only
    where the level is at least 1 -- the only pixels a component of any cut holds.  A whole
    full-scale page's output is 33 float maps (~270 MB) while most of a page is background,
    so the maps of many test pages can be kept for decoding again (another cut, cached
    sizes)."""

    levels: np.ndarray  # (H, W) energy level per pixel
    where: np.ndarray  # flat indices of the pixels with level >= 1
    class_map: np.ndarray  # (K,) class id per such pixel (1..n)
    foreground: np.ndarray  # (K,) P(level > 0)
    class_prob: np.ndarray  # (n + 1, K) class probabilities
    sizes: np.ndarray  # (2, K) box (height, width)
    e_max: int  # the energy head's number of levels

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays."""
        return sum(a.nbytes for a in (self.levels, self.where, self.class_map,
                                      self.foreground, self.class_prob, self.sizes))

    def dense(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(class_map, sizes, foreground, class_prob)`` as (H, W) maps, zero where the
        level is 0 (pixels :func:`decode` never reads)."""
        shape = self.levels.shape

        def spread(values: np.ndarray) -> np.ndarray:
            out = np.zeros((*values.shape[:-1], shape[0] * shape[1]), dtype=values.dtype)
            out[..., self.where] = values
            return out.reshape(*values.shape[:-1], *shape)

        return (spread(self.class_map), spread(self.sizes), spread(self.foreground),
                spread(self.class_prob))


def decode_maps(output: DWDOutput) -> list[DecodeMaps]:
    """The :class:`DecodeMaps` of every image of a batch of net outputs: levels = argmax of
    the energy logits, class = argmax over the non-background class logits, sizes = exp of
    the box head, probabilities by softmax."""
    with torch.no_grad():
        energy_prob = output.energy.float().softmax(dim=1)
        levels = energy_prob.argmax(dim=1).cpu().numpy()
        foreground = (1.0 - energy_prob[:, 0]).cpu().numpy()
        del energy_prob
        class_prob = output.cls.float().softmax(dim=1).cpu().numpy()
        sizes = output.box.float().exp().cpu().numpy()
    small = np.min_scalar_type(output.energy.shape[1])
    maps = []
    for b in range(levels.shape[0]):
        where = np.flatnonzero(levels[b] >= 1).astype(np.min_scalar_type(levels[b].size))
        probs = class_prob[b].reshape(class_prob.shape[1], -1)[:, where]
        ids = (probs[1:].argmax(axis=0) + 1).astype(np.min_scalar_type(probs.shape[0]))
        maps.append(DecodeMaps(
            levels[b].astype(small), where, ids,
            foreground[b].ravel()[where], probs, sizes[b].reshape(2, -1)[:, where],
            output.energy.shape[1]))
    return maps


def decode_compact(
    maps: DecodeMaps,
    classes: Sequence[str],
    config: DecodeConfig = DecodeConfig(),
    **kwargs: Any,
) -> list[Detection]:
    """Detections of one image from its :class:`DecodeMaps` (see :func:`decode`; ``kwargs``:
    ``box_sizes``, ``scale``, ``offset``), the same as from the output it was made of."""
    if maps.class_prob.shape[0] != len(classes) + 1:
        raise ValueError(f"the class head has {maps.class_prob.shape[0]} channels, expected "
                         f"{len(classes) + 1} ({len(classes)} classes + background)")
    class_map, sizes, foreground, class_prob = maps.dense()
    return decode(maps.levels, class_map, sizes, classes, maps.e_max, config,
                  foreground_prob=foreground, class_prob=class_prob, **kwargs)


def decode_output(
    output: DWDOutput,
    classes: Sequence[str],
    config: DecodeConfig = DecodeConfig(),
    *,
    box_sizes: Mapping[str, tuple[float, float]] | None = None,
    scale: float = 1.0,
    offset: tuple[float, float] = (0.0, 0.0),
) -> list[list[Detection]]:
    """Detections of every image of a batch of net outputs (see :func:`decode` and
    :func:`decode_maps`); the score from the softmax probabilities."""
    return [decode_compact(m, classes, config, box_sizes=box_sizes, scale=scale,
                           offset=offset) for m in decode_maps(output)]


def predict(
    model: nn.Module,
    image: np.ndarray | torch.Tensor,
    classes: Sequence[str],
    config: DecodeConfig = DecodeConfig(),
    **kwargs: Any,
) -> list[Detection]:
    """Detections on one whole image (grey array as in :func:`image_to_input`, or a prepared
    (1, H, W) tensor) in eval mode without gradients; ``kwargs`` go to :func:`decode_output`."""
    x = image if isinstance(image, torch.Tensor) else image_to_input(image)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = model(x[None].to(device))
    finally:
        model.train(was_training)
    return decode_output(output, classes, config, **kwargs)[0]

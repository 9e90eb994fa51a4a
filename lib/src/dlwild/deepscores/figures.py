"""Pictures of the DeepScores chapter: pages with their boxes, DWD target maps, detections
against the ground truth."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Polygon, Rectangle

from dlwild.deepscores.annotations import Box, Symbol
from dlwild.deepscores.evaluate import Detection

Region = tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels


def class_colors(classes: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """A distinct colour per class (tab20, cycling)."""
    cmap = plt.get_cmap("tab20")
    return {name: cmap(i % 20) for i, name in enumerate(classes)}


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(truth: Sequence[Symbol], detections: Sequence[Detection],
          threshold: float = 0.5) -> tuple[list[bool], list[bool]]:
    """Greedy matching as in AP: detections by falling score, each to the unmatched ground
    truth object of its class with the highest IoU >= ``threshold``. Returns (detection is a
    true positive, ground truth object was found), both in input order."""
    found = [False] * len(truth)
    hit = [False] * len(detections)
    for k in sorted(range(len(detections)), key=lambda i: -detections[i].score):
        det = detections[k]
        best, best_iou = -1, threshold
        for j, obj in enumerate(truth):
            if found[j] or obj.cls != det.cls:
                continue
            value = iou(det.bbox, obj.bbox)
            if value >= best_iou:
                best, best_iou = j, value
        if best >= 0:
            found[best] = hit[k] = True
    return hit, found


def _inside(box: Box, region: Region | None) -> bool:
    if region is None:
        return True
    x0, y0, x1, y1 = region
    return box[2] > x0 and box[0] < x1 and box[3] > y0 and box[1] < y1


def _frame(ax: Axes, image: np.ndarray, region: Region | None) -> None:
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    if region is not None:
        ax.set_xlim(region[0], region[2])
        ax.set_ylim(region[3], region[1])
    ax.set_xticks([])
    ax.set_yticks([])


def show_page(ax: Axes, image: np.ndarray, symbols: Sequence[Symbol],
              colors: dict[str, tuple[float, ...]], *, region: Region | None = None,
              oriented: bool = False, lw: float = 0.8) -> None:
    """The page image with every symbol's box (oriented boxes with ``oriented``), coloured by
    class (classes without a colour in grey), zoomed to ``region``."""
    _frame(ax, image, region)
    for s in symbols:
        if not _inside(s.bbox, region):
            continue
        color = colors.get(s.cls, (0.6, 0.6, 0.6, 1.0))
        if oriented and s.obbox is not None:
            ax.add_patch(Polygon(np.asarray(s.obbox).reshape(4, 2), closed=True, fill=False,
                                 ec=color, lw=lw))
        else:
            x0, y0, x1, y1 = s.bbox
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=color, lw=lw))


def show_detections(ax: Axes, image: np.ndarray, truth: Sequence[Symbol],
                    detections: Sequence[Detection], *, region: Region | None = None,
                    threshold: float = 0.5) -> dict[str, int]:
    """Detections over the ground truth: true positives green, false positives red, missed
    objects as dashed orange boxes (matched at IoU ``threshold``; objects of classes the
    detector does not know are not drawn). Returns the counts over the whole page."""
    hit, found = match(truth, detections, threshold)
    _frame(ax, image, region)
    for obj, ok in zip(truth, found, strict=True):
        if not ok and _inside(obj.bbox, region):
            x0, y0, x1, y1 = obj.bbox
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="#E69F00",
                                   lw=1.0, ls="--"))
    for det, ok in zip(detections, hit, strict=True):
        if _inside(det.bbox, region):
            x0, y0, x1, y1 = det.bbox
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False,
                                   ec="#009E73" if ok else "#D55E00", lw=1.0))
    return {"true positives": sum(hit), "false positives": len(hit) - sum(hit),
            "missed": len(found) - sum(found)}

"""COCO-style average precision per class, as DWD (AP at IoU 0.5 and 0.25) and DeepScoresV2
(AP at 0.5 and COCO mAP over IoU 0.50:0.05:0.95) report it, computed with pycocotools.

Ground truth is a list of :class:`~dlwild.deepscores.annotations.Page`; detections are
:class:`Detection` (class, box, score) per page id.  Axis-aligned boxes only (as both
baselines of DeepScoresV2 were evaluated).  AP is COCO's: detections of a class ranked by score
over all pages, greedy matching at each IoU threshold, precision interpolated at 101 recall
points (``COCOeval.eval['precision']``).  Up to ``max_dets`` detections per page and class are
kept (COCO's default of 100 per image is far too few for ~600 symbols a page).

A class without ground truth has no AP (NaN): its detections are all false positives but there
is nothing to recall.  :func:`aggregate` turns per-class APs into DeepScoresV2 Table IV's
"mean" (plain mean over the class rows, a class with no occurrence counting as AP 0) and
"weighted mean" (weighted by the number of occurrences).

:func:`confusions` says where the symbols of a class went: to a detection of which class (at
IoU 0.5), or missed -- what AP alone cannot tell (a class with AP 0 may be found every time
under another name).
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .annotations import Box, Page

__all__ = [
    "COCO_IOUS",
    "APTable",
    "Detection",
    "aggregate",
    "average_precision",
    "confusions",
    "describe_confusions",
    "iou",
]

COCO_IOUS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
_IOUS = (0.25, *COCO_IOUS)  # every threshold is evaluated in one COCOeval run


@dataclass(frozen=True)
class Detection:
    """One detected symbol: class name, box (x0, y0, x1, y1) in page pixels, and a confidence
    score that ranks it for AP (higher = more confident)."""

    cls: str
    bbox: Box
    score: float


@dataclass
class APTable:
    """Per-class results: ``ap50``, ``ap25`` and ``map`` (mean AP over IoU 0.50:0.05:0.95) by
    class (NaN for a class without ground truth) and ``counts`` (ground-truth occurrences)."""

    classes: list[str]
    counts: dict[str, int]
    ap50: dict[str, float]
    ap25: dict[str, float]
    map: dict[str, float]

    def rows(self) -> list[dict[str, object]]:
        """One dict per class: class, count, ap50, ap25, map (in ``classes`` order)."""
        return [
            {"class": c, "count": self.counts[c], "ap50": self.ap50[c], "ap25": self.ap25[c],
             "map": self.map[c]}
            for c in self.classes
        ]

    def summary(self, absent: str = "zero") -> dict[str, dict[str, float]]:
        """``{metric: {"mean": .., "weighted_mean": ..}}`` for ap50, ap25 and map, via
        :func:`aggregate`."""
        return {name: aggregate(getattr(self, name), self.counts, absent=absent)
                for name in ("ap50", "ap25", "map")}

    def to_frame(self):
        """The rows as a ``pandas.DataFrame`` indexed by class."""
        import pandas as pd

        return pd.DataFrame(self.rows()).set_index("class")


def aggregate(
    per_class_ap: Mapping[str, float], counts: Mapping[str, int], absent: str = "zero"
) -> dict[str, float]:
    """Mean and occurrence-weighted mean of per-class APs (DeepScoresV2 Table IV).

    ``counts`` gives each class's number of ground-truth occurrences (missing = 0).  A class
    with 0 occurrences has no defined AP (NaN or any value); with ``absent="zero"`` (V2's
    logic) it counts as AP 0 in the plain mean, with ``absent="skip"`` it is left out.  It has
    weight 0 in the weighted mean either way.  A NaN AP for a class that does occur is an error.
    """
    if absent not in ("zero", "skip"):
        raise ValueError(f"absent must be 'zero' or 'skip', got {absent!r}")
    values, weights = [], []
    for name, ap in per_class_ap.items():
        n = int(counts.get(name, 0))
        if n < 0:
            raise ValueError(f"class {name!r} has a negative count {n}")
        if n == 0:
            if absent == "zero":
                values.append(0.0)
                weights.append(0)
            continue
        if ap is None or math.isnan(ap):
            raise ValueError(f"class {name!r} occurs {n} times but has no AP")
        values.append(float(ap))
        weights.append(n)
    mean = float(np.mean(values)) if values else float("nan")
    total = sum(weights)
    weighted = float(np.dot(values, weights) / total) if total else float("nan")
    return {"mean": mean, "weighted_mean": weighted}


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def confusions(ground_truth: Sequence[Page], detections: Mapping[str, Sequence[Detection]],
               classes: Sequence[str], *, threshold: float = 0.5):
    """Counts of true class (rows) against the class of the best-overlapping detection of any
    class on the same page (columns; ``"missed"`` when no detection reaches IoU
    ``threshold``), for the ground-truth symbols of ``classes``.  Not one-to-one: a detection
    may explain several symbols.  A ``pandas.DataFrame`` of ints."""
    import pandas as pd

    classes = list(classes)
    counts = pd.DataFrame(0, index=pd.Index(classes, name="true class"),
                          columns=pd.Index([*classes, "missed"], name="detected as"))
    for page in ground_truth:
        found = detections.get(page.id, ())
        for symbol in page.symbols:
            if symbol.cls not in counts.index:
                continue
            best = max(found, key=lambda d: iou(d.bbox, symbol.bbox), default=None)
            name = (best.cls if best is not None and iou(best.bbox, symbol.bbox) >= threshold
                    else "missed")
            if name not in counts.columns:
                counts[name] = 0
            counts.loc[symbol.cls, name] += 1
    return counts


def describe_confusions(counts, name: str) -> str:
    """One class's row of :func:`confusions` in words, largest share first, e.g.
    ``"keySharp (136 test symbols: 120 found as accidentalSharp, 16 missed)"``."""
    row = counts.loc[name]
    parts = [f"{n} {'missed' if dest == 'missed' else 'found as ' + dest}"
             for dest, n in row[row > 0].sort_values(ascending=False, kind="stable").items()]
    return f"{name} ({row.sum()} test symbols: {', '.join(parts)})"


def _xywh(box: Box) -> list[float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return [x0, y0, x1 - x0, y1 - y0]


def average_precision(
    ground_truth: Sequence[Page],
    detections: Mapping[str, Sequence[Detection]],
    classes: Sequence[str] | None = None,
    *,
    max_dets: int = 10_000,
) -> APTable:
    """Per-class AP at IoU 0.5 and 0.25 and COCO mAP@[.5:.95] of ``detections`` (by page id).

    ``classes``: the classes to evaluate, in report order; None = every class of the ground
    truth or the detections, most frequent in the ground truth first.  Ground truth and
    detections of other classes are ignored.  Pages without detections are fine; a detection
    for a page id not in ``ground_truth`` is an error.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    image_ids = {page.id: i for i, page in enumerate(ground_truth, start=1)}
    if len(image_ids) != len(ground_truth):
        raise ValueError("page ids in the ground truth must be unique")
    unknown = sorted(set(detections) - set(image_ids))
    if unknown:
        raise ValueError(f"detections for pages not in the ground truth: {unknown[:5]}")
    counts_all: dict[str, int] = {}
    for page in ground_truth:
        for s in page.symbols:
            counts_all[s.cls] = counts_all.get(s.cls, 0) + 1
    if classes is None:
        det_classes = {d.cls for dets in detections.values() for d in dets}
        classes = sorted(set(counts_all) | det_classes, key=lambda c: (-counts_all.get(c, 0), c))
    classes = list(classes)
    cat_ids = {name: i for i, name in enumerate(classes, start=1)}
    counts = {c: counts_all.get(c, 0) for c in classes}
    nan = {c: float("nan") for c in classes}
    if not classes:
        return APTable([], {}, {}, {}, {})

    annotations = []
    for page in ground_truth:
        for s in page.symbols:
            if s.cls in cat_ids:
                xywh = _xywh(s.bbox)
                annotations.append({
                    "id": len(annotations) + 1,  # ids from 1: COCOeval treats id 0 as "no match"
                    "image_id": image_ids[page.id], "category_id": cat_ids[s.cls],
                    "bbox": xywh, "area": xywh[2] * xywh[3], "iscrowd": 0})
    results = [
        {"image_id": image_ids[page_id], "category_id": cat_ids[d.cls], "bbox": _xywh(d.bbox),
         "score": float(d.score)}
        for page_id, dets in detections.items() for d in dets if d.cls in cat_ids
    ]
    if not results:  # COCO.loadRes refuses an empty list: every occurring class has AP 0
        zero = {c: 0.0 if counts[c] else float("nan") for c in classes}
        return APTable(classes, counts, dict(zero), dict(zero), dict(zero))

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        gt = COCO()
        gt.dataset = {
            "images": [{"id": i, "width": p.width, "height": p.height}
                       for p, i in zip(ground_truth, image_ids.values(), strict=True)],
            "categories": [{"id": i, "name": c} for c, i in cat_ids.items()],
            "annotations": annotations,
        }
        gt.createIndex()
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iouType="bbox")
        ev.params.imgIds = list(image_ids.values())
        ev.params.catIds = list(cat_ids.values())
        ev.params.iouThrs = np.array(_IOUS)
        ev.params.maxDets = [max_dets]
        ev.params.areaRng = [[0.0, 1e12]]
        ev.params.areaRngLbl = ["all"]
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"][:, :, :, 0, 0]  # [iou, recall, class]

    def ap(t: slice | int, k: int) -> float:
        p = precision[t, :, k]
        return float("nan") if (p < 0).any() else float(p.mean())

    ap25, ap50, coco = dict(nan), dict(nan), dict(nan)
    for k, c in enumerate(classes):
        ap25[c] = ap(0, k)
        ap50[c] = ap(1, k)
        coco[c] = ap(slice(1, None), k)
    return APTable(classes, counts, ap50, ap25, coco)

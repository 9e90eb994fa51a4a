"""Known-answer tests of the COCO-style AP and of DeepScoresV2's mean / weighted mean."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlwild.deepscores import evaluate
from dlwild.deepscores.annotations import Page, Symbol
from dlwild.deepscores.evaluate import Detection, aggregate, average_precision


def page(pid: str, boxes: list[tuple[str, tuple[float, float, float, float]]]) -> Page:
    return Page(pid, 200, 200, [Symbol(c, b, i) for i, (c, b) in enumerate(boxes, start=1)])


def test_perfect_detections_have_ap_one():
    gt = [
        page("a", [("note", (10, 10, 20, 22)), ("note", (40, 10, 50, 22)),
                   ("clef", (100, 50, 130, 120))]),
        page("b", [("note", (5, 5, 15, 17)), ("sharp", (60, 60, 68, 80))]),
    ]
    dets = {p.id: [Detection(s.cls, s.bbox, 0.9) for s in p.symbols] for p in gt}
    table = average_precision(gt, dets)
    assert table.classes == ["note", "clef", "sharp"]  # most frequent first
    assert table.counts == {"note": 3, "clef": 1, "sharp": 1}
    for c in table.classes:
        assert table.ap50[c] == pytest.approx(1.0)
        assert table.ap25[c] == pytest.approx(1.0)
        assert table.map[c] == pytest.approx(1.0)
    assert table.summary()["map"] == {"mean": pytest.approx(1.0),
                                      "weighted_mean": pytest.approx(1.0)}


def test_shifted_box_counts_at_025_but_not_at_05():
    gt = [page("a", [("note", (0, 0, 10, 10))])]
    # shifted by half its width: intersection 50, union 150 -> IoU 1/3
    table = average_precision(gt, {"a": [Detection("note", (5, 0, 15, 10), 1.0)]})
    assert table.ap25["note"] == pytest.approx(1.0)
    assert table.ap50["note"] == 0.0
    assert table.map["note"] == 0.0


def test_false_positive_ranked_above_a_true_positive():
    # 2 objects; ranked detections: TP (0.9), FP (0.8), TP (0.7)
    gt = [page("a", [("note", (0, 0, 10, 10)), ("note", (50, 50, 60, 60))])]
    dets = {"a": [Detection("note", (0, 0, 10, 10), 0.9),
                  Detection("note", (100, 100, 110, 110), 0.8),
                  Detection("note", (50, 50, 60, 60), 0.7)]}
    table = average_precision(gt, dets)
    # recall 0.5, 0.5, 1.0; precision 1, 1/2, 2/3; interpolated (max to the right): 1, 2/3, 2/3.
    # COCO samples recall 0, 0.01, ..., 1: 51 points (r <= 0.5) get 1, 50 points get 2/3.
    expected = (51 * 1.0 + 50 * 2 / 3) / 101
    assert table.ap50["note"] == pytest.approx(expected, abs=1e-12)
    assert table.map["note"] == pytest.approx(expected, abs=1e-12)  # exact boxes: every IoU


def test_absent_classes_and_missing_detections():
    gt = [page("a", [("note", (0, 0, 10, 10))]), page("b", [("clef", (0, 0, 30, 60))])]
    dets = {"a": [Detection("note", (0, 0, 10, 10), 0.5),
                  Detection("dot", (40, 40, 44, 44), 0.9)]}  # "dot" is not in the ground truth
    table = average_precision(gt, dets, classes=["note", "clef", "dot", "rest"])
    assert table.counts == {"note": 1, "clef": 1, "dot": 0, "rest": 0}
    assert table.ap50["note"] == pytest.approx(1.0)
    assert table.ap50["clef"] == 0.0  # occurs, never detected
    assert math.isnan(table.ap50["dot"]) and math.isnan(table.ap50["rest"])
    # V2's plain mean counts the zero-occurrence rows as 0: (1 + 0 + 0 + 0) / 4
    assert table.summary()["ap50"] == {"mean": pytest.approx(0.25),
                                       "weighted_mean": pytest.approx(0.5)}
    assert table.summary(absent="skip")["ap50"]["mean"] == pytest.approx(0.5)
    # no detections at all
    empty = average_precision(gt, {})
    assert empty.ap50 == {"note": 0.0, "clef": 0.0}
    with pytest.raises(ValueError, match="not in the ground truth"):
        average_precision(gt, {"zzz": []})


def test_detections_are_matched_per_page_and_class():
    gt = [page("a", [("note", (0, 0, 10, 10))]), page("b", [("rest", (0, 0, 10, 10))])]
    # right box, wrong page / wrong class
    dets = {"b": [Detection("note", (0, 0, 10, 10), 0.9)],
            "a": [Detection("rest", (0, 0, 10, 10), 0.9)]}
    table = average_precision(gt, dets)
    assert table.ap25 == {"note": 0.0, "rest": 0.0}


def test_aggregate_reproduces_the_v2_table_logic():
    # a small hand table in the style of DeepScoresV2 Table IV: AP per class, No. Occ
    ap = {"noteheadBlack": 0.880, "keySharp": 0.942, "restWhole": 0.698, "unused": float("nan")}
    occ = {"noteheadBlack": 300, "keySharp": 30, "restWhole": 1, "unused": 0}
    result = aggregate(ap, occ)
    # "mean": over all 4 rows, the zero-occurrence row as 0
    assert result["mean"] == pytest.approx((0.880 + 0.942 + 0.698 + 0.0) / 4)
    # "weighted mean": by occurrences (the empty row has weight 0)
    assert result["weighted_mean"] == pytest.approx(
        (0.880 * 300 + 0.942 * 30 + 0.698 * 1) / 331)
    assert aggregate(ap, occ, absent="skip")["mean"] == pytest.approx(
        (0.880 + 0.942 + 0.698) / 3)
    # a zero-occurrence class printed with AP 0 (as in V2) gives the same numbers as NaN
    assert aggregate({**ap, "unused": 0.0}, occ) == result
    with pytest.raises(ValueError, match="has no AP"):
        aggregate({"a": float("nan")}, {"a": 3})


def test_many_detections_per_page_are_all_kept():
    # more than COCO's default of 100 detections per image
    boxes = [("note", (float(x), float(y), x + 8.0, y + 8.0))
             for x in range(0, 200, 12) for y in range(0, 200, 12)]
    gt = [page("a", boxes)]
    rng = np.random.default_rng(0)
    dets = {"a": [Detection(c, b, float(s)) for (c, b), s in zip(boxes, rng.random(len(boxes)),
                                                                    strict=True)]}
    assert len(boxes) > 100
    assert average_precision(gt, dets).ap50["note"] == pytest.approx(1.0)


def test_iou_of_half_overlapping_boxes():
    assert evaluate.iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)
    assert evaluate.iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0


def test_confusions_say_where_each_symbol_went():
    page = Page("p", 100, 100, [Symbol("keySharp", (0, 0, 10, 10), 1),
                                Symbol("keySharp", (20, 0, 30, 10), 2),
                                Symbol("accidentalSharp", (40, 0, 50, 10), 3),
                                Symbol("keySharp", (60, 0, 70, 10), 4),
                                Symbol("gClef", (80, 0, 90, 10), 5)])
    dets = {"p": [Detection("accidentalSharp", (0, 0, 10, 10), 0.9),  # found, wrong name
                  Detection("keySharp", (25, 0, 35, 10), 0.8),  # IoU 1/3: missed at 0.5
                  Detection("accidentalSharp", (40, 0, 50, 10), 0.7),
                  Detection("keySharp", (61, 0, 71, 10), 0.6)]}
    counts = evaluate.confusions([page], dets, ["keySharp", "accidentalSharp"])
    assert counts.loc["keySharp"].to_dict() == {"keySharp": 1, "accidentalSharp": 1,
                                                "missed": 1}
    assert counts.loc["accidentalSharp"].to_dict() == {"keySharp": 0, "accidentalSharp": 1,
                                                       "missed": 0}
    assert counts.to_numpy().sum() == 4  # the gClef is not among the classes asked for
    assert evaluate.describe_confusions(counts, "keySharp") == (
        "keySharp (3 test symbols: 1 found as keySharp, 1 found as accidentalSharp, 1 missed)")
    lenient = evaluate.confusions([page], dets, ["keySharp"], threshold=0.25)
    assert lenient.loc["keySharp", "keySharp"] == 2


def test_confusions_of_a_page_without_detections_are_all_missed():
    page = Page("p", 50, 50, [Symbol("a", (0, 0, 10, 10), 1)])
    counts = evaluate.confusions([page], {}, ["a"])
    assert counts.loc["a", "missed"] == 1 and counts.loc["a", "a"] == 0

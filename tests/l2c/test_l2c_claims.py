"""Claims: every claim measured, speech and images not comparable with a reason, the
relative claims decided from the summary's numbers."""

from __future__ import annotations

import copy

from dlwild.core.claims import compare
from dlwild.l2c.claims import CLAIMS, measured


def _row(mr, nmi):
    return {"l2c": {"mr": mr, "nmi": nmi}, "random": {"mr": 0.48, "nmi": 0.23},
            "count_acc_by_k": {str(k): 1.0 - 0.1 * k for k in range(1, 6)},
            "baselines": {"k-means (true k)": {"mr": 0.17}, "DBSCAN": {"mr": 0.26}}}


SUMMARY = {"points": _row(0.01, 0.98), "speech": _row(0.2, 0.7), "images": _row(0.3, 0.6),
           "class_sweep": {"5": {"mr": 0.4}, "10": {"mr": 0.3}},
           "large_n": {"72": {"mr": 0.01}, "300": {"mr": 0.2}}}


def _verdicts(summary, **kw):
    ours = measured(summary, scale="quick", speech_train=40, image_kind="COIL-20",
                    image_classes=10, **kw)
    return {r["id"]: r for r in compare(CLAIMS, ours)}


def test_every_claim_gets_a_verdict_and_substitute_data_is_not_comparable():
    rows = _verdicts(SUMMARY)
    assert set(rows) == {c.id for c in CLAIMS}
    for key in ("speech_mr", "speech_nmi", "images_mr", "images_nmi"):
        assert rows[key]["verdict"] == "not comparable"
    assert "TIMIT" in rows["speech_mr"]["note"] and "COIL-100" in rows["images_mr"]["note"]
    assert rows["points_mr"]["verdict"] == "holds"
    for key in ("below_random", "beats_kmeans", "beats_dbscan", "count_falls_with_k",
                "more_classes_help", "large_n_degrades"):
        assert rows[key]["verdict"] == "holds", key
    assert rows["metric_no_help"]["verdict"] == "not comparable"


def test_relative_claims_can_fail():
    worse = copy.deepcopy(SUMMARY)
    worse["points"]["l2c"]["mr"] = 0.5
    worse["class_sweep"] = {"5": {"mr": 0.2}, "10": {"mr": 0.3}}
    rows = _verdicts(worse, ablation={"full": 0.1})
    for key in ("below_random", "beats_kmeans", "beats_dbscan", "more_classes_help",
                "metric_no_help", "points_mr"):
        assert rows[key]["verdict"] == "differs", key


def test_the_metric_blocks_are_weighed_against_plain_l2c_trained_alike():
    """With the ablation's own plain network, the claim compares like with like: a block
    that beats it makes the claim differ even where the chapter's (longer-trained) network
    is better still, and the other way round."""
    rows = _verdicts(SUMMARY, ablation={"plain": 0.30, "euclidean": 0.28, "full": 0.35})
    assert rows["metric_no_help"]["verdict"] == "differs"
    rows = _verdicts(SUMMARY, ablation={"plain": 0.25, "euclidean": 0.28, "full": 0.35})
    assert rows["metric_no_help"]["verdict"] == "holds"

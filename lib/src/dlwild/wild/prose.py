"""The numbers the page's prose states, glued from the studies (never typed in), and the
claims' measured side built from them."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlwild.core.report import glue_value
from dlwild.wild import imbalance, monitoring
from dlwild.wild.pipeline import RARE_PRECISION, compression_bits

TANH_COMPRESSION_BITS = 0.2  # the least fall of I(X;T) called compression


def relations(imb, mon, planes: dict[str, list], curve_study, shaping) -> dict[str, Any]:
    """Each tested relation's value (bool) by claim id, and the reason where one cannot be
    measured (``<id>_why``) or comes from another scale (``<id>_scale``)."""
    from dlwild.wild import curves

    ratio = max(imb.counts)
    gains = imbalance.weighting_helps_little(imb.scores, ratio)
    tanh, relu = compression_bits(planes["tanh"]), compression_bits(planes["relu"])
    r = curve_study.readings
    out: dict[str, Any] = {
        "rel_weighting_helps_little": gains["weighted_gain"] < gains["data_gain"],
        "rel_deep_ties_pca": monitoring.deep_ties_pca(mon.detections),
        "rel_tanh_compresses": bool(tanh.max() >= TANH_COMPRESSION_BITS),
        "rel_relu_compresses_less": bool(relu.max() < tanh.max()),
        "rel_augmentation_removes_overfitting": curves.augmentation_removes_overfitting(
            r["CNN"], r["CNN + augmentation"]),
    }
    if shaping is None:
        out["rel_staged_schedule_helps"] = None
        out["rel_staged_schedule_helps_why"] = ("the DeepScores chapter has not been run here "
                                                "(no results/deepscores.json)")
    else:
        out["rel_staged_schedule_helps"] = bool(
            shaping["paper"]["mean AP@0.5"] >= shaping["joint"]["mean AP@0.5"])
        out["rel_staged_schedule_helps_scale"] = shaping["scale"]
    return out


def glue_imbalance(imb) -> None:
    ratio, low = max(imb.counts), min(imb.counts)
    s = imb.scores
    glue_value("wild_ratio_max", ratio, "d")
    glue_value("wild_ratio_min", low, "d")
    glue_value("wild_head", int(imb.counts[ratio][0]), "d")
    glue_value("wild_tail_max", int(imb.counts[ratio][-1]), "d")
    glue_value("wild_tail_min", int(imb.counts[low][-1]), "d")
    glue_value("wild_rare_precision", RARE_PRECISION, ".1f")
    for (r, m), sc in s.items():
        glue_value(f"wild_bacc_{m}_{r}", sc.balanced_accuracy, ".3f")
        glue_value(f"wild_f1_{m}_{r}", sc.macro_f1, ".3f")
        glue_value(f"wild_rare_{m}_{r}", sc.rare_recall_at_precision, ".3f")
    gains = imbalance.weighting_helps_little(s, ratio)
    glue_value("wild_weighted_gain", gains["weighted_gain"], ".3f")
    glue_value("wild_data_gain", gains["data_gain"], ".3f")


def glue_monitoring(mon, normal_rate: int) -> None:
    counts = mon.windows.counts()
    for k, v in counts.items():
        glue_value("wild_win_" + k.replace(" ", "_"), v, "d")
    glue_value("wild_normal_rate", normal_rate / 1000, "g")
    d = mon.detections
    glue_value("wild_auc_pca", d["pca"].mean_auc, ".4f")
    glue_value("wild_auc_min", min(x.mean_auc for x in d.values()), ".4f")
    glue_value("wild_auc_deep_best", max(d[m].mean_auc for m in monitoring.DEEP), ".4f")
    glue_value("wild_zero_miss_precision_min",
               np.nanmin([x.zero_miss_precision for x in d.values()]), ".3f")
    glue_value("wild_zero_miss_recall_min", min(x.zero_miss_recall for x in d.values()), ".3f")


def glue_planes(planes: dict[str, list]) -> None:
    for activation, histories in planes.items():
        bits = compression_bits(histories)
        glue_value(f"wild_compress_{activation}", float(bits.max()), ".2f")
        glue_value(f"wild_compress_layer_{activation}", int(bits.argmax()) + 1, "d")
        glue_value(f"wild_ip_acc_{activation}",
                   float(np.mean([h.epochs[-1]["val_accuracy"] for h in histories])), ".3f")
    glue_value("wild_ip_seeds", len(planes["tanh"]), "d")
    glue_value("wild_ip_epochs", int(planes["tanh"][0].epochs[-1]["epoch"]), "d")
    glue_value("wild_compress_threshold", TANH_COMPRESSION_BITS, ".1f")


def glue_curves(study) -> None:
    for name, key in (("CNN", "plain"), ("CNN + augmentation", "aug"),
                      ("2-unit bottleneck", "bottleneck")):
        r = study.readings[name]
        glue_value(f"wild_curve_best_{key}", r.best_epoch, "d")
        glue_value(f"wild_curve_rise_{key}", r.rise, ".3f")
        glue_value(f"wild_curve_val_{key}", r.final_val_loss, ".3f")
        glue_value(f"wild_curve_train_{key}", r.final_train_loss, ".3f")
        glue_value(f"wild_curve_acc_{key}", r.final_val_accuracy, ".3f")
    wrong = int((study.proba.argmax(1) != study.y_val).sum())
    glue_value("wild_n_wrong", wrong, "d")
    glue_value("wild_n_val", len(study.y_val), "d")


def shaping_text(shaping) -> str:
    """The loss-shaping lesson's numbers from the DeepScores chapter's results, or what to
    run when there are none yet (this chapter reads them, it does not train a detector)."""
    if shaping is None:
        return ("No results of the DeepScores chapter were found, so this lesson has "
                "no numbers in this run: run `dlwild run deepscores` (or `make book`, which "
                "runs it first), then this chapter again.")
    joint, paper = shaping["joint"], shaping["paper"]
    return (f"In the DeepScores chapter's {shaping['scale']} run, the joint schedule reaches "
            f"a mean AP@0.5 of **{joint['mean AP@0.5']:.3f}**, the staged one "
            f"**{paper['mean AP@0.5']:.3f}** (black noteheads: "
            f"**{joint['noteheadBlack AP@0.5']:.3f}** vs "
            f"**{paper['noteheadBlack AP@0.5']:.3f}**).")

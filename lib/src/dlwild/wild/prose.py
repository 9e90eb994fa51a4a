"""The numbers the page's prose states, glued from the studies (never typed in), and the
claims' measured side built from them."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlwild.core.report import glue_value
from dlwild.wild import imbalance, monitoring
from dlwild.wild.pipeline import RARE_PRECISION, compression_bits
from dlwild.wild.settings import head_text

TANH_COMPRESSION_BITS = 0.2  # the least fall of I(X;T) called compression


def relations(imb, sym, mon, planes: dict[str, list], curve_study, shaping) -> dict[str, Any]:
    """Each tested relation's value (bool) by claim id, and the reason where one cannot be
    measured (``<id>_why``) or comes from another scale (``<id>_scale``)."""
    from dlwild.wild import curves

    ratio = max(imb.counts)
    gains = imbalance.weighting_helps_little(imb.scores, ratio)
    tanh, relu = compression_bits(planes["tanh"]), compression_bits(planes["relu"])
    r = curve_study.readings
    symbol_gains = symbol_remedies(sym)
    out: dict[str, Any] = {
        "rel_weighting_helps_little": gains["weighted_gain"] < gains["data_gain"],
        "rel_weighting_helps_little_symbols":
            symbol_gains["weighted_gain"] < symbol_gains["data_gain"],
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


def symbol_remedies(sym) -> dict[str, float]:
    """On the symbols' long tail: the balanced-accuracy gains over plain CE of weighting the
    loss and of the best data-side remedy (as :func:`imbalance.weighting_helps_little`)."""
    return imbalance.weighting_helps_little({(0, m): s for m, s in sym.scores.items()}, 0)


def glue_symbols(sym) -> None:
    tail = sym.tail
    counts = tail.counts
    glue_value("wild_sym_classes", len(tail.classes), "d")
    glue_value("wild_sym_pages", tail.pages, "d")
    glue_value("wild_sym_cap", head_text(sym.head))
    glue_value("wild_sym_head_class", tail.classes[int(np.argmax(counts))])
    glue_value("wild_sym_head", int(counts.max()), "d")
    glue_value("wild_sym_rare_class", tail.classes[sym.rare])
    glue_value("wild_sym_rare", int(counts.min()), "d")
    glue_value("wild_sym_ratio", tail.ratio, ".0f")
    glue_value("wild_sym_train", int(counts.sum()), "d")
    glue_value("wild_sym_test", int(tail.test_counts.sum()), "d")
    for m, sc in sym.scores.items():
        glue_value(f"wild_sym_bacc_{m}", sc.balanced_accuracy, ".3f")
        glue_value(f"wild_sym_rare_{m}", sc.recall[sym.rare], ".3f")
    gains = symbol_remedies(sym)
    glue_value("wild_sym_weighted_gain", gains["weighted_gain"], ".3f")
    glue_value("wild_sym_data_gain", gains["data_gain"], ".3f")
    glue_value("wild_sym_verdict", symbol_verdict(gains))


def symbol_verdict(gains: dict[str, float]) -> str:
    """What the symbols say about the lesson, in a sentence (from the measured gains)."""
    if gains["weighted_gain"] < gains["data_gain"]:
        return "Here too, weighting the loss gains less than the best data-side remedy."
    return ("Here, unlike the lesson says, weighting the loss gains as much as the best "
            "data-side remedy or more.")


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

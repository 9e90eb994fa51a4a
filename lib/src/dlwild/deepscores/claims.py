"""The DeepScores / Deep Watershed Detector papers' published claims, each beside its source.

Values are from the digest ``shared/papers/deepscores.md`` (checked against the rendered
PDFs there). Absolute APs and accuracies were measured on DeepScores (300k LilyPond pages,
123 classes); a run on our Verovio-engraved pages marks them ``not comparable`` unless the
trained detector is evaluated on real DeepScores pages a user supplies (``eval_pages``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from dlwild.core.report import Claim, Measured

TABLE_1_SOURCE = "Tuggener et al., Deep Watershed Detector, ISMIR 2018, Table 1 (DeepScores test)"
#: ISMIR 2018 Table 1: the 20 best classes by AP at IoU 0.5, and (an independent ranking) by
#: AP at IoU 0.25, as printed. No all-class mean is reported.
TABLE_1_AP50 = {
    "rest16th": 0.8773, "noteheadBlack": 0.8619, "keySharp": 0.8185, "tuplet6": 0.8028,
    "restQuarter": 0.7942, "rest8th": 0.7803, "noteheadHalf": 0.7474, "flag8thUp": 0.7325,
    "flag8thDown": 0.6634, "accidentalSharp": 0.6626, "accidentalNatural": 0.6559,
    "tuplet3": 0.6298, "noteheadWhole": 0.6265, "dynamicMF": 0.5563, "rest32nd": 0.5420,
    "flag16thUp": 0.5320, "restWhole": 0.5180, "timeSig8": 0.5180, "accidentalFlat": 0.4949,
    "keyFlat": 0.4685,
}
TABLE_1_AP25 = {
    "tuplet6": 0.9252, "keySharp": 0.9240, "rest16th": 0.9233, "noteheadBlack": 0.9200,
    "accidentalSharp": 0.8897, "rest32nd": 0.8658, "noteheadHalf": 0.8593, "rest8th": 0.8544,
    "restQuarter": 0.8462, "accidentalNatural": 0.8417, "flag8thUp": 0.8279, "keyFlat": 0.8134,
    "flag8thDown": 0.7917, "tuplet3": 0.7601, "noteheadWhole": 0.7523, "fClef": 0.7184,
    "restWhole": 0.7183, "dynamicPiano": 0.7069, "accidentalFlat": 0.6759, "flag16thUp": 0.6621,
}

AP_TOLERANCE = 0.10  # AP of one class on a few hundred test symbols


def beside_table_1(ap_rows: Iterable[Mapping[str, object]], ap50_cached: Mapping[str, float],
                   train_counts: Mapping[str, int] | None) -> pd.DataFrame:
    """AP per learnt class (the rows of ``evaluate.APTable.rows``) at IoU 0.5 and 0.25 beside
    Table 1's (NaN where it does not list the class), with the test symbols, the training
    symbols when known, mAP and AP50 with cached box sizes: the live run's table and the
    record's are this one."""
    table = pd.DataFrame(list(ap_rows)).set_index("class").rename(
        columns={"count": "test", "ap50": "AP50", "ap25": "AP25", "map": "mAP"})
    table["AP50 cached"] = pd.Series(ap50_cached, dtype=float)
    table["paper AP50"] = pd.Series(TABLE_1_AP50)
    table["paper AP25"] = pd.Series(TABLE_1_AP25)
    counts = ["test"]
    if train_counts is not None:
        table["train"] = pd.Series(train_counts)
        counts = ["train", "test"]
    return table[[*counts, "AP50", "paper AP50", "AP25", "paper AP25", "mAP", "AP50 cached"]]

ABSOLUTE = [
    Claim("ds_classification_accuracy", paper="tuggener2018deepscores",
          source="ICPR 2018, Sect. 5 (baselines)", metric="macro-average accuracy, symbol patches",
          paper_value=0.98, kind="at_least", tolerance=0.02,
          statement="A residual CNN classifies symbol patches with context almost perfectly"),
    Claim("dwd_ap50_notehead", paper="tuggener2018dwd", source="ISMIR 2018, Table 1",
          metric="AP at IoU 0.5, noteheadBlack", paper_value=0.8619, tolerance=AP_TOLERANCE,
          statement="DWD detects the most frequent symbol, the black notehead"),
    Claim("dwd_ap25_notehead", paper="tuggener2018dwd", source="ISMIR 2018, Table 1",
          metric="AP at IoU 0.25, noteheadBlack", paper_value=0.9200, tolerance=AP_TOLERANCE,
          statement="With a looser overlap the notehead AP rises"),
]

RELATIVE = [
    Claim("rel_notehead_dominates", paper="tuggener2018deepscores",
          source="ICPR 2018, Sect. 3 (class imbalance)",
          metric="noteheadBlack is the most frequent class and holds > 50 % of all symbols",
          paper_value=True, kind="holds",
          statement="One class, the black notehead, holds more than half of all symbols"),
    Claim("rel_long_tail", paper="tuggener2018deepscores",
          source="ICPR 2018, Sect. 3 (class imbalance)",
          metric="the top 10 % of classes hold > 85 % of all symbols", paper_value=True,
          kind="holds", statement="The class frequencies have a long tail"),
    Claim("rel_classification_easier", paper="tuggener2018deepscores",
          source="ICPR 2018, Sect. 5 (baselines)",
          metric="macro accuracy of patch classification > mean AP@0.5 of detection",
          paper_value=True, kind="holds",
          statement="Classifying isolated symbols is easy; detecting them on the page is not"),
    Claim("rel_ap25_above_ap50", paper="tuggener2018dwd", source="ISMIR 2018, Table 1",
          metric="mean AP@0.25 > mean AP@0.5 over the evaluated classes", paper_value=True,
          kind="holds", statement="DWD's boxes are imprecise: a looser overlap gains much AP"),
    Claim("rel_frequent_detected_better", paper="tuggener2018dwd",
          source="ISMIR 2018, Sect. 5 and Table 1",
          metric="Spearman correlation of class frequency and AP@0.5 > 0", paper_value=True,
          kind="holds", statement="Frequent classes are detected well, rare ones poorly"),
    Claim("rel_cached_box_size", paper="elezi2018worms", source="WoRMS 2018, Sect. 3",
          metric="mean AP@0.5 with cached per-class box sizes >= with regressed sizes",
          paper_value=True, kind="holds",
          statement="A cached per-class box size is at least as good as regressing it"),
    Claim("rel_oriented_less_background", paper="tuggener2020deepscoresv2",
          source="DeepScoresV2, Table II",
          metric="background share inside oriented boxes < inside aligned boxes", paper_value=True,
          kind="holds", statement="Oriented boxes fit symbols tighter than axis-aligned ones"),
]

CLAIMS = ABSOLUTE + RELATIVE

#: Why the oriented-box relation is expected to hold whatever the data: V2's oriented box is the
#: minimum-area rectangle around the symbol's pixels, and the aligned box is one of the
#: rectangles it is chosen from, so it is never larger and holds the same ink.
ORIENTED_BY_CONSTRUCTION = (
    "holds by construction: the minimum-area rectangle around a symbol's pixels is never "
    "larger than its aligned box and holds the same ink, so it can only hold less background "
    "(up to pixel sampling); what the data decide is how much less")


def comparable(eval_source: str | None, scale: str) -> str | None:
    """Why the absolute numbers cannot be compared with the papers' (None when they can: a
    full-scale detector evaluated on real DeepScores pages)."""
    if eval_source is None:
        return ("measured on pages we engraved with Verovio from the music21 corpus, not on "
                "DeepScores; only the relations carry over")
    if scale != "full":
        return "quick scale: a small detector trained for minutes, not the paper's ResNet-101"
    return None


def frequency_ap_correlation(ap50: Mapping[str, float], counts: Mapping[str, int]) -> float:
    """Spearman correlation between a class's training frequency and its AP@0.5 (classes with
    a finite AP only; NaN with fewer than three)."""
    names = [c for c, ap in ap50.items() if np.isfinite(ap) and c in counts]
    if len(names) < 3:
        return float("nan")
    rho = spearmanr([counts[c] for c in names], [ap50[c] for c in names]).statistic
    return float(rho)


def measured_from(m: Mapping, *, data: str, scale: str, eval_source: str | None) -> dict:
    """Our value for every claim in :data:`CLAIMS` from the chapter's measurements ``m``:
    ``macro_accuracy``, ``ap50`` / ``ap25`` (per class), ``mean_ap50`` / ``mean_ap25``,
    ``mean_ap50_cached``, ``train_counts``, ``top_share``, ``top_class``, ``top_decile_share``,
    ``background`` = (aligned, oriented)."""
    why = comparable(eval_source, scale)
    where = data
    rho = frequency_ap_correlation(m["ap50"], m["train_counts"])
    n_ranked = sum(1 for c, ap in m["ap50"].items()
                   if np.isfinite(ap) and c in m["train_counts"])
    aligned, oriented = m["background"]
    notehead50 = m["ap50"].get("noteheadBlack", float("nan"))
    notehead25 = m["ap25"].get("noteheadBlack", float("nan"))
    return {
        "ds_classification_accuracy": Measured(
            m["macro_accuracy"], data=where, scale=scale,
            not_comparable=("patches of our engraved pages (fewer classes, other fonts), not "
                            "the DeepScores-classification set")),
        "dwd_ap50_notehead": Measured(notehead50, data=where, scale=scale, not_comparable=why),
        "dwd_ap25_notehead": Measured(notehead25, data=where, scale=scale, not_comparable=why),
        "rel_notehead_dominates": Measured(
            m["top_class"] == "noteheadBlack" and m["top_share"] > 0.5, data=where, scale=scale,
            note=f"most frequent: {m['top_class']} with {m['top_share']:.1%} of all symbols"),
        "rel_long_tail": Measured(
            m["top_decile_share"] > 0.85, data=where, scale=scale,
            note=f"the top 10 % of classes hold {m['top_decile_share']:.1%}"),
        "rel_classification_easier": Measured(
            m["macro_accuracy"] > m["mean_ap50"], data=where, scale=scale,
            note=f"macro accuracy {m['macro_accuracy']:.3f} vs mean AP@0.5 {m['mean_ap50']:.3f}"),
        "rel_ap25_above_ap50": Measured(
            m["mean_ap25"] > m["mean_ap50"], data=where, scale=scale,
            note=f"mean AP@0.25 {m['mean_ap25']:.3f} vs AP@0.5 {m['mean_ap50']:.3f}"),
        "rel_frequent_detected_better": Measured(
            bool(rho > 0) if np.isfinite(rho) else None, data=where, scale=scale,
            note=(f"Spearman rho = {rho:.2f} over {n_ranked} classes with test symbols"
                  if np.isfinite(rho)
                  else "fewer than three classes with an AP")),
        "rel_cached_box_size": Measured(
            m["mean_ap50_cached"] >= m["mean_ap50"], data=where, scale=scale,
            note=f"cached {m['mean_ap50_cached']:.3f} vs regressed {m['mean_ap50']:.3f}"),
        "rel_oriented_less_background": Measured(
            oriented < aligned, data=where, scale=scale,
            note=f"background {aligned:.1%} in aligned vs {oriented:.1%} in oriented boxes "
                 "(paper, all classes: 55.83 % vs 49.26 %); " + ORIENTED_BY_CONSTRUCTION
                 if oriented <= aligned else
                 f"background {aligned:.1%} in aligned vs {oriented:.1%} in oriented boxes: "
                 "more in the oriented ones, which the construction rules out up to pixel "
                 "sampling; check the oriented boxes"),
    }

"""The committed full-scale record on the DeepScores page: its corpus beside ICPR 2018's, its
AP table beside ISMIR 2018's Table 1, its learning curves and a paragraph, all drawn from the
record file alone (``book/records/deepscores.full.json``), so that the page shows the night's
run without rerunning it. A quick run's results have the same shape and draw the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from dlwild.core import plots
from dlwild.core.claims import format_value
from dlwild.core.history import History
from dlwild.deepscores import claims, figures, stats
from dlwild.deepscores.detector import schedule_for, staged_ends
from dlwild.deepscores.evaluate import describe_confusions
from dlwild.deepscores.watershed import DecodeConfig

__all__ = ["ap_table", "confusion_counts", "corpus_table", "record_figures", "record_tables",
           "record_text", "table_1_means"]


def corpus_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """The record's engraved corpus beside DeepScores (ICPR 2018): pieces, pages, fonts,
    classes, symbols, symbols per page and the two imbalance shares (the paper's are lower
    bounds: "more than")."""
    data = record["metrics"]["dataset"]
    pages = data["train_pages"] + data["test_pages"]
    rows = {
        "pieces engraved (train / test)": (f"{len(data['train_pieces'])} / "
                                           f"{len(data['test_pieces'])}", "—"),
        "pieces skipped (the engraver refused them)": (len(data["skipped"]), "—"),
        "pages (train / test)": (f"{data['train_pages']:,} / {data['test_pages']:,}",
                                 f"~{stats.CORPUS['pages']:,.0f}"),
        "fonts": (len(data["fonts"]), "—"),
        "classes present": (data["classes"], f"{stats.CORPUS['classes']:.0f}"),
        "symbols": (f"{data['symbols']:,}", f"~{stats.CORPUS['symbols']:,.0f}"),
        "symbols per page (mean)": (format_value(data["symbols"] / pages, ".0f"),
                                    f"{stats.TABLE_II['symbols per sheet']['mean']:.0f}"),
        "top class's share of all symbols": (format_value(data["top_class_share"], ".3f"),
                                             f"> {stats.PAPER_TOP_CLASS_SHARE:g}"),
        "share of the top 10 % of classes": (format_value(data["top_decile_share"], ".3f"),
                                             f"> {stats.PAPER_TOP_DECILE_SHARE:g}"),
    }
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=[f"ours ({record['scale']})", "DeepScores (paper)"])


def ap_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """AP per learnt class at IoU 0.5 and 0.25 beside ISMIR 2018's Table 1 ("—" where the
    table does not list the class), with test symbols, mAP and AP50 with cached box sizes."""
    detector = record["metrics"]["detector"]
    return claims.beside_table_1(  # records made before December 2026 lack train_counts
        detector["ap"], {row["class"]: row["ap50"] for row in detector["ap_cached"]},
        detector.get("train_counts"))


def confusion_counts(record: Mapping[str, Any]) -> pd.DataFrame | None:
    """Where the record's test symbols went (:func:`dlwild.deepscores.evaluate.confusions`),
    or None for a record made before it kept them."""
    kept = record["metrics"]["detector"].get("confusions")
    if kept is None:
        return None
    counts = pd.DataFrame.from_dict(kept, orient="index").fillna(0).astype(int)
    columns = [c for c in counts.columns if c != "missed"] + (
        ["missed"] if "missed" in counts.columns else [])
    return counts[columns].rename_axis(index="true class", columns="detected as")


def table_1_means(record: Mapping[str, Any]) -> pd.DataFrame:
    """Mean AP over the classes of ISMIR 2018's Table 1 that have test symbols here, ours
    beside the paper's, at IoU 0.5 and 0.25 (each ranking lists its own 20 classes)."""
    table = ap_table(record)
    rows = {}
    for iou in ("AP50", "AP25"):
        listed = table[table[f"paper {iou}"].notna() & (table["test"] > 0)]
        rows[f"mean {iou} over Table 1's classes here"] = {
            "classes": len(listed), "ours": listed[iou].mean(),
            "paper": listed[f"paper {iou}"].mean()}
    return pd.DataFrame.from_dict(rows, orient="index")


def record_tables(record: Mapping[str, Any]) -> list[Any]:
    """The record's tables as the page shows them: the corpus, the means over Table 1's
    classes and the AP per class."""
    aps = ap_table(record)
    counts = [c for c in ("train", "test") if c in aps]
    return [corpus_table(record).style.set_caption(
                "The engraved corpus beside DeepScores (ICPR 2018, Sect. 3 and Table II; its "
                "imbalance shares are lower bounds)"),
            table_1_means(record).style.format("{:.3f}", subset=["ours", "paper"]).set_caption(
                "Mean AP over the classes of ISMIR 2018's Table 1 that the test pages hold"),
            aps.style.format("{:.3f}", na_rep="—").format("{:,.0f}", subset=counts).set_caption(
                "AP per learnt class beside ISMIR 2018's Table 1 (—: the table does not list "
                "the class among its 20 best)")]


def record_figures(record: Mapping[str, Any]) -> list[Figure]:
    """The record's learning curves (the classifier; the detector's held-out losses under both
    schedules) and its AP per class."""
    metrics = record["metrics"]
    classifier = plots.learning_curves(
        History.from_dict(metrics["classifier"]["history"]), held_out="test",
        title=f"Symbol classifier ({record['scale']} scale, cross-entropy)")
    params = metrics["detector"]["params"]
    histories = {name: History.from_dict(run["history"])
                 for name, run in metrics["schedules"].items()}
    losses = figures.losses_by_schedule(histories, schedule_for("paper", params["steps"]).stages,
                                        staged_ends(params))
    drawn = [classifier, losses, figures.ap_bars(ap_table(record))]
    counts = confusion_counts(record)
    if counts is not None:
        drawn.append(figures.confusion_figure(counts))
    return drawn


def record_text(record: Mapping[str, Any]) -> str:
    """A paragraph on the record, every number read from it."""
    metrics, scale = record["metrics"], record["scale"]
    data, means = metrics["dataset"], table_1_means(record)
    ap50 = means.loc["mean AP50 over Table 1's classes here"]
    ap25 = means.loc["mean AP25 over Table 1's classes here"]
    schedules = metrics["schedules"]
    verdicts = {c["id"]: c["verdict"] for c in record["claims"]}
    rho = metrics["detector"]["spearman_frequency_ap50"]

    def f(value: float, fmt: str = ".3f") -> str:
        return format_value(value, fmt)

    pieces = len(data["train_pieces"]) + len(data["test_pieces"])
    pages, fonts = data["train_pages"] + data["test_pages"], len(data["fonts"])
    return (
        f"**What the {scale}-scale run shows.** It engraved {pieces} pieces "
        f"({len(data['skipped'])} skipped) into {pages:,} pages in {fonts} "
        f"font{'' if fonts == 1 else 's'}, holding {data['symbols']:,} symbols of "
        f"{data['classes']} classes; the most frequent class holds "
        f"{f(data['top_class_share'])} of them and the top 10 % of classes "
        f"{f(data['top_decile_share'])} (DeepScores: more than "
        f"{stats.PAPER_TOP_CLASS_SHARE:g} and {stats.PAPER_TOP_DECILE_SHARE:g}; the long-tail "
        f"claim: {verdicts.get('rel_long_tail', 'not tested')}). The symbol "
        f"classifier reaches a macro accuracy of {f(metrics['classifier']['macro_accuracy'])}"
        f"{_still_learning(metrics['classifier'])}. "
        f"Over the {int(ap50['classes'])} classes of ISMIR 2018's Table 1 that the test pages "
        f"hold, the detector's mean AP at IoU 0.5 is {f(ap50['ours'])} (the paper's, same "
        f"classes: {f(ap50['paper'])}), at IoU 0.25 {f(ap25['ours'])} over "
        f"{int(ap25['classes'])} classes (paper {f(ap25['paper'])}; Table 1 lists its 20 "
        f"best classes at each IoU, so the two means need not run over the same classes). "
        f"Class frequency and AP "
        f"at IoU 0.5 correlate with Spearman's rho = {f(rho, '.2f')}. "
        + _schedules(schedules) + _sharps(confusion_counts(record))
    )


def _still_learning(classifier: Mapping[str, Any]) -> str:
    """", after N epochs, its validation accuracy still rising ..." when the record's history
    shows the last epoch gaining more than 0.02 (a classifier stopped short), else ""."""
    epochs = classifier.get("history", {}).get("epochs", [])
    accuracy = [e.get("val_accuracy") for e in epochs]
    if len(accuracy) < 2 or None in accuracy[-2:] or accuracy[-1] - accuracy[-2] <= 0.02:
        return ""
    return (f" after {len(epochs)} epochs, its validation accuracy still rising in the last "
            f"one (from {format_value(accuracy[-2], '.2f')} to "
            f"{format_value(accuracy[-1], '.2f')})")


def _schedules(schedules: dict[str, dict[str, Any]]) -> str:
    """The staged against the joint schedule, in words: mean AP@0.5 and, where the record
    keeps them, detections per test page and held-out losses; a detector that found nothing
    is said to."""
    def run(name: str) -> str:
        row = schedules[name]
        text = format_value(row["mean AP@0.5"], ".3f")
        if "detections per test page" in row:
            text += (f" with {format_value(row['detections per test page'], '.0f')} "
                     f"detections per test page (held-out energy loss "
                     f"{format_value(row['held-out energy loss'], '.3f')}, class loss "
                     f"{format_value(row['held-out class loss'], '.3f')})")
        return text

    text = (f"Trained with the paper's staged schedule, the detector's mean AP at IoU 0.5 is "
            f"{run('paper')}; trained jointly, {run('joint')}.")
    if schedules["paper"].get("detections per test page") == 0:
        text += (" The staged detector finds nothing: its energy head leaves no component of "
                 f"{DecodeConfig().min_area} pixels or more above level 0 on any test page, "
                 "so the watershed cuts have nothing to decode.")
    return text


def _sharps(counts: pd.DataFrame | None) -> str:
    """Whether the detector told the key signature's sharps from accidental sharps (the same
    glyph, told apart only by where it stands), in words."""
    if counts is None:
        return ""
    told = [describe_confusions(counts, c) for c in ("keySharp", "accidentalSharp")
            if c in counts.index and counts.loc[c].sum() > 0]
    return f" The two sharps, same glyph, different places: {'; '.join(told)}." if told else ""

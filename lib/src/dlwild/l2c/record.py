"""The committed full-scale record on the learning-to-cluster page, drawn from the record
file alone (``book/records/learning_to_cluster.full.json``): its MR/NMI table beside the
baselines, the metric-block ablation beside Table 1, the count confusion and the relative
claims' curves, and a paragraph, so that the page shows the full run without rerunning it.
A live run's numbers (:func:`dlwild.l2c.pipeline.summary`) have the same shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from dlwild.core.claims import format_value
from dlwild.l2c import figures
from dlwild.l2c.claims import ABSOLUTE, METRIC_BLOCKS_POINTS
from dlwild.l2c.pipeline import summary_table
from dlwild.l2c.settings import DATASETS

__all__ = ["ablation_table", "record_figures", "record_tables", "record_text"]


def _types(metrics: Mapping[str, Any]) -> list[str]:
    return [name for name in DATASETS if name in metrics]


def ablation_table(metrics: Mapping[str, Any]) -> pd.DataFrame | None:
    """The 2-D points' MR of plain L2C and of each metric-learning block trained, beside
    Table 1's; None where the run trained no block (quick scale)."""
    blocks = metrics.get("metric_ablation") or {}
    if not blocks:
        return None
    plain = next(c for c in ABSOLUTE if c.id == "points_mr")  # Table 1's plain L2C
    rows = [{"network": "L2C (the chapter's network)",
             "MR (ours)": format_value(metrics["points"]["l2c"]["mr"], ".3f"),
             "MR (paper)": format_value(plain.paper_value, ".3f")}]
    for metric, mr in blocks.items():
        title, paper_mr, _ = (("L2C, trained as the blocks are", plain.paper_value, None)
                              if metric == "plain" else METRIC_BLOCKS_POINTS[metric])
        rows.append({"network": title, "MR (ours)": format_value(mr, ".3f"),
                     "MR (paper)": format_value(paper_mr, ".3f")})
    return pd.DataFrame(rows)


def record_tables(record: Mapping[str, Any]) -> list[pd.DataFrame]:
    """The record's MR/NMI table (L2C, baselines, random row per data type) and, where it
    has one, its metric-block ablation."""
    metrics = record["metrics"]
    tables = [summary_table(metrics)]
    ablation = ablation_table(metrics)
    if ablation is not None:
        tables.append(ablation)
    return tables


def record_figures(record: Mapping[str, Any]) -> list[Figure]:
    """The record's count confusion per data type and its relative claims (count accuracy
    by k, MR against training classes and against n)."""
    metrics = record["metrics"]
    names = _types(metrics)
    confusion = figures.count_confusion({name: np.asarray(metrics[name]["confusion"])
                                         for name in names})
    by_k = {name: {int(k): v for k, v in metrics[name]["count_acc_by_k"].items()}
            for name in names}
    sweep = {int(c): v for c, v in metrics["class_sweep"].items()}
    large = {int(n): v for n, v in metrics["large_n"].items()}
    return [confusion, figures.relative_claims(by_k, sweep, large)]


def _time_sentence(prov: Mapping[str, Any]) -> str:
    """How long the record took.  Its networks' training time exceeds the run's wall time when
    some of them were trained in an earlier sitting and loaded from the cache: say so, rather
    than "trained for 3.5 h (2.0 h in all)"."""
    train_h, wall_h = prov["training_s"] / 3600, prov["wall_s"] / 3600
    where = f"on {prov['hardware']['name']}, started {prov['started'][:10]}"
    if prov["training_s"] <= prov["wall_s"]:
        return (f"It trained for {format_value(train_h, '.1f')} h "
                f"({format_value(wall_h, '.1f')} h in all) {where}.")
    return (f"Its networks trained for {format_value(train_h, '.1f')} h, part of it in an "
            f"earlier sitting whose networks this run loaded from the cache; the run that "
            f"finished the record took {format_value(wall_h, '.1f')} h {where}.")


def record_text(record: Mapping[str, Any]) -> str:
    """A paragraph on the record, every number read from it."""
    metrics, scale, prov = record["metrics"], record["scale"], record["provenance"]
    verdicts = {c["id"]: c["verdict"] for c in record["claims"]}

    def f(value: float, fmt: str = ".3f") -> str:
        return format_value(value, fmt)

    parts = []
    for name in _types(metrics):
        s = metrics[name]["l2c"]
        parts.append(f"{name} MR {f(s['mr'])} ± {f(s['mr_std'])}, NMI {f(s['nmi'])}, the "
                     f"number of clusters right on {f(s['count_acc'], '.2f')} of the sets")
    large = {int(n): v["mr"] for n, v in metrics["large_n"].items()}
    text = (f"**What the {scale}-scale run shows.** {_time_sentence(prov)} On the "
            f"test sets of classes it never saw: " + "; ".join(parts) + ". "
            f"The claim that L2C clusters the 2-D sets almost perfectly "
            f"{verdicts.get('points_mr', 'was not tested')} at this scale; it beats k-means "
            f"given the true k: {verdicts.get('beats_kmeans', 'not tested')}. On larger sets "
            f"than in training its MR goes from {f(large[min(large)])} (n = {min(large)}) to "
            f"{f(large[max(large)])} (n = {max(large)}).")
    ablation = metrics.get("metric_ablation") or {}
    blocks = {k: v for k, v in ablation.items() if k != "plain"}
    if blocks:
        best = min(blocks, key=blocks.get)
        alike = (f", against {f(ablation['plain'])} for plain L2C trained the same way"
                 if "plain" in ablation else "")
        text += (f" With an explicit metric-learning block the best MR is "
                 f"{f(blocks[best])} ({METRIC_BLOCKS_POINTS[best][0]}; Table 1: "
                 f"{f(METRIC_BLOCKS_POINTS[best][1])}){alike}, so the claim that the block "
                 f"does not help on 2-D {verdicts.get('metric_no_help', 'was not tested')}.")
    return text

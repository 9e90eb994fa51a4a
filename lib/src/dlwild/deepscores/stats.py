"""Dataset statistics of DeepScores-style pages, shown beside the numbers the paper printed.

DeepScores (ICPR 2018) characterises its data by Table II (symbols per sheet and per class:
mean, std, max, min, median) and by two statements on class imbalance: the most frequent
class (noteheadBlack) holds more than half of all symbols, and the top 10 % of classes hold
more than 85 %.  The chapter computes the same numbers on its own (synthetic) pages so the
reader can see how alike the two datasets are; this module computes them from a
``list[Page]`` (:mod:`dlwild.deepscores.annotations`) and returns pandas DataFrames.

Choices where the paper is silent:

* ``std`` is the population standard deviation (``ddof=0``); the paper does not say which,
  and at 300k pages / 123 classes the difference is below its rounding.
* "Symbols per class" counts only classes that occur (the paper's minimum of 18 says it did
  too), unless a class list is given, in which case absent classes count as 0.
* "Top 10 % of classes" are the ``ceil(0.1 * n)`` most frequent of the ``n`` classes that
  occur (at least one class; 13 of DeepScores' 123).
* Symbol size is the axis-aligned box: its area over the page area, and its height over the
  interline (the distance between two staff lines) when one is given in pixels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dlwild.core.claims import format_value
from dlwild.deepscores.annotations import Page, class_counts
from dlwild.deepscores.engrave import EngravedPage
from dlwild.deepscores.geometry import background_ratio
from dlwild.deepscores.prose import Glued

__all__ = [
    "CORPUS",
    "CORPUS_SOURCE",
    "IMBALANCE_SOURCE",
    "BackgroundTable",
    "PageStatistics",
    "PAPER_TOP_CLASS",
    "PAPER_TOP_CLASS_SHARE",
    "PAPER_TOP_DECILE_SHARE",
    "STATS",
    "TABLE_II",
    "TABLE_II_SOURCE",
    "background_ratios",
    "class_frequency",
    "imbalance",
    "size_by_class",
    "summarise",
    "symbol_sizes",
    "symbols_per_class",
    "symbols_per_page",
    "table_ii",
]

STATS: tuple[str, ...] = ("mean", "std", "max", "min", "median")
"""The five numbers of DeepScores' Table II, in its row order."""

TABLE_II_SOURCE = "Tuggener et al., DeepScores, ICPR 2018, Table II (rounded as printed)"
TABLE_II: dict[str, dict[str, float]] = {
    "symbols per sheet": {"mean": 243, "std": 203, "max": 7_664, "min": 4, "median": 212},
    "symbols per class": {
        "mean": 650_000, "std": 4_000_000, "max": 44_000_000, "min": 18, "median": 20_000,
    },
}
"""DeepScores' Table II as printed ("650k", "4m", "44m", "20k" written out)."""

CORPUS_SOURCE = "Tuggener et al., DeepScores, ICPR 2018, Sect. 3 (the data set, as printed)"
CORPUS: dict[str, float] = {"pages": 300_000, "classes": 123, "symbols": 80_000_000}
"""DeepScores' size: ~300,000 pages, 123 classes, ~80 million labelled symbols."""

IMBALANCE_SOURCE = "Tuggener et al., DeepScores, ICPR 2018, text on class imbalance"
PAPER_TOP_CLASS = "noteheadBlack"
"""The most frequent class in DeepScores."""
PAPER_TOP_CLASS_SHARE = 0.5
"""Lower bound: the most frequent class holds *more than* half of all symbols."""
PAPER_TOP_DECILE_SHARE = 0.85
"""Lower bound: the top 10 % of classes hold *more than* 85 % of all symbols."""


def summarise(values: Sequence[float] | np.ndarray | pd.Series) -> pd.Series:
    """Table II's five numbers (mean, std with ``ddof=0``, max, min, median) of ``values``."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        raise ValueError("no values to summarise (no pages, or pages without symbols)")
    return pd.Series(
        [array.mean(), array.std(), array.max(), array.min(), float(np.median(array))],
        index=list(STATS), dtype=np.float64,
    )


def symbols_per_page(pages: Sequence[Page]) -> pd.Series:
    """Number of symbols of each page, indexed by page id (pages without symbols count 0)."""
    return pd.Series([len(p.symbols) for p in pages], index=[p.id for p in pages],
                     name="symbols", dtype=np.int64)


def symbols_per_class(pages: Sequence[Page], classes: Sequence[str] | None = None) -> pd.Series:
    """Number of symbols of each class, most frequent first (ties by name).

    Without ``classes`` only the classes that occur are listed; with it, exactly those
    classes are (absent ones with 0, symbols of other classes ignored)."""
    counts = class_counts(pages)
    if classes is not None:
        counts = {name: counts.get(name, 0) for name in classes}
        counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return pd.Series(counts, name="symbols", dtype=np.int64)


def table_ii(pages: Sequence[Page], classes: Sequence[str] | None = None) -> pd.DataFrame:
    """DeepScores' Table II for ``pages`` beside the paper's: rows mean, std, max, min, median;
    columns ``(per sheet|per class, ours|paper)``."""
    ours = {
        "symbols per sheet": summarise(symbols_per_page(pages)),
        "symbols per class": summarise(symbols_per_class(pages, classes)),
    }
    columns = {}
    for what, values in ours.items():
        columns[(what, "ours")] = values
        columns[(what, "paper")] = pd.Series(TABLE_II[what], dtype=np.float64)
    table = pd.DataFrame(columns).loc[list(STATS)]
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def class_frequency(pages: Sequence[Page], classes: Sequence[str] | None = None) -> pd.DataFrame:
    """The long tail: one row per class, most frequent first, with ``rank`` (1 = most
    frequent), ``count``, ``share`` of all symbols and ``cumulative_share``; ``classes`` as in
    :func:`symbols_per_class`."""
    counts = symbols_per_class(pages, classes)
    total = int(counts.sum())
    if total == 0:
        raise ValueError("no symbols to count")
    share = counts / total
    return pd.DataFrame({
        "cls": counts.index,
        "rank": np.arange(1, len(counts) + 1),
        "count": counts.to_numpy(),
        "share": share.to_numpy(),
        "cumulative_share": share.cumsum().to_numpy(),
    })


def imbalance(pages: Sequence[Page]) -> pd.DataFrame:
    """The paper's two imbalance statements checked on ``pages``.

    Rows ``top class share`` (share of the most frequent class) and ``top 10% classes share``
    (share of the ``ceil(0.1 n)`` most frequent of the ``n`` occurring classes); columns
    ``ours``, ``paper`` (the paper's lower bound), ``exceeds`` (ours > paper), ``classes``
    (the classes counted, comma-separated)."""
    freq = class_frequency(pages)
    top = max(1, math.ceil(0.1 * len(freq)))
    rows = {
        "top class share": (float(freq["share"].iloc[0]), PAPER_TOP_CLASS_SHARE,
                            str(freq["cls"].iloc[0])),
        "top 10% classes share": (float(freq["cumulative_share"].iloc[top - 1]),
                                  PAPER_TOP_DECILE_SHARE, ", ".join(freq["cls"].iloc[:top])),
    }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["ours", "paper", "classes"])
    table.insert(2, "exceeds", table["ours"] > table["paper"])
    return table


def symbol_sizes(pages: Sequence[Page],
                 interline: float | Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per symbol: ``page``, ``cls``, box ``height`` and ``width`` (px),
    ``area_fraction`` (box area / page area) and, with ``interline`` (px, one value or one
    per page id), ``height_interlines`` (box height / interline)."""
    rows = []
    for page in pages:
        if isinstance(interline, Mapping):
            if page.id not in interline:
                raise KeyError(f"no interline given for page {page.id!r}")
            spacing: float | None = interline[page.id]
        else:
            spacing = interline
        if spacing is not None and not spacing > 0:
            raise ValueError(f"interline must be positive, got {spacing!r} for page {page.id!r}")
        page_area = float(page.width) * float(page.height)
        if not page_area > 0:
            raise ValueError(f"page {page.id!r} has no area ({page.width} x {page.height})")
        for s in page.symbols:
            h, w = s.size
            row = {"page": page.id, "cls": s.cls, "height": h, "width": w,
                   "area_fraction": h * w / page_area}
            if spacing is not None:
                row["height_interlines"] = h / spacing
            rows.append(row)
    columns = ["page", "cls", "height", "width", "area_fraction"]
    if interline is not None:
        columns.append("height_interlines")
    return pd.DataFrame(rows, columns=columns)


def size_by_class(pages: Sequence[Page],
                  interline: float | Mapping[str, float] | None = None) -> pd.DataFrame:
    """Symbol sizes per class, most frequent class first: ``count`` and the median, min and
    max of ``area_fraction`` (and ``height_interlines`` with an interline)."""
    sizes = symbol_sizes(pages, interline)
    measures = [c for c in ("area_fraction", "height_interlines") if c in sizes]
    table = sizes.groupby("cls")[measures].agg(["median", "min", "max"])
    table.columns = [f"{measure}_{stat}" for measure, stat in table.columns]
    table.insert(0, "count", sizes.groupby("cls").size())
    table = table.reset_index().sort_values(["count", "cls"], ascending=[False, True])
    return table.set_index("cls")


@dataclass(frozen=True)
class PageStatistics(Glued):
    """The chapter's statistics of its pages: Table II beside the paper's, the class
    frequencies, the two imbalance statements and every symbol's size."""

    table: pd.DataFrame
    frequency: pd.DataFrame
    imbalance: pd.DataFrame
    sizes: pd.DataFrame

    @classmethod
    def of(cls, pages: Sequence[Page], interline: float) -> PageStatistics:
        """The statistics of ``pages`` engraved at ``interline`` px."""
        return cls(table_ii(pages), class_frequency(pages), imbalance(pages),
                   symbol_sizes(pages, interline=interline))

    @property
    def top_class(self) -> str:
        """The most frequent class."""
        return str(self.imbalance.loc["top class share", "classes"])

    @property
    def top_share(self) -> float:
        """The most frequent class's share of all symbols."""
        return float(self.imbalance.loc["top class share", "ours"])

    @property
    def top_decile_share(self) -> float:
        """The share of the top 10 % of classes."""
        return float(self.imbalance.loc["top 10% classes share", "ours"])

    def prose(self) -> dict[str, str]:
        return {"ds_top_share": format_value(self.top_share, ".1%"),
                "ds_top_class": self.top_class,
                "ds_decile_share": format_value(self.top_decile_share, ".1%"),
                "ds_decile_n": str(max(1, math.ceil(0.1 * len(self.frequency)))),
                "ds_median_area": format_value(
                    float(self.sizes["area_fraction"].median() * 100), ".3f"),
                "ds_median_height": format_value(float(self.sizes["height"].median()), ".0f")}


def background_ratios(pages: Sequence[EngravedPage]) -> pd.DataFrame:
    """One row per symbol with an oriented box: ``class``, and the share of background pixels
    inside its ``aligned`` and its ``oriented`` box, measured on the page image
    (DeepScoresV2 Table II). Boxes thinner than a pixel centre have no pixel and are left out."""
    rows = []
    for page in pages:
        for symbol in page.page.symbols:
            if symbol.obbox is None:
                continue
            try:
                a, o = background_ratio(page.image, symbol.bbox, symbol.obbox)
            except ValueError:
                continue  # a box thinner than a pixel centre: no pixel to count
            rows.append({"class": symbol.cls, "aligned": a, "oriented": o})
    return pd.DataFrame(rows, columns=["class", "aligned", "oriented"])


@dataclass(frozen=True)
class BackgroundTable(Glued):
    """DeepScoresV2's Table II on our pages: the background share inside aligned and
    oriented boxes, per symbol (:func:`background_ratios`)."""

    ratios: pd.DataFrame

    @classmethod
    def of(cls, pages: Sequence[EngravedPage]) -> BackgroundTable:
        """The background shares of every symbol of ``pages``."""
        return cls(background_ratios(pages))

    @property
    def overall(self) -> tuple[float, float]:
        """(aligned, oriented): the mean background share over all symbols."""
        return float(self.ratios["aligned"].mean()), float(self.ratios["oriented"].mean())

    def table(self, top: int = 12) -> pd.DataFrame:
        """The ``top`` most frequent classes and all symbols: symbols, mean background share
        in aligned and oriented boxes, and the oriented box's relative improvement."""
        grouped = self.ratios.groupby("class").agg(
            symbols=("aligned", "size"), aligned=("aligned", "mean"),
            oriented=("oriented", "mean"))
        table = grouped.sort_values("symbols", ascending=False).head(top)
        table.loc["all symbols"] = [len(self.ratios), *self.overall]
        table["improvement"] = (table["aligned"] - table["oriented"]) / table["aligned"]
        return table

    def styled(self, top: int = 12) -> object:
        """:meth:`table` as the page shows it."""
        return self.table(top).style.format({"symbols": "{:,.0f}", "aligned": "{:.1%}",
                                             "oriented": "{:.1%}", "improvement": "{:.1%}"})

    def prose(self) -> dict[str, str]:
        aligned, oriented = self.overall
        return {"ds_bg_aligned": format_value(aligned, ".1%"),
                "ds_bg_oriented": format_value(oriented, ".1%"),
                "ds_bg_improvement": format_value((aligned - oriented) / aligned, ".1%")}

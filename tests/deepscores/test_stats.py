"""DeepScores dataset statistics: Table II, the long tail, symbol sizes, on hand-made pages."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dlwild.deepscores.annotations import Page, Symbol
from dlwild.deepscores.engrave import EngravedPage
from dlwild.deepscores.geometry import background_ratio
from dlwild.deepscores.stats import (
    PAPER_TOP_CLASS_SHARE,
    PAPER_TOP_DECILE_SHARE,
    STATS,
    TABLE_II,
    TABLE_II_SOURCE,
    BackgroundTable,
    PageStatistics,
    background_ratios,
    class_frequency,
    imbalance,
    size_by_class,
    summarise,
    symbol_sizes,
    symbols_per_class,
    symbols_per_page,
    table_ii,
)


def page(pid: str, classes: list[str], width: int = 100, height: int = 200) -> Page:
    """A page with one 10 x 20 (w x h) box per class name, stacked down the page."""
    symbols = [Symbol(c, (0.0, 20.0 * i % 180, 10.0, 20.0 * i % 180 + 20.0), i + 1)
               for i, c in enumerate(classes)]
    return Page(pid, width, height, symbols, piece=pid)


# 2, 4 and 6 symbols; noteheadBlack 8, gClef 3, keySharp 1
PAGES = [
    page("a", ["noteheadBlack", "gClef"]),
    page("b", ["noteheadBlack"] * 3 + ["gClef"]),
    page("c", ["noteheadBlack"] * 4 + ["gClef", "keySharp"]),
]


def test_summarise_known_answer():
    s = summarise([2, 4, 6])
    assert list(s.index) == list(STATS)
    assert s["mean"] == 4 and s["max"] == 6 and s["min"] == 2 and s["median"] == 4
    assert s["std"] == pytest.approx(math.sqrt(8 / 3))  # population std
    with pytest.raises(ValueError, match="no values"):
        summarise([])


def test_symbols_per_page_and_class():
    assert symbols_per_page(PAGES).to_dict() == {"a": 2, "b": 4, "c": 6}
    per_class = symbols_per_class(PAGES)
    assert per_class.to_dict() == {"noteheadBlack": 8, "gClef": 3, "keySharp": 1}
    assert list(per_class.index) == ["noteheadBlack", "gClef", "keySharp"]
    # an explicit class list counts absent classes as 0 and ignores the others
    listed = symbols_per_class(PAGES, ["keySharp", "restQuarter", "gClef"])
    assert listed.to_dict() == {"gClef": 3, "keySharp": 1, "restQuarter": 0}


def test_table_ii_ours_beside_paper():
    table = table_ii(PAGES)
    assert list(table.index) == list(STATS)
    sheet = table[("symbols per sheet", "ours")]
    assert sheet.to_dict() == pytest.approx(
        {"mean": 4, "std": math.sqrt(8 / 3), "max": 6, "min": 2, "median": 4})
    cls = table[("symbols per class", "ours")]
    assert cls.to_dict() == pytest.approx(
        {"mean": 4, "std": math.sqrt(26 / 3), "max": 8, "min": 1, "median": 3})
    for what in ("symbols per sheet", "symbols per class"):
        assert table[(what, "paper")].to_dict() == TABLE_II[what]
    assert TABLE_II["symbols per sheet"]["max"] == 7_664
    assert TABLE_II["symbols per class"]["mean"] == 650_000
    assert "Table II" in TABLE_II_SOURCE and "ICPR 2018" in TABLE_II_SOURCE


def test_class_frequency_long_tail():
    freq = class_frequency(PAGES)
    assert list(freq["cls"]) == ["noteheadBlack", "gClef", "keySharp"]
    assert list(freq["rank"]) == [1, 2, 3]
    assert freq["share"].tolist() == pytest.approx([8 / 12, 3 / 12, 1 / 12])
    assert freq["cumulative_share"].iloc[-1] == pytest.approx(1.0)


def test_imbalance_top_class_and_top_decile():
    # 3 classes -> ceil(0.3) = 1 class in the top 10 %
    table = imbalance(PAGES)
    assert table.loc["top class share", "ours"] == pytest.approx(8 / 12)
    assert table.loc["top class share", "classes"] == "noteheadBlack"
    assert table.loc["top class share", "paper"] == PAPER_TOP_CLASS_SHARE
    assert bool(table.loc["top class share", "exceeds"])
    assert table.loc["top 10% classes share", "ours"] == pytest.approx(8 / 12)
    assert table.loc["top 10% classes share", "paper"] == PAPER_TOP_DECILE_SHARE
    assert not bool(table.loc["top 10% classes share", "exceeds"])
    # 11 classes -> ceil(1.1) = 2 classes: counts 20, 10, then nine classes of 1
    names = ["x"] * 20 + ["y"] * 10 + [f"c{i}" for i in range(9)]
    many = imbalance([page("m", names, height=10_000)])
    assert many.loc["top 10% classes share", "ours"] == pytest.approx(30 / 39)
    assert many.loc["top 10% classes share", "classes"] == "x, y"
    assert many.loc["top class share", "ours"] == pytest.approx(20 / 39)


def test_symbol_sizes_relative_to_page_and_interline():
    sizes = symbol_sizes(PAGES, interline=10.0)
    assert len(sizes) == 12
    # a 10 x 20 box on a 100 x 200 page: 1 % of the page, 2 interlines high
    assert sizes["area_fraction"].tolist() == pytest.approx([0.01] * 12)
    assert sizes["height_interlines"].tolist() == pytest.approx([2.0] * 12)
    assert "height_interlines" not in symbol_sizes(PAGES)
    per_page = symbol_sizes(PAGES, interline={"a": 20.0, "b": 10.0, "c": 5.0})
    assert per_page.groupby("page")["height_interlines"].first().to_dict() == {
        "a": 1.0, "b": 2.0, "c": 4.0}
    with pytest.raises(KeyError, match="'c'"):
        symbol_sizes(PAGES, interline={"a": 10.0, "b": 10.0})
    with pytest.raises(ValueError, match="positive"):
        symbol_sizes(PAGES, interline=0.0)


def test_size_by_class():
    big = Page("big", 100, 100, [Symbol("gClef", (0, 0, 10, 40), 1),
                                 Symbol("gClef", (0, 0, 10, 20), 2),
                                 Symbol("augmentationDot", (0, 0, 2, 2), 3)])
    table = size_by_class([big], interline=10.0)
    assert list(table.index) == ["gClef", "augmentationDot"]
    assert table.loc["gClef", "count"] == 2
    assert table.loc["gClef", "area_fraction_median"] == pytest.approx(0.03)
    assert table.loc["gClef", "height_interlines_max"] == pytest.approx(4.0)
    assert table.loc["augmentationDot", "area_fraction_min"] == pytest.approx(4e-4)
    assert isinstance(table, pd.DataFrame) and np.isfinite(table.to_numpy(float)).all()


def test_background_of_a_thin_diagonal_stroke():
    image = np.full((40, 40), 255, np.uint8)
    for i in range(5, 35):
        image[i, i - 1:i + 2] = 0  # a 3-px diagonal line
    obbox = (3.0, 5.0, 6.0, 2.0, 38.0, 34.0, 35.0, 37.0)  # rectangle along the diagonal
    slur = Symbol("slur", (3.5, 5.0, 36.5, 35.0), 1, obbox)
    image[2:6, 30:34] = 0  # a 4 x 4 blob whose boxes are tight
    blob = Symbol("dot", (30.0, 2.0, 34.0, 6.0), 2, (30.0, 2.0, 34.0, 2.0, 34.0, 6.0, 30.0, 6.0))
    unoriented = Symbol("dot", (30.0, 2.0, 34.0, 6.0), 3)  # no oriented box: not counted
    page = Page("p", 40, 40, [slur, blob, unoriented])
    engraved = EngravedPage(page, image, np.zeros_like(image), np.zeros_like(image))
    ratios = background_ratios([engraved])
    slur_a, slur_o = background_ratio(image, slur.bbox, slur.obbox)
    assert slur_a > 0.9 and slur_o < slur_a - 0.25  # the diagonal box is mostly ink's
    assert background_ratio(image, blob.bbox, blob.obbox) == (0.0, 0.0)
    assert list(ratios["class"]) == ["slur", "dot"]  # the unoriented dot is not counted
    np.testing.assert_allclose(ratios[["aligned", "oriented"]].to_numpy(),
                               [[slur_a, slur_o], [0.0, 0.0]])


def test_background_table_per_class_and_overall():
    image = np.full((20, 40), 255, np.uint8)
    image[2:6, 2:6] = 0  # a tight blob: no background in either box
    image[10:12, 10:30] = 0  # a bar in a box twice its height: half background
    symbols = [Symbol("dot", (2.0, 2.0, 6.0, 6.0), 1, (2.0, 2.0, 6.0, 2.0, 6.0, 6.0, 2.0, 6.0)),
               Symbol("bar", (10.0, 10.0, 30.0, 14.0), 2,
                      (10.0, 10.0, 30.0, 10.0, 30.0, 12.0, 10.0, 12.0))]
    page = EngravedPage(Page("p", 40, 20, symbols), image, np.zeros_like(image),
                        np.zeros_like(image))
    background = BackgroundTable.of([page])
    assert background.overall == pytest.approx((0.25, 0.0))
    table = background.table()
    assert table.loc["bar", "aligned"] == pytest.approx(0.5)
    assert table.loc["bar", "improvement"] == pytest.approx(1.0)
    assert table.loc["all symbols", "symbols"] == 2
    assert background.prose() == {"ds_bg_aligned": "25.0%", "ds_bg_oriented": "0.0%",
                                  "ds_bg_improvement": "100.0%"}


def test_page_statistics_in_words():
    pages = [Page("p1", 100, 200, [Symbol("noteheadBlack", (0, 0, 10, 8), i + 1)
                                   for i in range(8)] + [Symbol("gClef", (0, 0, 10, 40), 9)]),
             Page("p2", 100, 200, [Symbol("restQuarter", (0, 0, 5, 20), 1)])]
    stats = PageStatistics.of(pages, interline=10.0)
    assert stats.top_class == "noteheadBlack" and stats.top_share == pytest.approx(0.8)
    prose = stats.prose()
    assert prose["ds_top_share"] == "80.0%" and prose["ds_top_class"] == "noteheadBlack"
    assert prose["ds_decile_n"] == "1" and prose["ds_decile_share"] == "80.0%"
    assert prose["ds_median_height"] == "8"
    assert prose["ds_median_area"] == format(80 / 20000 * 100, ".3f")

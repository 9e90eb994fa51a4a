"""The chapter's figures: the matching behind the detection overlay, keys and colours, and
each page figure drawing what its caption says."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scores import small_dataset

from dlwild.core.history import History
from dlwild.deepscores import figures
from dlwild.deepscores.annotations import Page, Symbol
from dlwild.deepscores.classify import Patches
from dlwild.deepscores.evaluate import Detection
from dlwild.deepscores.stats import PageStatistics


def test_match_counts_true_and_false_positives():
    truth = [Symbol("a", (0, 0, 10, 10), 1), Symbol("a", (20, 0, 30, 10), 2),
             Symbol("b", (40, 0, 50, 10), 3)]
    dets = [Detection("a", (1, 0, 11, 10), 0.9), Detection("a", (0, 0, 10, 10), 0.5),
            Detection("a", (40, 0, 50, 10), 0.8)]
    hit, found = figures.match(truth, dets)
    assert hit == [True, False, False]  # duplicate and wrong class are false positives
    assert found == [True, False, False]


def test_detection_figure_has_a_key_with_three_distinct_colours():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    truth = [Symbol("a", (0, 0, 10, 10), 1), Symbol("a", (20, 0, 30, 10), 2)]
    dets = [Detection("a", (0, 0, 10, 10), 0.9), Detection("a", (40, 0, 50, 10), 0.5)]
    fig, ax = plt.subplots()
    counts = figures.show_detections(ax, np.full((20, 60), 255, np.uint8), truth, dets,
                                     legend=True)
    assert counts == {"true positives": 1, "false positives": 1, "missed": 1}
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["correct detection", "false detection", "missed symbol"]
    edges = {to_rgb(p.get_edgecolor()) for p in ax.patches}
    assert len(edges) == 3  # one colour per kind of box, as the key says
    red, missed = (to_rgb(figures.DETECTION_STYLE[k]["ec"])
                   for k in ("false detection", "missed symbol"))
    assert red[0] > 0.8 and red[1] < 0.2 and missed[2] > missed[0]  # red vs blue, not orange
    plt.close(fig)


def test_confusion_figure_numbers_every_nonzero_cell_and_colours_row_shares():
    import matplotlib.pyplot as plt
    import pandas as pd

    counts = pd.DataFrame([[3, 1, 0], [0, 0, 4]], index=["a", "b"], columns=["a", "b", "missed"])
    fig, ax = plt.subplots()
    figures.show_confusions(ax, counts)
    assert sorted(t.get_text() for t in ax.texts) == ["1", "3", "4"]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25, 0], [0, 0, 1]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "missed"]
    plt.close(fig)


def test_target_figure_keys_the_classes_in_view_and_has_colour_bars():
    import matplotlib.pyplot as plt

    cls = np.zeros((20, 40), np.int64)
    cls[2:5, 2:5], cls[2:5, 30:33] = 1, 3
    energy = (cls > 0).astype(np.int64) * 4
    box = (cls > 0) * 6.0
    fig, axes = plt.subplots(1, 4)
    figures.show_targets(axes, np.full((20, 40), 255, np.uint8), energy, cls, box,
                         ["noteheadBlack", "gClef", "keySharp"], 10, region=(0, 0, 20, 20))
    key = [t.get_text() for t in axes[2].get_legend().get_texts()]
    assert key == ["noteheadBlack"]  # keySharp lies outside the zoom, gClef is absent
    bars = [child for ax in axes for child in ax.child_axes]  # under energy and box map
    assert [b.get_xlabel() for b in bars] == ["energy level", "box height (px)"]
    plt.close(fig)


def test_page_figures_draw_what_they_say():
    tiny_dataset = small_dataset()
    fig = figures.example_page(tiny_dataset)
    assert len(fig.axes) == 3 and "symbols" in fig.axes[0].get_title()
    frames = [p for p in fig.axes[0].patches if p.get_edgecolor()[:3] == (1.0, 0.0, 0.0)]
    assert len(frames) == 1  # the red zoom frame
    stats = PageStatistics.of(tiny_dataset.annotations(), tiny_dataset.interline)
    fig = figures.class_statistics(stats)
    assert len(fig.axes[0].patches) == len(stats.frequency)  # one bar per class
    plt.close("all")


def test_training_figures_draw_every_curve():
    history = History([{"epoch": e, "train_loss": 4.0 / e, "loss_e": 1.0 / e, "loss_c": 2.0 / e,
                        "loss_b": 0.5 / e} for e in range(1, 5)])
    fig = figures.detector_losses(history)
    assert [line.get_label() for line in fig.axes[0].lines] == ["energy", "class",
                                                                "box (log size)"]
    patches = Patches(np.full((3, 8, 6), 255, np.uint8), np.array([0, 1, 1]), ("a", "b"),
                      pd.DataFrame({"page": ["p"] * 3}))
    fig = figures.test_patches(patches, np.array([0, 0, 1]), [0, 1])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert fig.axes[1].title.get_color() != fig.axes[0].title.get_color()  # wrong vs right
    plt.close("all")


def test_detection_figures():
    image = np.full((60, 80), 255, np.uint8)
    page = Page("p", 80, 60, [Symbol("a", (0, 0, 10, 10), 1), Symbol("z", (20, 0, 30, 10), 2)])
    fig = figures.detections(image, page, [Detection("a", (0, 0, 10, 10), 0.9)], ["a"],
                             (0, 0, 40, 40))
    assert "1 true positives" in fig.axes[0].get_title()  # the unknown class z is not drawn
    table = pd.DataFrame({"train": [5, 3, 1], "test": [2, 0, 1], "AP50": [0.9, np.nan, 0.1],
                          "AP25": [1.0, np.nan, 0.2]}, index=["a", "b", "c"])
    fig = figures.ap_bars(table)
    assert len(fig.axes[0].patches) == 4  # two classes with test symbols, two bars each
    fig = figures.training_targets(image, page, ["a", "z"], 10, (0, 0, 40, 40))
    assert len(fig.axes) >= 4
    plt.close("all")


def test_schedule_figure_marks_the_stages():
    def history(values):
        return History([{"epoch": e, "loss_e": v, "loss_c": v} for e, v in
                        enumerate(values, 1)])

    class Comparison:
        stages = (("e", 30), ("c", 15), ("b", 15), ("e", 10), ("tot", 30))

        def histories(self):
            return {"joint": history([1.0] * 10), "paper": history([2.0] * 10)}

        def stage_ends(self):
            return np.array([3.5, 5.0, 6.5, 7.5, 10.5])

    fig = figures.schedule_losses(Comparison())
    dotted = [line for line in fig.axes[0].lines if line.get_linestyle() == ":"]
    assert len(dotted) == 4  # a line where each stage but the last ends
    assert [t.get_text() for t in fig.axes[0].texts] == ["e", "c", "b", "e", "tot"]
    plt.close("all")

"""Pictures of the DeepScores chapter: pages with their boxes, DWD target maps, detections
against the ground truth, and where each class's symbols went."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle

from dlwild.core import plots
from dlwild.deepscores.annotations import Box, Page, Symbol, class_counts
from dlwild.deepscores.dwd_targets import TargetConfig, class_index, make_targets
from dlwild.deepscores.evaluate import Detection, iou

if TYPE_CHECKING:  # pragma: no cover
    from dlwild.core.history import History
    from dlwild.deepscores.classify import Patches
    from dlwild.deepscores.dataset import EngravedDataset
    from dlwild.deepscores.detector import ScheduleComparison
    from dlwild.deepscores.stats import PageStatistics

Region = tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels


def class_colors(classes: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """A distinct colour per class (tab20, cycling)."""
    cmap = plt.get_cmap("tab20")
    return {name: cmap(i % 20) for i, name in enumerate(classes)}


def match(truth: Sequence[Symbol], detections: Sequence[Detection],
          threshold: float = 0.5) -> tuple[list[bool], list[bool]]:
    """Greedy matching as in AP: detections by falling score, each to the unmatched ground
    truth object of its class with the highest IoU >= ``threshold``. Returns (detection is a
    true positive, ground truth object was found), both in input order."""
    found = [False] * len(truth)
    hit = [False] * len(detections)
    for k in sorted(range(len(detections)), key=lambda i: -detections[i].score):
        det = detections[k]
        best, best_iou = -1, threshold
        for j, obj in enumerate(truth):
            if found[j] or obj.cls != det.cls:
                continue
            value = iou(det.bbox, obj.bbox)
            if value >= best_iou:
                best, best_iou = j, value
        if best >= 0:
            found[best] = hit[k] = True
    return hit, found


def _inside(box: Box, region: Region | None) -> bool:
    if region is None:
        return True
    x0, y0, x1, y1 = region
    return box[2] > x0 and box[0] < x1 and box[3] > y0 and box[1] < y1


def _frame(ax: Axes, image: np.ndarray, region: Region | None) -> None:
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    _frame_only(ax, region)


def _frame_only(ax: Axes, region: Region | None) -> None:
    """Zoom ``ax`` to ``region`` (x0, y0, x1, y1) and hide the ticks."""
    if region is not None:
        ax.set_xlim(region[0], region[2])
        ax.set_ylim(region[3], region[1])
    ax.set_xticks([])
    ax.set_yticks([])


def show_page(ax: Axes, image: np.ndarray, symbols: Sequence[Symbol],
              colors: dict[str, tuple[float, ...]], *, region: Region | None = None,
              oriented: bool = False, lw: float = 0.8) -> None:
    """The page image with every symbol's box (oriented boxes with ``oriented``), coloured by
    class (classes without a colour in grey), zoomed to ``region``."""
    _frame(ax, image, region)
    for s in symbols:
        if not _inside(s.bbox, region):
            continue
        color = colors.get(s.cls, (0.6, 0.6, 0.6, 1.0))
        if oriented and s.obbox is not None:
            ax.add_patch(Polygon(np.asarray(s.obbox).reshape(4, 2), closed=True, fill=False,
                                 ec=color, lw=lw))
        else:
            x0, y0, x1, y1 = s.bbox
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=color, lw=lw))


#: Colours of :func:`show_detections`: correct and false detections solid, misses dashed.
DETECTION_STYLE = {
    "correct detection": {"ec": "#009E73", "ls": "-"},   # bluish green
    "false detection": {"ec": "#E41A1C", "ls": "-"},     # red
    "missed symbol": {"ec": "#0072B2", "ls": "--"},      # blue, dashed
}


def detection_handles(lw: float = 1.5) -> list[Line2D]:
    """Legend entries for the three kinds of box :func:`show_detections` draws."""
    return [Line2D([], [], color=style["ec"], ls=style["ls"], lw=lw, label=label)
            for label, style in DETECTION_STYLE.items()]


def show_detections(ax: Axes, image: np.ndarray, truth: Sequence[Symbol],
                    detections: Sequence[Detection], *, region: Region | None = None,
                    threshold: float = 0.5, legend: bool = False) -> dict[str, int]:
    """Detections over the ground truth (:data:`DETECTION_STYLE`): true positives green, false
    positives red, missed objects as dashed blue boxes (matched at IoU ``threshold``; objects of
    classes the detector does not know are not drawn). With ``legend`` a key to the three
    colours goes under the axes. Returns the counts over the whole page."""
    hit, found = match(truth, detections, threshold)
    _frame(ax, image, region)
    missed = DETECTION_STYLE["missed symbol"]
    for obj, ok in zip(truth, found, strict=True):
        if not ok and _inside(obj.bbox, region):
            x0, y0, x1, y1 = obj.bbox
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.0, **missed))
    for det, ok in zip(detections, hit, strict=True):
        if _inside(det.bbox, region):
            x0, y0, x1, y1 = det.bbox
            style = DETECTION_STYLE["correct detection" if ok else "false detection"]
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.0, **style))
    if legend:
        ax.legend(handles=detection_handles(), loc="upper center", bbox_to_anchor=(0.5, -0.01),
                  ncol=len(DETECTION_STYLE), frameon=False, fontsize=9)
    return {"true positives": sum(hit), "false positives": len(hit) - sum(hit),
            "missed": len(found) - sum(found)}


def show_targets(axes: Sequence[Axes], image: np.ndarray, energy: np.ndarray, cls: np.ndarray,
                 box_height: np.ndarray, classes: Sequence[str], e_max: int, *,
                 region: Region | None = None) -> None:
    """DWD's training targets on four axes: the input, the energy levels 0..``e_max`` - 1 and
    the box map (height, px) each with a colour bar, and the class map (ids 1.. in the order of
    ``classes``, 0 = background left blank) with a key to the classes seen in ``region``."""
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    ax_in, ax_e, ax_c, ax_b = axes
    _frame(ax_in, image, region)
    ax_in.set_title("input (working scale)")
    levels = ax_e.imshow(energy, cmap="magma", vmin=-0.5, vmax=e_max - 0.5,
                         interpolation="nearest")
    bar = _colour_bar_below(ax_e, levels, "energy level")
    bar.set_ticks(sorted({0, (e_max - 1) // 2, e_max - 1}))
    ax_e.set_title(f"energy levels 0..{e_max - 1}")
    palette = [plt.get_cmap("tab10")(i % 10) for i in range(len(classes))]
    ids = np.ma.masked_equal(cls, 0)
    ax_c.imshow(ids, cmap=ListedColormap(palette),
                norm=BoundaryNorm(np.arange(0.5, len(classes) + 1), len(classes)),
                interpolation="nearest")
    ax_c.set_title("class map")
    window = cls if region is None else cls[region[1]:region[3], region[0]:region[2]]
    seen = [k for k in range(1, len(classes) + 1) if (window == k).any()]
    ax_c.legend(handles=[Patch(color=palette[k - 1], label=classes[k - 1]) for k in seen],
                loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=2, frameon=False,
                fontsize=7, handlelength=1.0, columnspacing=0.8)
    heights = np.ma.masked_equal(box_height, 0)
    sizes = ax_b.imshow(heights, cmap="viridis", interpolation="nearest")
    _colour_bar_below(ax_b, sizes, "box height (px)")
    ax_b.set_title("box map (height, px)")
    for ax in (ax_e, ax_c, ax_b):
        _frame_only(ax, region)


def _colour_bar_below(ax: Axes, mappable, label: str):
    """A horizontal colour bar under ``ax``, as wide as it (so the panel keeps its size)."""
    cax = ax.inset_axes((0.05, -0.1, 0.9, 0.05))
    bar = ax.figure.colorbar(mappable, cax=cax, orientation="horizontal")
    bar.ax.tick_params(labelsize=7)
    bar.set_label(label, fontsize=8)
    return bar


def show_confusions(ax: Axes, counts) -> None:
    """Heat map of :func:`~dlwild.deepscores.evaluate.confusions` (a DataFrame of counts): the
    colour is each cell's share of its row (a class's symbols), the number is the count."""
    values = counts.to_numpy()
    share = values / np.maximum(values.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for (i, j), n in np.ndenumerate(values):
        if n:
            ax.text(j, i, f"{n:,}", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(values.shape[1]), list(counts.columns), rotation=45, ha="right",
                  fontsize=8)
    ax.set_yticks(range(values.shape[0]), list(counts.index), fontsize=8)
    ax.set(xlabel="detected as", ylabel="true class")
    ax.grid(False)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("share of the class's symbols", fontsize=8)


# --- the chapter's figures, each from the result it shows ------------------------------

#: The zoom of the page figures: a region of the first system, in pixels at the 10 px interline.
EXAMPLE_REGION: Region = (40, 180, 640, 520)


def scaled_region(region: Region, factor: float) -> Region:
    """``region`` in the pixels of a page scaled by ``factor``."""
    x0, y0, x1, y1 = region
    return (int(x0 * factor), int(y0 * factor), int(x1 * factor), int(y1 * factor))


def example_page(dataset: EngravedDataset, region: Region = EXAMPLE_REGION) -> Figure:
    """The first test page with its boxes (coloured by class, in order of training
    frequency), a zoom of ``region`` (framed in red), and the class mask of the same zoom."""
    example = dataset.test[0]
    zoom = scaled_region(region, dataset.interline / 10.0)
    colors = class_colors(list(class_counts([p.page for p in dataset.train])))
    fig, unused = plots.figure(figsize=(12, 8.4))
    unused.remove()
    grid = fig.add_gridspec(2, 2, width_ratios=(0.8, 1))
    big, top, bottom = (fig.add_subplot(grid[:, 0]), fig.add_subplot(grid[0, 1]),
                        fig.add_subplot(grid[1, 1]))
    page = example.page
    show_page(big, example.image, page.symbols, colors)
    big.add_patch(Rectangle(zoom[:2], zoom[2] - zoom[0], zoom[3] - zoom[1], fill=False,
                            ec="red", lw=1.5))
    big.set_title(f"{page.piece} ({page.font}), {len(page.symbols)} symbols")
    show_page(top, example.image, page.symbols, colors, region=zoom)
    top.set_title("zoom (red frame): aligned boxes, colour = class")
    bottom.imshow(example.image, cmap="gray", vmin=0, vmax=255)
    bottom.imshow(np.ma.masked_equal(example.class_mask, 0) % 20, cmap="tab20",
                  interpolation="nearest", alpha=0.9)
    _frame_only(bottom, zoom)
    bottom.set_title("class mask (segmentation), same zoom")
    return fig


def class_statistics(stats: PageStatistics) -> Figure:
    """The long tail (symbols per class, log scale) and the symbol sizes (box area as a share
    of the page)."""
    freq, sizes = stats.frequency, stats.sizes
    fig, axes = plots.figure(1, 2, figsize=(12, 3.8), width_ratios=(2, 1))
    axes[0].bar(freq["cls"], freq["count"], color="#0072B2")
    axes[0].set(yscale="log", ylabel="symbols (log scale)",
                title=f"Class frequencies on our pages ({len(freq)} classes)")
    axes[0].tick_params(axis="x", rotation=90, labelsize=7)
    axes[1].hist(sizes["area_fraction"] * 100, bins=np.logspace(-4, 0.5, 40), color="#D55E00")
    axes[1].set(xscale="log", xlabel="box area, % of the page", ylabel="symbols",
                title="Symbol sizes")
    return fig


def test_patches(patches: Patches, predicted: np.ndarray, shown: Sequence[int]) -> Figure:
    """Test patches ``shown`` (indices), titled with their class: green when ``predicted``
    right, orange when not."""
    fig, axes = plots.figure(1, len(shown), figsize=(13, 2.8))
    for ax, i in zip(np.atleast_1d(axes), shown, strict=True):
        ax.imshow(patches.images[i], cmap="gray", vmin=0, vmax=255)
        right = predicted[i] == patches.labels[i]
        ax.set_title(patches.classes[patches.labels[i]], fontsize=7,
                     color="#009E73" if right else "#D55E00")
        ax.set(xticks=[], yticks=[])
    fig.suptitle("Test patches (title: true class; green = classified correctly)")
    return fig


def training_targets(image: np.ndarray, page: Page, classes: Sequence[str], e_max: int,
                     region: Region) -> Figure:
    """DWD's targets of one page (image at the working scale), zoomed to ``region``."""
    targets = make_targets(page, image.shape, class_index(classes), TargetConfig(e_max=e_max))
    fig, axes = plots.figure(1, 4, figsize=(13, 4.2))
    show_targets(axes, image, targets.energy, targets.cls, targets.box[0], classes, e_max,
                 region=region)
    fig.suptitle("Training targets of a test page (zoom; class key: the classes in view)")
    return fig


def detector_losses(history: History) -> Figure:
    """The three losses on held-out crops per epoch, and the training objective."""
    frame = history.to_frame()
    fig, axes = plots.figure(1, 2, figsize=(11, 3.6))
    for name, label in (("loss_e", "energy"), ("loss_c", "class"), ("loss_b", "box (log size)")):
        axes[0].plot(frame.index, frame[name], marker="o", ms=3, label=label)
    axes[0].set(yscale="log", xlabel="epoch", ylabel="loss on held-out crops",
                title="DWD: the three losses on crops of the test pieces")
    axes[0].legend()
    axes[1].plot(frame.index, frame["train_loss"], marker="o", ms=3, color="#555555")
    axes[1].set(xlabel="epoch", ylabel="training loss",
                title="training objective (each loss / its running mean)")
    return fig


def detections(image: np.ndarray, page: Page, found: Sequence[Detection],
               classes: Sequence[str], region: Region) -> Figure:
    """Detections over the ground truth of the learnt ``classes`` on one page, whole and
    zoomed to ``region`` (with the key under the zoom)."""
    known = [s for s in page.symbols if s.cls in classes]
    fig, axes = plots.figure(1, 2, figsize=(12.5, 5.6), width_ratios=(0.7, 1.8))
    counts = show_detections(axes[0], image, known, found)
    axes[0].set_title(f"{page.piece} ({page.font}): "
                      + ", ".join(f"{v} {k}" for k, v in counts.items()), fontsize=9)
    show_detections(axes[1], image, known, found, region=region, legend=True)
    axes[1].set_title("zoom")
    return fig


def ap_bars(table: pd.DataFrame) -> Figure:
    """AP at IoU 0.5 and 0.25 per class with test symbols, most frequent first (the
    detector's AP table: ``train``, ``test``, ``AP50``, ``AP25``)."""
    by = "train" if "train" in table else "test"
    present = table[table["test"] > 0].sort_values(by, ascending=False)
    fig, ax = plots.figure(figsize=(10, 3.8))
    where = np.arange(len(present))
    ax.bar(where - 0.2, present["AP50"], 0.4, color="#0072B2", label="AP at IoU 0.5")
    ax.bar(where + 0.2, present["AP25"], 0.4, color="#D55E00", label="AP at IoU 0.25")
    ax.set_xticks(where, [f"{name}\n({n:,.0f})" for name, n in present[by].items()],
                  rotation=45, ha="right", fontsize=8)
    ax.set(ylim=(0, 1.05), ylabel="average precision",
           title=f"AP per class, most frequent first ({by} symbols in brackets)")
    ax.legend(loc="upper right")
    return fig


def confusion_figure(counts: pd.DataFrame) -> Figure:
    """Where the test symbols went (:func:`show_confusions` with its title)."""
    fig, ax = plots.figure(figsize=(9, 4.6))
    show_confusions(ax, counts)
    ax.set_title("Where the test symbols went (best-overlapping detection at IoU 0.5)")
    return fig


def schedule_losses(comparison: ScheduleComparison) -> Figure:
    """Held-out energy and class loss per epoch for each schedule of a live run
    (:func:`losses_by_schedule`)."""
    return losses_by_schedule(comparison.histories(), comparison.stages,
                              list(comparison.stage_ends()))


def losses_by_schedule(histories: Mapping[str, History],
                       stages: Sequence[tuple[str, int]], ends: Sequence[float]) -> Figure:
    """Held-out energy and class loss per epoch for each schedule, with dotted lines at
    ``ends``, where the staged schedule switches loss, and the ``stages``' names over the
    first panel."""
    ends = list(ends)
    fig, axes = plots.figure(1, 2, figsize=(11, 3.6))
    for ax, loss, label in ((axes[0], "loss_e", "energy"), (axes[1], "loss_c", "class")):
        for name, history in histories.items():
            frame = history.to_frame()
            ax.plot(frame.index, frame[loss], marker="o", ms=3, label=name)
        ax.set(yscale="log", xlabel="epoch", ylabel=f"held-out {label} loss",
               title=f"{label} loss by schedule")
        for end in ends[:-1]:
            ax.axvline(end, color="#999999", ls=":", lw=1)
    starts = [0.5, *ends[:-1]]
    for (stage, _), a, b in zip(stages, starts, ends, strict=True):
        axes[0].text((a + b) / 2, 1.02, stage, transform=axes[0].get_xaxis_transform(),
                     ha="center", fontsize=9, color="#555555")
    axes[0].set_title(axes[0].get_title(), pad=16)
    axes[1].legend()
    return fig

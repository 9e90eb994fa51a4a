"""Pictures of the DeepScores chapter: pages with their boxes, DWD target maps, detections
against the ground truth, and where each class's symbols went."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle

from dlwild.deepscores.annotations import Box, Symbol
from dlwild.deepscores.evaluate import Detection, iou

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

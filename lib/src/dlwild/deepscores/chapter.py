"""The DeepScores chapter's declaration (see :mod:`dlwild.core.chapter`)."""

from __future__ import annotations

from dlwild.core.chapter import Chapter, Param, TryThis
from dlwild.deepscores.classes import FONTS
from dlwild.deepscores.settings import (
    PAPER_SIZED,
    SCHEDULES,
    SETTINGS,
    TRAINING_CODE,
    parse_eval_pages,
)


def _known_fonts(fonts: list[str]) -> None:
    if not fonts or len(set(fonts)) != len(fonts) or any(f not in FONTS for f in fonts):
        raise ValueError(f"fonts must be a non-empty list of distinct fonts from "
                         f"{', '.join(FONTS)}")


CHAPTER = Chapter(
    name="deepscores",
    title="DeepScores and the Deep Watershed Detector",
    topic="Music scanning: tiny objects on large pages",
    summary="a DeepScores-style data set engraved from real scores, symbol classification, "
            "the one-stage Deep Watershed Detector",
    papers=("tuggener2018deepscores", "tuggener2018dwd", "elezi2018worms",
            "tuggener2020deepscoresv2"),
    params={
        "fonts": Param(None, list, "Verovio fonts to engrave in; None: the scale's",
                       items=str, optional=True, check=_known_fonts),
        "pages": Param(None, int, "about how many pages to engrave (whole pieces); None: the "
                       "scale's", between=(2, 100_000), optional=True),
        "eval_pages": Param(None, str, "real DeepScores pages to evaluate the detector on: "
                            "'deepscores_v2:<file.json>' (or a folder holding one .json) or "
                            "'deepscores_v1:<folder>'", optional=True, check=parse_eval_pages),
        "schedule": Param("joint", str, "'joint' (all losses from the start) or the paper's "
                          "staged 'paper' (e, c, b, e, tot)", choices=SCHEDULES),
        "protocol": Param("book", str, "'book': the scale's settings; 'paper': the papers' "
                          "sizes (every corpus piece, 2 x 30,000 steps on 512 x 512 crops, "
                          "the 25-layer classifier), a GPU's job", choices=("book", "paper")),
    },
    settings=SETTINGS,
    protocols={"paper": PAPER_SIZED},
    data_modes=("auto", "real"),
    data_help="the pages are engraved here from music21's bundled corpus, always at hand, so "
              "auto and real are the same; the chapter has no generator",
    training_code=TRAINING_CODE,
    goals=(
        "build a data set of music pages with exact symbol annotations by engraving real "
        "scores, and measure its long tail of classes and its tiny objects",
        "train a residual CNN that classifies symbol patches seen with their context",
        "train the Deep Watershed Detector's energy, class and box heads and decode its "
        "output into detections by cutting the energy map",
        "evaluate detections by average precision per class and relate it to how frequent "
        "and how small a symbol is",
    ),
    prerequisites=(
        "Convolutional neural networks for images (convolution, pooling, residual blocks)",
        "Object detection and its average precision (AP at an IoU threshold)",
    ),
    try_this=(
        TryThis("schedule=paper", watch="the schedule comparison and the learning curves",
                expect="the staged schedule trains the heads one after another; at quick "
                       "scale it stays below the joint schedule's AP, and its energy loss "
                       "jumps during the class and box stages"),
        TryThis("fonts=['Leipzig']", watch="the data-set table and the detector's AP",
                expect="one font gives fewer, more uniform pages: the AP on its own font "
                       "rises or holds while the data set shrinks"),
        TryThis("seed=1", watch="the split of pieces and the paper-vs-ours table",
                expect="another split of training and test pieces: the relations hold, the "
                       "last digits of the APs move"),
    ),
)

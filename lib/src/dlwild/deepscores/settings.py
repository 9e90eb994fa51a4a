"""The DeepScores chapter's knobs: its settings per scale, the detector's training schedules,
the code its trained networks depend on, and what ``eval_pages`` accepts. Light on purpose
(no torch): the chapter's declaration imports it before any kernel starts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: The code a trained network depends on (its artifact key): editing claims, statistics,
#: evaluation, decoding, figures or the chapter's orchestration retrains nothing.
TRAINING_CODE = ("dlwild.deepscores.dwd", "dlwild.deepscores.dwd_targets",
                 "dlwild.deepscores.dwd_loss", "dlwild.deepscores.classify",
                 "dlwild.deepscores.annotations", "dlwild.core.train")
SCHEDULES = ("joint", "paper")
OPTIMIZERS = ("adam", "rmsprop")
EVAL_FORMATS = ("deepscores_v1", "deepscores_v2")

PAPER_LIKE: dict[str, Any] = {"width": 40, "blocks": (2, 3, 4, 3)}
"""A :class:`~dlwild.deepscores.classify.SymbolResNet` like the paper's baseline: 1 + 2 * 12 =
25 conv layers (plus three 1x1 shortcut convs), ~7.3M parameters with 20 classes."""


@dataclass(frozen=True)
class Settings:
    """How big one run is. ``full`` follows the papers as far as one GPU allows; ``quick`` is
    a few minutes on 2 CPU cores.

    Data: ``pieces`` pieces of music21's corpus for ``corpus`` ("bach": the Bach chorales;
    "all": every composer, at most ``per_composer`` of each and ``max_pages_per_piece`` pages
    of each piece; None: no limit), engraved in ``fonts`` at an interline of ``interline``
    px, split by piece. Detector: works on pages rescaled by
    ``detector_scale`` (relative to the engraver's 10 px interline), learns the
    ``detector_classes`` most frequent training classes from random ``crop`` crops
    (``crops_per_page`` per page and pass over the pages; a share ``focus`` of them
    class-balanced, see :class:`~dlwild.deepscores.dwd_targets.DWDCrops`) for ``steps``
    iterations of batch 1 in epochs of at most ``epoch_crops`` crops (None: a pass; on
    thousands of pages a pass is hours, without a checkpoint or a point of the learning curve),
    watched on ``val_crops`` crops per test page, evaluated on ``detector_test_pages`` test
    pages spread over pieces and fonts (None: all; see ``detector.test_sample``).
    Classifier: the ``classifier_classes`` most frequent classes, at most
    ``patches_per_class`` patches each, 220 x 120 patches (at the 10 px interline) scaled
    to ``patch_size``, in batches of ``classifier_batch``, on ``classifier_threads`` CPU
    threads (None: torch's choice).
    """

    pieces: int | None
    fonts: tuple[str, ...]
    detector_scale: float
    detector_classes: int
    crop: tuple[int, int]
    crops_per_page: int
    steps: int
    width: int
    optimizer: str
    lr: float
    classifier_classes: int
    patches_per_class: int
    patch_size: tuple[int, int]
    classifier_epochs: int
    classifier_width: int
    classifier_blocks: tuple[int, ...]
    e_max: int = 10
    focus: float = 0.0
    interline: float = 10.0
    val_crops: int = 2
    classifier_batch: int = 64
    classifier_threads: int | None = None
    detector_test_pages: int | None = None
    corpus: str = "bach"
    per_composer: int | None = None
    max_pages_per_piece: int | None = None
    epoch_crops: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON values (for the results record)."""
        return json.loads(json.dumps(asdict(self)))


#: The papers' protocol as far as one GPU allows: every piece of the corpus the engraver
#: handles in all five fonts, pages at the engraver's interline of 10 px (DWD's DeepScores
#: setting), 20 classes as in ISMIR 2018 Table 1, 512 x 512 crops and 2 x 30,000 detector
#: steps; the paper-like 25-layer patch classifier. Not the book's full scale: on the 2-core
#: machine a detector step takes ~7 s and a classifier step ~40 s (benchmarks/deepscores.py),
#: over 150 hours; a GPU runs it with ``dlwild run deepscores -p protocol=paper``.
PAPER_SIZED = Settings(
    pieces=None, fonts=("Leipzig", "Bravura", "Gootville", "Leland", "Petaluma"),
    detector_scale=1.0, detector_classes=20, crop=(512, 512), crops_per_page=4,
    steps=30_000, width=32, optimizer="adam", lr=1e-3, classifier_classes=40,
    patches_per_class=3000, patch_size=(220, 120), classifier_epochs=10,
    classifier_width=PAPER_LIKE["width"], classifier_blocks=PAPER_LIKE["blocks"],
    focus=0.5, corpus="all")

SETTINGS = {
    # One sitting of the 2-core machine (benchmarks/deepscores.py forecasts it; a record must
    # be made in one, since the machine's disk starts empty each time): the papers' protocol
    # where it matters -- pages at the engraver's interline of 10 px, the 20 classes of ISMIR
    # 2018 Table 1, the staged and the joint schedule, 220 x 120 context patches, five fonts,
    # composers and eras beyond the chorales -- scaled down where one sitting does not reach:
    # at most 40 pieces per composer and 4 pages per piece (music21's corpus holds 1,318
    # Palestrina movements among ~2,000 scores, some of 20 pages), a detector 16 channels wide
    # on 256 x 256 crops for 2 x 6,250 steps (the paper: 32 wide, 512 x 512, 2 x 30,000; a
    # step here 0.3 s against ~7 s) in 5 epochs of 1,250 crops (one pass over the ~2,800
    # training pages' 4 crops each would be a single epoch of over an hour: no learning curve,
    # and nothing kept when a run stops in it), a classifier 16 channels wide with 3 residual
    # blocks on 800 patches per class for 2 epochs (the paper-like one: 40 wide, 12 blocks,
    # 3,000 patches, 10 epochs; a step 1.4 s against ~40 s), and the detectors evaluated on 60
    # of the ~1,000 test pages, spread over pieces and fonts (a full page through the 16-wide
    # detector takes ~10 s). Forecast (December 2026, AMD EPYC, 2 cores): 2.1 h (engraving
    # 0.26 h, detectors 1.08 h, classifier 0.39 h, detection 0.34 h); the sizes before (2 x
    # 10,000 steps, 3 classifier epochs, 100 test pages) forecast 3.2 h on the same machine.
    # Measured by the committed record (3 December 2026, same machine): about 2.7 h of CPU --
    # engraving ~0.5 h, loading the 5.6 GB of pages 0.2 h, classifier 0.35 h, detectors
    # 1.45 h (0.40-0.42 s a step), detection 4.4 s a test page; the kernel peaks at ~12.5 GB.
    "full": Settings(
        pieces=None, fonts=PAPER_SIZED.fonts, detector_scale=1.0, detector_classes=20,
        crop=(256, 256), crops_per_page=4, steps=6_250, width=16, optimizer="adam",
        lr=1e-3, classifier_classes=40, patches_per_class=800, patch_size=(220, 120),
        classifier_epochs=2, classifier_width=16, classifier_blocks=(1, 1, 1), focus=0.5,
        detector_test_pages=60, corpus="all", per_composer=40, max_pages_per_piece=4,
        epoch_crops=1250),
    # About four minutes on 2 CPU cores with a cold cache (870 s with the settings before:
    # 12 chorales, a 16-wide detector trained twice for 800 steps on 192 x 192 crops, a
    # 6-block classifier on 400 patches per class). 10 chorales in two fonts, engraved in
    # worker processes; the classifier 12 channels wide with 3 residual blocks on 200
    # patches per class in batches of 16 (macro accuracy 0.98, was 0.96, at a third of the
    # cost); the detectors 8 channels wide, 600 steps on 128 x 128 crops at half scale
    # (interline 5 px), three quarters of the crops class-balanced (on 12 chorales, half
    # gave mean AP@0.5 0.16 and 2 of 10 classes found, three quarters 0.23 and 3 of 10), the
    # two of them side by side in two processes. The classifier trains on one thread: on a
    # 2-core machine that others use too, two threads took 272 s of CPU for what one thread
    # does in 47 s (each waits for the other's descheduled thread).
    "quick": Settings(
        pieces=10, fonts=("Leipzig", "Bravura"), detector_scale=0.5, detector_classes=10,
        crop=(128, 128), crops_per_page=2, steps=600, width=8, optimizer="adam", lr=1e-3,
        classifier_classes=20, patches_per_class=200, patch_size=(56, 32),
        classifier_epochs=5, classifier_width=12, classifier_blocks=(1, 1, 1), focus=0.75,
        val_crops=1, classifier_batch=16, classifier_threads=1),
}


def parse_eval_pages(spec: str) -> tuple[str, Path]:
    """(format, path) of an ``eval_pages`` value: ``"deepscores_v2:<file.json>"`` (or a folder
    holding exactly one ``.json`` annotation file, which is taken) or
    ``"deepscores_v1:<folder>"``; else a ValueError that says what is wanted (the declaration's
    check of the ``eval_pages`` parameter)."""
    kind, sep, path = str(spec).partition(":")
    if not sep or kind not in EVAL_FORMATS or not path:
        raise ValueError(f"eval_pages must be None, 'deepscores_v2:<file.json>' or "
                         f"'deepscores_v1:<folder>', got {spec!r}")
    where = Path(path).expanduser()
    if not where.exists():
        raise ValueError(f"eval_pages: {where} does not exist")
    if kind == "deepscores_v1" and not where.is_dir():
        raise ValueError(f"eval_pages: deepscores_v1 takes the data set's folder (with "
                         f"xml_annotations/), but {where} is a file")
    if kind == "deepscores_v2" and where.is_dir():
        found = sorted(p for p in where.glob("*.json") if p.is_file())
        if len(found) != 1:
            listed = ", ".join(p.name for p in found) or "none"
            raise ValueError(f"eval_pages: deepscores_v2 takes the JSON annotation file "
                             f"('deepscores_v2:<file.json>'); the folder {where} holds "
                             f"{len(found)} .json files ({listed}), so name one")
        where = found[0]
    return kind, where


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]} × {size[1]}"


def _corpus(s: Settings) -> str:
    if s.corpus == "bach":
        text = "every chorale" if s.pieces is None else f"{s.pieces} chorales"
    else:
        text = ("the pieces of every composer" if s.pieces is None
                else f"{s.pieces} pieces of every composer")
    limits = [f"at most {s.per_composer} per composer"] if s.per_composer else []
    limits += [f"{s.max_pages_per_piece} pages each"] if s.max_pages_per_piece else []
    return text + (f" ({', '.join(limits)})" if limits else "")


def scale_note(scale: str, protocol: str = "book") -> str:
    """What a run at ``scale`` scales down against the full scale, and the full scale against
    the papers' protocol (:data:`PAPER_SIZED`), in words (for the page)."""
    if protocol == "paper":
        return "nothing: this run follows the papers' sizes (the protocol parameter)"
    s, full = SETTINGS[scale], SETTINGS["full"]
    if s == full:
        return ("against the papers' protocol: " + _against(full, PAPER_SIZED, "paper")
                + "; the settings of the committed record")
    return _against(s, full, "full")


def _against(s: Settings, full: Settings, name: str) -> str:
    parts = [f"{_corpus(s)} in {len(s.fonts)} fonts ({name}: {_corpus(full)} in "
             f"{len(full.fonts)})"]
    if s.interline != full.interline:
        parts.append(f"pages rasterised at an interline of {s.interline:g} px ({name}: "
                     f"{full.interline:g} px)")
    parts.append(
        f"a classifier {s.classifier_width} channels wide with {sum(s.classifier_blocks)} "
        f"residual blocks, trained for {s.classifier_epochs} epochs on at most "
        f"{s.patches_per_class:,} patches per class scaled to {_size(s.patch_size)} px ({name}: "
        f"{full.classifier_width} channels, {sum(full.classifier_blocks)} blocks, "
        f"{full.classifier_epochs} epochs, {full.patches_per_class:,} patches of "
        f"{_size(full.patch_size)} px)")
    resolution = s.interline * s.detector_scale
    full_resolution = full.interline * full.detector_scale
    parts.append(
        f"detectors {s.width} channels wide learning the {s.detector_classes} most frequent "
        f"classes in {s.steps:,} steps on {_size(s.crop)} crops at an interline of "
        f"{resolution:g} px ({name}: {full.width} channels, {full.detector_classes} classes, "
        f"{full.steps:,} steps, {_size(full.crop)} crops at {full_resolution:g} px)")
    if s.detector_test_pages != full.detector_test_pages:
        def pages(n: int | None) -> str:
            return "every test page" if n is None else f"{n} test pages"
        parts.append(f"the detectors evaluated on {pages(s.detector_test_pages)} ({name}: "
                     f"{pages(full.detector_test_pages)})")
    return "; ".join(parts)

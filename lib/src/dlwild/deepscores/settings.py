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

    Data: ``pieces`` music21 Bach chorales (None: all), engraved in ``fonts`` at an interline
    of ``interline`` px, split by piece. Detector: works on pages rescaled by
    ``detector_scale`` (relative to the engraver's 10 px interline), learns the
    ``detector_classes`` most frequent training classes from random ``crop`` crops
    (``crops_per_page`` per page and epoch; a share ``focus`` of them class-balanced, see
    :class:`~dlwild.deepscores.dwd_targets.DWDCrops`) for ``steps`` iterations of batch 1,
    watched on ``val_crops`` crops per test page. Classifier: the ``classifier_classes`` most
    frequent classes, at most ``patches_per_class`` patches each, 220 x 120 patches (at the
    10 px interline) scaled to ``patch_size``, in batches of ``classifier_batch``, on
    ``classifier_threads`` CPU threads (None: torch's choice).
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

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON values (for the results record)."""
        return json.loads(json.dumps(asdict(self)))


SETTINGS = {
    # One GPU: every chorale the engraver handles in all five fonts, pages at the engraver's
    # interline of 10 px (DWD's DeepScores setting), 20 classes as in ISMIR 2018 Table 1, big
    # crops and tens of thousands of iterations; the paper-like 25-layer patch classifier.
    "full": Settings(
        pieces=None, fonts=("Leipzig", "Bravura", "Gootville", "Leland", "Petaluma"),
        detector_scale=1.0, detector_classes=20, crop=(512, 512), crops_per_page=4,
        steps=30_000, width=32, optimizer="adam", lr=1e-3, classifier_classes=40,
        patches_per_class=3000, patch_size=(220, 120), classifier_epochs=10,
        classifier_width=PAPER_LIKE["width"], classifier_blocks=PAPER_LIKE["blocks"],
        focus=0.5),
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


def scale_note(scale: str) -> str:
    """What a run at ``scale`` scales down against the full scale, in words (for the page)."""
    s, full = SETTINGS[scale], SETTINGS["full"]
    if s == full:
        return "nothing: this is the full scale, the settings of the committed record"
    every = "every chorale" if full.pieces is None else f"{full.pieces} chorales"
    pages = f"{s.pieces} chorales" if s.pieces is not None else "every chorale"
    parts = [f"{pages} in {len(s.fonts)} fonts (full: {every} in {len(full.fonts)})"]
    if s.interline != full.interline:
        parts.append(f"pages rasterised at an interline of {s.interline:g} px (full: "
                     f"{full.interline:g} px)")
    parts.append(
        f"a classifier {s.classifier_width} channels wide with {sum(s.classifier_blocks)} "
        f"residual blocks, trained for {s.classifier_epochs} epochs on at most "
        f"{s.patches_per_class:,} patches per class scaled to {_size(s.patch_size)} px (full: "
        f"{full.classifier_width} channels, {sum(full.classifier_blocks)} blocks, "
        f"{full.classifier_epochs} epochs, {full.patches_per_class:,} patches of "
        f"{_size(full.patch_size)} px)")
    resolution = s.interline * s.detector_scale
    full_resolution = full.interline * full.detector_scale
    parts.append(
        f"detectors {s.width} channels wide learning the {s.detector_classes} most frequent "
        f"classes in {s.steps:,} steps on {_size(s.crop)} crops at an interline of "
        f"{resolution:g} px (full: {full.width} channels, {full.detector_classes} classes, "
        f"{full.steps:,} steps, {_size(full.crop)} crops at {full_resolution:g} px)")
    return "; ".join(parts)

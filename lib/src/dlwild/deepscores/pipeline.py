"""The DeepScores chapter end to end: engraved pages, the symbol classifier, the Deep Watershed
Detector and its evaluation (on our pages, or on real DeepScores pages a user has).

The chapter calls these functions; the methods live in the modules beside this one
(``engrave``, ``classify``, ``dwd``, ``evaluate``). Trained networks are cached as artifacts
keyed by the training code, the parameters and the data, so a rerun of an unchanged chapter
skips the training."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from skimage.transform import rescale
from torch import nn

from dlwild.core import cache, train
from dlwild.deepscores import classify, dwd, formats, watershed
from dlwild.deepscores.annotations import AnnotationError, Page, class_counts
from dlwild.deepscores.engrave import (
    INTERLINE_PX,
    EngravedDataset,
    EngravedPage,
    build_dataset,
)
from dlwild.deepscores.evaluate import Detection

#: The code a trained network depends on (its artifact key): editing claims, statistics,
#: evaluation or decoding retrains nothing.
TRAINING_CODE = ("dlwild.deepscores.dwd", "dlwild.deepscores.classify",
                 "dlwild.deepscores.annotations", "dlwild.core.train")
SCHEDULES = ("joint", "paper")
OPTIMIZERS = ("adam", "rmsprop")


@dataclass(frozen=True)
class Settings:
    """How big one run is. ``full`` follows the papers as far as one GPU allows; ``quick`` is
    a few minutes on 2 CPU cores.

    Data: ``pieces`` music21 Bach chorales (None: all), engraved in ``fonts``, split by piece.
    Detector: works on pages rescaled by ``detector_scale`` (the engraver's interline is 10 px),
    learns the ``detector_classes`` most frequent training classes from random ``crop``
    crops (``crops_per_page`` per page and epoch; a share ``focus`` of them class-balanced,
    see :class:`~dlwild.deepscores.dwd.DWDCrops`) for ``steps`` iterations of batch 1.
    Classifier: the ``classifier_classes`` most frequent classes, at most
    ``patches_per_class`` patches each, 220 x 120 page-pixel patches scaled to ``patch_size``.
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


SETTINGS = {
    # One GPU: every chorale the engraver handles in all five fonts, pages at the engraver's
    # interline of 10 px (DWD's DeepScores setting), 20 classes as in ISMIR 2018 Table 1, big
    # crops and tens of thousands of iterations; the paper-like 25-layer patch classifier.
    "full": Settings(
        pieces=None, fonts=("Leipzig", "Bravura", "Gootville", "Leland", "Petaluma"),
        detector_scale=1.0, detector_classes=20, crop=(512, 512), crops_per_page=4,
        steps=30_000, width=32, optimizer="adam", lr=1e-3, classifier_classes=40,
        patches_per_class=3000, patch_size=(220, 120), classifier_epochs=10,
        classifier_width=classify.PAPER_LIKE["width"],
        classifier_blocks=classify.PAPER_LIKE["blocks"], focus=0.5),
    # A few CPU minutes: 12 chorales in two fonts, pages at half scale (interline 5 px),
    # the 10 most frequent classes, 800 crops of 192 x 192 (half of them class-balanced:
    # uniform crops give mean AP@0.5 0.26 and find 3 of 9 test classes, balanced ones 0.35
    # and 6 of 9, at the same cost); patches scaled to 56 x 32.
    "quick": Settings(
        pieces=12, fonts=("Leipzig", "Bravura"), detector_scale=0.5, detector_classes=10,
        crop=(192, 192), crops_per_page=2, steps=800, width=16, optimizer="adam", lr=1e-3,
        classifier_classes=20, patches_per_class=400, patch_size=(56, 32),
        classifier_epochs=6, classifier_width=16, classifier_blocks=(2, 2, 2), focus=0.5),
}


def check_params(fonts: Sequence[str] | None, pages: int | None, schedule: str,
                 eval_pages: str | None) -> None:
    """Refuse bad chapter parameters before anything is engraved or trained."""
    from dlwild.deepscores.engrave import FONTS

    if fonts is not None:
        if isinstance(fonts, str) or not fonts or any(f not in FONTS for f in fonts) or len(
                set(fonts)) != len(fonts):
            raise ValueError(f"fonts must be None or a list of distinct fonts from "
                             f"{', '.join(FONTS)}, got {fonts!r}")
    if pages is not None and (isinstance(pages, bool) or not isinstance(pages, int)
                              or pages < 2):
        raise ValueError(f"pages must be None or an integer >= 2 (a training and a test "
                         f"piece), got {pages!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if eval_pages is not None:
        parse_eval_pages(eval_pages)


def settings_dict(settings: Settings) -> dict[str, Any]:
    """The settings as plain JSON values (for the results record)."""
    return json.loads(json.dumps(asdict(settings)))


# --- data ------------------------------------------------------------------------------

def engraved_dataset(settings: Settings, *, fonts: Sequence[str] | None = None,
                     pieces: int | None = None, seed: int = 0) -> EngravedDataset:
    """The chapter's engraved pages (cached): ``fonts`` and ``pieces`` override the settings'
    (the chapter parameters of the same names)."""
    return build_dataset(n_pieces=pieces if pieces is not None else settings.pieces,
                         fonts=tuple(fonts) if fonts else settings.fonts, seed=seed)


@dataclass(frozen=True)
class Corpus:
    """The real source of the engraved pages, for the results record: music21's corpus
    engraved here by Verovio (``run.use_data`` takes it like a download)."""

    pieces: list[str]
    fonts: list[str]
    pages: int
    music21: str
    verovio: str
    sha256: str

    def record(self) -> dict[str, Any]:
        return {"name": "music21 corpus (Bach chorales)", "pieces": len(self.pieces),
                "fonts": self.fonts, "pages": self.pages, "music21": self.music21,
                "verovio": self.verovio, "sha256": self.sha256,
                "sha256_of": "the engraved data set: its split, every page's annotations and "
                             "pixels (dataset_sha256)",
                "note": "real scores from the corpus shipped with music21, engraved here by "
                        "Verovio; not the DeepScores pages (engraved by LilyPond)"}


def dataset_sha256(dataset: EngravedDataset) -> str:
    """A checksum of the engraved data set as the chapter uses it: the build parameters, the
    train/test pieces, and per page (in order) its side, annotations (every symbol's class and
    boxes) and the bytes of its image, class mask and instance mask. Two runs that engraved the
    same pages and split them alike print the same value."""
    digest = hashlib.sha256()
    head = {"params": dataset.params, "train_pieces": dataset.train_pieces,
            "test_pieces": dataset.test_pieces}
    digest.update(json.dumps(head, sort_keys=True).encode())
    for side, pages in (("train", dataset.train), ("test", dataset.test)):
        for engraved in pages:
            page = engraved.page
            digest.update(json.dumps(
                {"side": side, "id": page.id, "size": [page.width, page.height],
                 "symbols": [[s.cls, list(s.bbox), None if s.obbox is None else list(s.obbox)]
                             for s in page.symbols]}).encode())
            for array in (engraved.image, engraved.class_mask, engraved.instance_mask):
                digest.update(str((array.dtype.str, array.shape)).encode())
                digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def corpus_record(dataset: EngravedDataset) -> Corpus:
    """What the engraved data set was made from, with its checksum (:func:`dataset_sha256`)."""
    import music21

    from dlwild.deepscores.engrave import verovio_version

    return Corpus(pieces=[*dataset.train_pieces, *dataset.test_pieces],
                  fonts=list(dataset.params.get("fonts", [])), pages=len(dataset.pages()),
                  music21=music21.__version__, verovio=verovio_version(),
                  sha256=dataset_sha256(dataset))


def scaled_pair(image: np.ndarray, page: Page, scale: float) -> tuple[np.ndarray, Page]:
    """A grey page image and its annotations at ``scale`` (anti-aliased; boxes scaled alike)."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    if scale == 1:
        return image, page
    resized = rescale(image.astype(np.float32) / 255.0, scale, anti_aliasing=True)
    resized = np.clip(np.rint(resized * 255.0), 0, 255).astype(np.uint8)
    symbols = [replace(s, bbox=tuple(v * scale for v in s.bbox),
                       obbox=None if s.obbox is None else tuple(v * scale for v in s.obbox))
               for s in page.symbols]
    return resized, replace(page, width=resized.shape[1], height=resized.shape[0],
                            symbols=symbols)


def scaled(page: EngravedPage, scale: float) -> tuple[np.ndarray, Page]:
    """An engraved page's image and annotations at ``scale`` (see :func:`scaled_pair`)."""
    return scaled_pair(page.image, page.page, scale)


def estimate_interline(image: np.ndarray, threshold: int = 128) -> float:
    """The distance between staff lines (px) of a grey page, from its horizontal ink profile:
    rows inked over at least half the widest row's length are staff-line rows, runs of them
    are lines, and the median gap between neighbouring lines is the interline (four of a
    staff's five gaps are interlines; the larger gaps between staves are the minority)."""
    ink = np.asarray(image) < threshold
    if ink.ndim != 2:
        raise ValueError(f"expected a grey (H, W) image, got shape {ink.shape}")
    profile = ink.sum(axis=1)
    if profile.max() == 0:
        raise ValueError("the image has no ink, so no staff lines")
    rows = np.flatnonzero(profile >= 0.5 * profile.max())
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    centres = np.array([run.mean() for run in runs])
    if len(centres) < 5:
        raise ValueError(f"found {len(centres)} staff lines, need at least one staff of 5")
    return float(np.median(np.diff(centres)))


def format_round_trip(pages: Sequence[EngravedPage], folder: str | Path) -> pd.DataFrame:
    """Write ``pages`` in DeepScores v1 and V2 form under ``folder`` and read them back: per
    format the pages and symbols read, whether every class survived, and the largest
    difference of a box coordinate (px; v1 stores boxes as fractions of the page)."""
    folder = Path(folder)
    classes = sorted({s.cls for p in pages for s in p.page.symbols})
    for p in pages:
        formats.write_v1(p.page, p.image, folder / "v1", classes, instances=p.instance_mask)
    json_path = formats.write_v2([p.page for p in pages], folder / "v2", classes,
                                 images=[p.image for p in pages],
                                 instances=[p.instance_mask for p in pages])
    rows = []
    for name, back in (("DeepScores v1", formats.read_v1_dataset(folder / "v1")),
                       ("DeepScoresV2", formats.read_v2(json_path).pages)):
        by_id = {p.id: p for p in back}
        same, worst, symbols = True, 0.0, 0
        for original in pages:
            got = by_id[original.page.id]
            symbols += len(got.symbols)
            same &= [s.cls for s in got.symbols] == [s.cls for s in original.page.symbols]
            for a, b in zip(got.symbols, original.page.symbols, strict=False):
                worst = max(worst, float(np.max(np.abs(np.subtract(a.bbox, b.bbox)))))
        rows.append({"format": name, "pages": len(back), "symbols": symbols,
                     "classes kept": same, "largest box difference (px)": worst})
    return pd.DataFrame(rows).set_index("format")


def data_id(dataset: EngravedDataset) -> dict[str, Any]:
    """What identifies the engraved data for a trained-network artifact."""
    return {"params": dataset.params, "train": sorted(p.page.id for p in dataset.train),
            "symbols": sum(len(p.page.symbols) for p in dataset.train)}


# --- real DeepScores pages -------------------------------------------------------------

_V2_POSITION = re.compile(r"(OnLine|InSpace)$")


def v1_class(name: str) -> str:
    """A DeepScoresV2 class name in the v1 / SMuFL naming the detector learns: V2 splits
    noteheads by staff position (``noteheadBlackOnLine``, ``noteheadBlackInSpace``), v1 and
    SMuFL do not (``noteheadBlack``)."""
    return _V2_POSITION.sub("", name)


@dataclass(frozen=True)
class RealPages:
    """Real DeepScores pages a user has (``eval_pages``): format, path, and the pages with
    their grey images at the resolution of their annotations."""

    kind: str
    path: str
    items: list[tuple[np.ndarray, Page]]

    def record(self) -> dict[str, Any]:
        return {"name": f"DeepScores ({self.kind})", "path": self.path,
                "pages": len(self.items),
                "note": "the user's local copy of DeepScores (not in the data registry)"}


def _grey(path: str | Path, page: Page, where: str) -> np.ndarray:
    image = formats.read_png(path)
    if image.ndim == 3:
        image = (image[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114])).astype(
            np.uint8)
    if image.shape[:2] != (page.height, page.width):
        raise AnnotationError(f"{where}: image {path} is {image.shape[1]} x {image.shape[0]} "
                              f"px, its annotation says {page.width} x {page.height}")
    return image


def parse_eval_pages(spec: str) -> tuple[str, Path]:
    """(format, existing path) of an ``eval_pages`` value ``"deepscores_v2:<file.json>"`` or
    ``"deepscores_v1:<folder>"``; a clear error otherwise."""
    kind, sep, path = str(spec).partition(":")
    if not sep or kind not in ("deepscores_v1", "deepscores_v2") or not path:
        raise ValueError(f"eval_pages must be None, 'deepscores_v2:<file.json>' or "
                         f"'deepscores_v1:<folder>', got {spec!r}")
    where = Path(path).expanduser()
    if not where.exists():
        raise FileNotFoundError(f"eval_pages: {where} does not exist")
    return kind, where


def load_eval_pages(spec: str, limit: int | None = None) -> RealPages:
    """Real DeepScores pages from ``"deepscores_v2:<file.json>"`` (the OBBAnns JSON with its
    ``images/`` folder) or ``"deepscores_v1:<root>"`` (XML + PNG folders); V2 class names are
    mapped to v1's (:func:`v1_class`). ``limit`` keeps the first pages."""
    kind, where = parse_eval_pages(spec)
    items = []
    if kind == "deepscores_v2":
        dataset = formats.read_v2(where)
        for page in dataset.pages[:limit]:
            image_path = dataset.images.get(page.id)
            if image_path is None:
                raise AnnotationError(f"{where}: no image for page {page.id}")
            symbols = [replace(s, cls=v1_class(s.cls)) for s in page.symbols]
            items.append((_grey(image_path, page, str(where)), replace(page, symbols=symbols)))
    else:
        for page in formats.read_v1_dataset(where)[:limit]:
            items.append((_grey(page.source, page, str(where)), page))
    if not items:
        raise AnnotationError(f"{where}: no annotated page found")
    return RealPages(kind.removeprefix("deepscores_"), str(where), items)


def at_working_scale(items: Sequence[tuple[np.ndarray, Page]],
                     detector_scale: float) -> list[tuple[np.ndarray, Page]]:
    """Pages of any resolution rescaled so that their interline (estimated from the staff
    lines, :func:`estimate_interline`) is the detector's: the engraver's interline times
    ``detector_scale``."""
    working = INTERLINE_PX * detector_scale
    return [scaled_pair(image, page, working / estimate_interline(image))
            for image, page in items]


# --- the detector ----------------------------------------------------------------------

@dataclass
class TrainedDetector:
    """A trained DWD with its classes (in class-map order), history and parameters."""

    model: dwd.DWDNet
    classes: list[str]
    history: train.History
    params: dict[str, Any]


def schedule_for(name: str, steps: int) -> dwd.Schedule:
    """``joint``: all three losses from the first step (the ``tot`` stage: each loss divided by
    its running mean, weights 2, 1, 1); ``paper``: the ISMIR 2018 order e, c, b, e, tot."""
    if name == "joint":
        return dwd.Schedule((("tot", steps),))
    if name == "paper":
        return dwd.Schedule.staged(steps)
    raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {name!r}")


def optimizer_for(name: str, lr: float) -> Callable[[Any], torch.optim.Optimizer]:
    """``adam`` (our default) or ``rmsprop`` (the paper's, decay 0.995, TensorFlow's start)."""
    if name == "adam":
        return lambda params: torch.optim.Adam(params, lr=lr)
    if name == "rmsprop":
        return lambda params: dwd.rmsprop(params, lr=lr, tf_init=True)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def train_detector(items: Sequence[tuple[np.ndarray, Page]], classes: Sequence[str],
                   settings: Settings, *, seed: int, device: torch.device | str,
                   val_items: Sequence[tuple[np.ndarray, Page]] = (),
                   schedule: str = "joint", data: Mapping[str, Any] | None = None,
                   store: cache.ArtifactCache | None = None,
                   progress: bool = True) -> TrainedDetector:
    """Train a DWD on crops of ``items`` (images at the working scale with their pages) for
    ``settings.steps`` iterations of batch 1; with ``val_items`` (pages of held-out pieces),
    each epoch also records the three losses on two fixed crops per page of them (monitoring
    only: nothing is selected by them). Cached as an artifact keyed by the training code, the
    parameters and ``data`` (what identifies the pages)."""
    classes = list(classes)
    plan = schedule_for(schedule, settings.steps)
    crops = dwd.DWDCrops(items, dwd.class_index(classes), crop=settings.crop,
                         config=dwd.TargetConfig(e_max=settings.e_max),
                         crops_per_page=settings.crops_per_page, seed=seed,
                         focus=settings.focus)
    epochs = max(1, round(settings.steps / len(crops)))
    params = {"classes": classes, "schedule": schedule, "steps": epochs * len(crops),
              "epochs": epochs, "crop": list(settings.crop),
              "crops_per_page": settings.crops_per_page, "focus": settings.focus,
              "width": settings.width,
              "e_max": settings.e_max, "optimizer": settings.optimizer, "lr": settings.lr,
              "scale": settings.detector_scale, "seed": seed}
    if params["steps"] != plan.total:
        plan = schedule_for(schedule, params["steps"])
    loss = dwd.DWDLoss(plan)
    val = (dwd.DWDCrops(val_items, dwd.class_index(classes), crop=settings.crop,
                        config=dwd.TargetConfig(e_max=settings.e_max), crops_per_page=2,
                        seed=seed + 1) if val_items else None)
    params["val_crops"] = len(val) if val is not None else 0

    def make() -> dwd.DWDNet:
        return dwd.DWDNet(len(classes), settings.e_max, width=settings.width)

    def fit(model: nn.Module, checkpoint: Path) -> train.History:
        return train.fit(model, crops, loss_fn=loss,
                         evaluate=loss.metrics if val is not None else None, val_data=val,
                         optimizer=optimizer_for(settings.optimizer, settings.lr),
                         epochs=epochs, batch_size=1, device=device, seed=seed,
                         config=params, checkpoint=checkpoint, progress=progress,
                         desc="DWD detector")

    parts = {"code": cache.code_hash(*TRAINING_CODE), "params": params, "data": data or {}}
    model, history = train.cached_training("deepscores-dwd", parts, make, fit, seed=seed,
                                           store=store)
    model.to(device).eval()
    return TrainedDetector(model, classes, history, params)


@dataclass
class PageDetections:
    """Detections of one forward pass per page, decoded twice: with the regressed box sizes
    and with cached per-class sizes (WoRMS 2018). By page id, in page coordinates."""

    regressed: dict[str, list[Detection]]
    cached: dict[str, list[Detection]]
    seconds: float


def detect(detector: TrainedDetector, items: Sequence[tuple[np.ndarray, Page]],
           box_sizes: Mapping[str, tuple[float, float]],
           config: watershed.DecodeConfig | None = None) -> PageDetections:
    """Run the detector on whole pages (images at its working scale) and decode each output
    with regressed and with cached box sizes (``box_sizes``: per class, in those pixels)."""
    import time

    config = config or watershed.DecodeConfig()
    model = detector.model.eval()
    device = next(model.parameters()).device
    regressed, cached = {}, {}
    start = time.perf_counter()
    for image, page in items:
        with torch.no_grad():
            output = model(dwd.image_to_input(image)[None].to(device))
        regressed[page.id] = watershed.decode_output(output, detector.classes, config)[0]
        cached[page.id] = watershed.decode_output(output, detector.classes, config,
                                            box_sizes=box_sizes)[0]
    return PageDetections(regressed, cached, time.perf_counter() - start)


# --- the classifier --------------------------------------------------------------------

@dataclass
class ClassifierRun:
    """The patch-classification baseline: train/test patches (split by piece), the trained
    net, its history and the test predictions."""

    train: classify.Patches
    test: classify.Patches
    model: nn.Module
    history: train.History
    predicted: np.ndarray
    params: dict[str, Any]

    @property
    def macro_accuracy(self) -> float:
        return classify.macro_accuracy(self.test.labels, self.predicted,
                                       len(self.test.classes))


def classification(dataset: EngravedDataset, settings: Settings, *, seed: int,
                   device: torch.device | str, store: cache.ArtifactCache | None = None,
                   progress: bool = True) -> ClassifierRun:
    """Cut patches of the most frequent training classes from every page (test patches from
    the test pieces only) and train the residual CNN on them (cached artifact)."""
    classes = classify.top_classes([p.page for p in dataset.train],
                                   settings.classifier_classes)
    pages = dataset.pages()
    patches = classify.extract_patches([p.page for p in pages], [p.image for p in pages],
                                       classes, out_size=settings.patch_size,
                                       per_class=settings.patches_per_class, seed=seed)
    test_ids = {p.page.id for p in dataset.test}
    is_test = patches.records["page"].isin(test_ids).to_numpy()
    train_set, test_set = patches.take(np.flatnonzero(~is_test)), patches.take(
        np.flatnonzero(is_test))
    if not len(train_set) or not len(test_set):
        raise ValueError("the classifier needs patches from training and from test pieces")
    params = {"classes": classes, "patch_size": list(settings.patch_size),
              "per_class": settings.patches_per_class, "epochs": settings.classifier_epochs,
              "width": settings.classifier_width, "blocks": list(settings.classifier_blocks),
              "seed": seed}

    def make() -> classify.SymbolResNet:
        return classify.SymbolResNet(len(classes), width=settings.classifier_width,
                                     blocks=settings.classifier_blocks,
                                     in_size=settings.patch_size)

    def fit(model: nn.Module, checkpoint: Path) -> train.History:
        return classify.train_classifier(model, train_set, test_set,
                                         epochs=settings.classifier_epochs, seed=seed,
                                         device=device, checkpoint=checkpoint,
                                         progress=progress, config=params)

    parts = {"code": cache.code_hash(*TRAINING_CODE), "params": params,
             "data": {**data_id(dataset), "patches": len(patches)}}
    model, history = train.cached_training("deepscores-classifier", parts, make, fit,
                                           seed=seed, store=store)
    model.to(device).eval()
    predicted = classify.predict(model, test_set, device=device)
    return ClassifierRun(train_set, test_set, model, history, predicted, params)


# --- measurements ----------------------------------------------------------------------

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
                a, o = formats.background_ratio(page.image, symbol.bbox, symbol.obbox)
            except ValueError:
                continue  # a box thinner than a pixel centre: no pixel to count
            rows.append({"class": symbol.cls, "aligned": a, "oriented": o})
    return pd.DataFrame(rows, columns=["class", "aligned", "oriented"])


def train_counts(pages: Sequence[Page]) -> dict[str, int]:
    """Symbols per class over ``pages`` (most frequent first)."""
    return dict(class_counts(pages))

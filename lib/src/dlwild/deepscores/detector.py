"""The chapter's Deep Watershed Detector end to end: the pages at its working scale, training
through the chapter's one train-with-cache path, detection on whole pages and its
evaluation (AP per class with regressed and with cached box sizes, where symbols went)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from dlwild.core import train
from dlwild.core.chapter import training_data
from dlwild.core.claims import format_value
from dlwild.core.hardware import available_memory
from dlwild.deepscores import claims, watershed
from dlwild.deepscores.annotations import Page, class_counts
from dlwild.deepscores.chapter import CHAPTER
from dlwild.deepscores.classify import top_classes
from dlwild.deepscores.dataset import EngravedDataset, default_workers
from dlwild.deepscores.dwd import DWDNet, LossMemory
from dlwild.deepscores.dwd_loss import DWDLoss, Schedule, rmsprop
from dlwild.deepscores.dwd_targets import (
    DWDCrops,
    TargetConfig,
    class_box_sizes,
    class_index,
    image_to_input,
)
from dlwild.deepscores.engrave import EngravedPage
from dlwild.deepscores.evaluate import (
    APTable,
    Detection,
    average_precision,
    confusions,
    describe_confusions,
)
from dlwild.deepscores.prose import Glued, has_have, listing
from dlwild.deepscores.real_pages import Item, scaled
from dlwild.deepscores.settings import OPTIMIZERS, SCHEDULES, Settings


@dataclass(frozen=True)
class DetectorPages:
    """The engraved pages at the detector's working scale, the classes it learns (the most
    frequent training classes) and what they are, for the artifact key (``data``)."""

    train: list[Item]
    test: list[Item]
    classes: list[str]
    interline: float
    data: dict[str, Any]

    @classmethod
    def of(cls, dataset: EngravedDataset, settings: Settings) -> DetectorPages:
        """``dataset``'s pages rescaled by ``settings.detector_scale``."""
        train_items = [scaled(p, settings.detector_scale) for p in dataset.train]
        test_items = [scaled(p, settings.detector_scale)
                      for p in test_sample(dataset.test, settings.detector_test_pages)]
        classes = top_classes([p for _, p in train_items], settings.detector_classes)
        interline = dataset.interline * settings.detector_scale
        data = training_data("real", dataset.sha256, corpus=f"{dataset.corpus} (engraved)",
                             train_pages=len(train_items), scale=settings.detector_scale)
        return cls(train_items, test_items, classes, interline, data)

    @property
    def truth(self) -> list[Page]:
        """The test pages' annotations (the ground truth of the evaluation)."""
        return [page for _, page in self.test]

    def train_counts(self) -> dict[str, int]:
        """Symbols per class on the training pages, most frequent first."""
        return dict(class_counts([page for _, page in self.train]))

    def box_sizes(self) -> dict[str, tuple[float, float]]:
        """Each class's median training box (WoRMS 2018's cached size), in working pixels."""
        return class_box_sizes([page for _, page in self.train])

    def symbols_per_test_page(self) -> float:
        """Mean number of symbols of the learnt classes on a test page."""
        known = set(self.classes)
        return float(np.mean([sum(s.cls in known for s in p.symbols) for p in self.truth]))


def test_sample(pages: Sequence[EngravedPage], n: int | None) -> list[EngravedPage]:
    """At most ``n`` of the test ``pages`` (None: all, in their order): first pages before
    later ones, every piece before a piece's second font, the fonts rotated over the pieces,
    so a sample spreads over pieces and fonts alike. The same pages give the same sample."""
    if n is None or n >= len(pages):
        return list(pages)
    if n < 1:
        raise ValueError(f"the detector's test pages must be at least 1 (or None), got {n}")
    pieces = sorted({p.page.piece for p in pages})
    fonts = sorted({p.page.font for p in pages})
    rank = {piece: i for i, piece in enumerate(pieces)}

    def order(engraved: EngravedPage) -> tuple[int, int, int]:
        page_no = int(engraved.page.id.rsplit("-p", 1)[-1])
        i = rank[engraved.page.piece]
        return page_no, (fonts.index(engraved.page.font) - i) % len(fonts), i

    return sorted(pages, key=order)[:n]


def schedule_for(name: str, steps: int) -> Schedule:
    """``joint``: all three losses from the first step (the ``tot`` stage: each loss divided by
    its running mean, weights 2, 1, 1); ``paper``: the ISMIR 2018 order e, c, b, e, tot."""
    if name == "joint":
        return Schedule((("tot", steps),))
    if name == "paper":
        return Schedule.staged(steps)
    raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {name!r}")


def staged_ends(params: Mapping[str, Any]) -> np.ndarray:
    """Where each stage of the staged ("paper") schedule ends on the learning curves' epoch
    axis (between two records) of a detector trained with ``params`` (its steps and epochs)."""
    stages = schedule_for("paper", params["steps"]).stages
    return np.cumsum([n for _, n in stages]) / (params["steps"] / params["epochs"]) + 0.5


def other_schedule(name: str) -> str:
    """The schedule the chapter compares ``name`` with."""
    if name not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {name!r}")
    return next(s for s in SCHEDULES if s != name)


def optimizer_for(name: str, lr: float) -> Callable[[Any], torch.optim.Optimizer]:
    """``adam`` (our default) or ``rmsprop`` (the paper's, decay 0.995, TensorFlow's start)."""
    if name == "adam":
        return lambda params: torch.optim.Adam(params, lr=lr)
    if name == "rmsprop":
        return lambda params: rmsprop(params, lr=lr, tf_init=True)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


@dataclass
class TrainedDetector(Glued):
    """A trained DWD with its classes (in class-map order), history and parameters."""

    model: DWDNet
    classes: list[str]
    history: train.History
    params: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict, repr=False)

    def output(self, page_id: str, image: np.ndarray) -> watershed.DecodeMaps:
        """What decoding reads of the network's output on one whole page, computed once per
        page and kept in compact form (:class:`~dlwild.deepscores.watershed.DecodeMaps`: a
        full-scale page's raw output is ~270 MB; the maps hold only the pixels with energy),
        so that decoding the same pages again (another cut level, cached box sizes) skips
        the forward pass."""
        if page_id not in self.outputs:
            model = self.model.eval()
            device = next(model.parameters()).device
            with torch.no_grad():
                output = model(image_to_input(image)[None].to(device))
            self.outputs[page_id] = watershed.decode_maps(output)[0]
        return self.outputs[page_id]

    def prose(self) -> dict[str, str]:
        crop = self.params["crop"]
        n_params = sum(p.numel() for p in self.model.parameters())
        return {"ds_det_n": str(len(self.classes)), "ds_crop": f"{crop[0]} × {crop[1]}",
                "ds_det_interline": f"{self.params['interline']:g}",
                "ds_steps": format_value(self.params["steps"], ",d"),
                "ds_focus": format_value(self.params["focus"], ".0%"),
                "ds_det_params": format_value(n_params, ",d")}


def train_detector(pages: DetectorPages, settings: Settings, *, seed: int,
                   device: torch.device | str, schedule: str = "joint", store: Any = None,
                   progress: bool = True) -> TrainedDetector:
    """Train a DWD on crops of the training pages for ``settings.steps`` iterations of batch 1,
    each epoch watched on ``settings.val_crops`` fixed crops per test page (monitoring only:
    nothing is selected by them); trained once, then loaded (``CHAPTER.train_cached``)."""
    return _detector(pages, settings, seed=seed, device=device, schedule=schedule, store=store,
                     progress=progress)


class _NotCached(Exception):
    """Raised instead of training when only a cached detector is wanted."""


def _detector(pages: DetectorPages, settings: Settings, *, seed: int,
              device: torch.device | str, schedule: str, store: Any, progress: bool,
              cached_only: bool = False) -> TrainedDetector:
    classes = list(pages.classes)
    config = TargetConfig(e_max=settings.e_max)
    crops = DWDCrops(pages.train, class_index(classes), crop=settings.crop, config=config,
                     crops_per_page=settings.crops_per_page, seed=seed, focus=settings.focus,
                     per_epoch=settings.epoch_crops)
    epochs = max(1, round(settings.steps / len(crops)))
    params = {"classes": classes, "schedule": schedule, "steps": epochs * len(crops),
              "epochs": epochs, "epoch_crops": len(crops), "crop": list(settings.crop),
              "crops_per_page": settings.crops_per_page, "focus": settings.focus,
              "width": settings.width, "e_max": settings.e_max,
              "optimizer": settings.optimizer, "lr": settings.lr,
              "scale": settings.detector_scale, "interline": pages.interline, "seed": seed}
    loss = DWDLoss(schedule_for(schedule, params["steps"]))
    val = (DWDCrops(pages.test, class_index(classes), crop=settings.crop, config=config,
                    crops_per_page=settings.val_crops, seed=seed + 1)
           if pages.test and settings.val_crops else None)
    params["val_crops"] = len(val) if val is not None else 0

    def make() -> DWDNet:
        return DWDNet(len(classes), settings.e_max, width=settings.width)

    def fit(model: nn.Module, checkpoint: Path) -> train.History:
        if cached_only:
            raise _NotCached(schedule)
        return train.fit(model, crops, loss_fn=loss,
                         evaluate=loss.metrics if val is not None else None, val_data=val,
                         optimizer=optimizer_for(settings.optimizer, settings.lr),
                         epochs=epochs, batch_size=1, device=device, seed=seed,
                         config=params, checkpoint=checkpoint, progress=progress,
                         desc=f"DWD detector ({schedule})")

    model, history = CHAPTER.train_cached("dwd", params=params, data=pages.data, make=make,
                                          fit=fit, seed=seed, store=store)
    model.to(device).eval()
    return TrainedDetector(model, classes, history, params)


def _train_in_worker(pages: DetectorPages, settings: Settings, seed: int, schedule: str,
                     store: Any, threads: int) -> None:
    """Train one detector into the cache in a worker process on ``threads`` CPU threads."""
    torch.set_num_threads(threads)
    _detector(pages, settings, seed=seed, device="cpu", schedule=schedule, store=store,
              progress=False)


@dataclass
class DetectorTraining:
    """Detectors training in worker processes, started by :func:`start_detectors` so that other
    work (the symbol classifier) runs meanwhile; :meth:`result` waits for them."""

    pages: DetectorPages
    settings: Settings
    seed: int
    device: torch.device | str
    schedules: tuple[str, ...]
    store: Any
    pool: Any = None
    jobs: list[Any] = field(default_factory=list)

    def result(self, progress: bool = True) -> list[TrainedDetector]:
        """One trained detector per schedule, in order: the workers' from the cache, any
        other trained here (with a progress bar)."""
        if self.pool is not None:
            try:
                for job in self.jobs:
                    job.result()
            finally:
                self.pool.shutdown()
                self.pool = None
        return [train_detector(self.pages, self.settings, seed=self.seed, device=self.device,
                               schedule=name, store=self.store, progress=progress)
                for name in self.schedules]


def page_bytes(pages: DetectorPages) -> int:
    """Bytes of the page images a worker process receives a copy of."""
    return sum(image.nbytes for image, _ in [*pages.train, *pages.test])


def copies_fit(pages: DetectorPages, workers: int) -> bool:
    """Whether ``workers`` processes can each get the pages: each copy is held twice while it
    travels (pickled here, unpickled there), and half the available memory is left for
    training.  At full scale (about 5 GB of pages) they do not, on a 24 GB machine: the
    detectors then train one after the other in this process (the forecast's assumption)."""
    return 2 * workers * page_bytes(pages) <= available_memory() // 2


def _gigabytes(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def start_detectors(pages: DetectorPages, settings: Settings, *, seed: int,
                    device: torch.device | str, schedules: Sequence[str], store: Any = None,
                    workers: int | None = None) -> DetectorTraining:
    """Start one detector per schedule (see :func:`train_detector`). On a CPU those not
    cached yet train side by side, one process each with the cores shared among them (small
    convolutions use two cores better as two processes than as two threads of one); this
    returns at once, and :meth:`DetectorTraining.result` collects them. When a copy of the
    pages for each process does not fit in memory (:func:`copies_fit`) they train one after
    the other in this process instead, when collected."""
    missing = []
    for name in schedules:
        try:
            _detector(pages, settings, seed=seed, device="cpu", schedule=name, store=store,
                      progress=False, cached_only=True)
        except _NotCached:
            missing.append(name)
    training = DetectorTraining(pages, settings, seed, device, tuple(schedules), store)
    cores = default_workers()
    workers = min(len(missing), cores) if workers is None else workers
    side_by_side = len(missing) > 1 and workers > 1 and torch.device(device).type == "cpu"
    if side_by_side and not copies_fit(pages, workers):
        print(f"training the {' and the '.join(missing)} detector one after the other: a copy "
              f"of the {_gigabytes(page_bytes(pages))} of pages for each of {workers} processes "
              f"does not fit in the {_gigabytes(available_memory())} of memory available",
              flush=True)
        side_by_side = False
    if side_by_side:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        print(f"training the {' and the '.join(missing)} detector side by side in {workers} "
              "processes ...", flush=True)
        threads = max(1, cores // workers)
        training.pool = ProcessPoolExecutor(workers,
                                            mp_context=multiprocessing.get_context("spawn"))
        training.jobs = [training.pool.submit(_train_in_worker, pages, settings, seed, name,
                                              store, threads) for name in missing]
    return training


def train_detectors(pages: DetectorPages, settings: Settings, *, seed: int,
                    device: torch.device | str, schedules: Sequence[str], store: Any = None,
                    progress: bool = True, workers: int | None = None) -> list[TrainedDetector]:
    """One detector per schedule, trained as :func:`start_detectors` does, waited for."""
    return start_detectors(pages, settings, seed=seed, device=device, schedules=schedules,
                           store=store, workers=workers).result(progress)


@dataclass
class PageDetections:
    """Detections of one forward pass per page, decoded twice: with the regressed box sizes
    and with cached per-class sizes (WoRMS 2018). By page id, in page coordinates."""

    regressed: dict[str, list[Detection]]
    cached: dict[str, list[Detection]]
    seconds: float  # wall time of the detection (forward passes a detector kept are not redone)


def detect(detector: TrainedDetector, items: Sequence[Item],
           box_sizes: Mapping[str, tuple[float, float]],
           config: watershed.DecodeConfig | None = None) -> PageDetections:
    """Run the detector on whole pages (images at its working scale) and decode each output
    with regressed and with cached box sizes (``box_sizes``: per class, in those pixels)."""
    config = config or watershed.DecodeConfig()
    regressed, cached = {}, {}
    start = time.perf_counter()
    for image, page in items:
        maps = detector.output(page.id, image)
        regressed[page.id] = watershed.decode_compact(maps, detector.classes, config)
        cached[page.id] = watershed.decode_compact(maps, detector.classes, config,
                                                   box_sizes=box_sizes)
    return PageDetections(regressed, cached, time.perf_counter() - start)


@dataclass
class DetectorEvaluation(Glued):
    """A detector on held-out pages: its detections, AP per class with regressed and with
    cached box sizes, and the Spearman correlation of training frequency and AP@0.5."""

    found: PageDetections
    ap: APTable
    ap_cached: APTable
    truth: list[Page]
    classes: list[str]
    train_counts: dict[str, int]

    @classmethod
    def of(cls, detector: TrainedDetector, pages: DetectorPages,
           items: Sequence[Item] | None = None,
           config: watershed.DecodeConfig | None = None) -> DetectorEvaluation:
        """Detect on ``items`` (default: the test pages) and evaluate against their truth;
        ``config`` decodes the energy maps otherwise than the paper's two cuts (exercises)."""
        items = list(pages.test if items is None else items)
        truth = [page for _, page in items]
        found = detect(detector, items, pages.box_sizes(), config)
        return cls(found, average_precision(truth, found.regressed, detector.classes),
                   average_precision(truth, found.cached, detector.classes), truth,
                   list(detector.classes), pages.train_counts())

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        """Mean and weighted mean AP (classes without test symbols left out)."""
        return self.ap.summary(absent="skip")

    @property
    def summary_cached(self) -> dict[str, dict[str, float]]:
        """:attr:`summary` with the cached box sizes."""
        return self.ap_cached.summary(absent="skip")

    @property
    def rho(self) -> float:
        """Spearman correlation of a class's training frequency and its AP@0.5."""
        return claims.frequency_ap_correlation(self.ap.ap50, self.train_counts)

    def detections_per_page(self) -> float:
        """Mean number of (regressed) detections per page."""
        return float(np.mean([len(v) for v in self.found.regressed.values()]))

    def table(self) -> pd.DataFrame:
        """AP per class beside ISMIR 2018's Table 1, with training and test counts."""
        return claims.beside_table_1(self.ap.rows(), self.ap_cached.ap50, self.train_counts)

    def styled_table(self) -> Any:
        """:meth:`table` as the page shows it."""
        return self.table().style.format("{:.3f}", na_rep="—").format(
            "{:,.0f}", subset=["train", "test"])

    def confusions(self) -> pd.DataFrame:
        """Where the test symbols went (rows and columns that hold any symbol)."""
        counts = confusions(self.truth, self.found.regressed, self.classes)
        return counts.loc[counts.sum(axis=1) > 0, counts.sum(axis=0) > 0]

    def zero_ap_text(self) -> str:
        """A sentence on where the symbols of the classes with AP 0 at IoU 0.5 went."""
        counts = self.confusions()
        zero = [c for c in counts.index if self.ap.ap50[c] == 0]
        if not zero:
            return "Every class with test symbols has an AP above 0 at IoU 0.5."
        return ("The classes with AP 0 at IoU 0.5: "
                + "; ".join(describe_confusions(counts, c) for c in zero) + ".")

    def prose(self) -> dict[str, str]:
        untested = [c for c in self.classes if self.ap.counts[c] == 0]
        scope = (f"the {len(self.classes) - len(untested)} of the {len(self.classes)} learnt "
                 f"classes that have test symbols ({listing(untested)} "
                 f"{has_have(untested)} none, so no AP)" if untested else
                 f"all {len(self.classes)} learnt classes (each has test symbols)")
        weak = [c for c in self.classes if self.ap.counts[c] > 0 and self.ap.ap50[c] < 0.05]
        summary, cached = self.summary, self.summary_cached
        return {"ds_det_seconds": format_value(self.found.seconds / len(self.truth), ".1f"),
                "ds_notehead50": format_value(self.ap.ap50.get("noteheadBlack"), ".3f"),
                "ds_notehead25": format_value(self.ap.ap25.get("noteheadBlack"), ".3f"),
                "ds_mean50": format_value(summary["ap50"]["mean"], ".3f"),
                "ds_mean25": format_value(summary["ap25"]["mean"], ".3f"),
                "ds_mean50_cached": format_value(cached["ap50"]["mean"], ".3f"),
                "ds_weighted50": format_value(summary["ap50"]["weighted_mean"], ".3f"),
                "ds_rho": format_value(self.rho, ".2f"), "ds_zero_classes": listing(weak),
                "ds_det_scope": scope}

    def record(self) -> dict[str, Any]:
        """The evaluation for the results record."""
        counts = self.confusions()
        return {"ap": self.ap.rows(), "ap_cached": self.ap_cached.rows(),
                "summary": self.summary, "summary_cached": self.summary_cached,
                "spearman_frequency_ap50": self.rho,
                "seconds_per_test_page": self.found.seconds / max(1, len(self.truth)),
                "train_counts": {c: int(n) for c, n in self.train_counts.items()},
                "confusions": {true: {found: int(n) for found, n in row.items() if n}
                               for true, row in counts.iterrows()}}


@dataclass(frozen=True)
class MethodConstants(Glued):
    """The method section's constants, read from the code that uses them."""

    e_max: int
    marker_scale: float
    min_radius: float
    loss_window: int
    loss_weights: tuple[float, ...]

    @classmethod
    def of(cls, settings: Settings) -> MethodConstants:
        """The constants of a run at ``settings``."""
        target = TargetConfig(e_max=settings.e_max)
        weights = DWDLoss(Schedule((("tot", 1),))).weights
        return cls(settings.e_max, target.marker_scale, target.min_radius,
                   LossMemory().window, weights)

    def prose(self) -> dict[str, str]:
        weights = [f"{w:g}" for w in self.loss_weights]
        return {"ds_e_max": str(self.e_max), "ds_e_top": str(self.e_max - 1),
                "ds_marker_scale": format_value(self.marker_scale, ".2g"),
                "ds_min_radius": format_value(self.min_radius, ".0f"),
                "ds_loss_window": str(self.loss_window),
                "ds_loss_weights": ", ".join(weights),
                "ds_loss_weight_sum": f"{sum(self.loss_weights):g}",
                "ds_loss_weights_sum_text": " + ".join(weights)}


@dataclass
class ScheduleComparison(Glued):
    """The same network, crops and steps trained with each schedule, side by side: where the
    staged schedule's stages end (in epochs) and how far its held-out energy loss jumps."""

    runs: dict[str, tuple[TrainedDetector, DetectorEvaluation]]
    symbols_per_page: float

    def __post_init__(self) -> None:
        if set(self.runs) != set(SCHEDULES):
            raise ValueError(f"compare one detector per schedule {SCHEDULES}, got "
                             f"{sorted(self.runs)}")

    @classmethod
    def of(cls, pages: DetectorPages, detectors: Sequence[TrainedDetector],
           known: Mapping[str, DetectorEvaluation] | None = None) -> ScheduleComparison:
        """One detector per schedule, each evaluated on the test pages (or taken from
        ``known``, by schedule, when already evaluated)."""
        known = dict(known or {})
        runs = {}
        for trained in detectors:
            name = trained.params["schedule"]
            runs[name] = (trained, known.get(name) or DetectorEvaluation.of(trained, pages))
        return cls(runs, pages.symbols_per_test_page())

    def histories(self) -> dict[str, train.History]:
        """Each schedule's training history."""
        return {name: trained.history for name, (trained, _) in self.runs.items()}

    @property
    def stages(self) -> tuple[tuple[str, int], ...]:
        """The staged schedule's (loss, steps) stages."""
        return schedule_for("paper", self.runs["paper"][0].params["steps"]).stages

    def stage_ends(self) -> np.ndarray:
        """Where each stage ends on the learning curves' epoch axis (between two records)."""
        return staged_ends(self.runs["paper"][0].params)

    def energy_jump(self) -> float:
        """The staged run's highest held-out energy loss over its lowest during the first
        energy stage (NaN when no epoch ends inside that stage)."""
        energy = self.runs["paper"][0].history.to_frame()["loss_e"]
        first = energy[energy.index <= self.stage_ends()[0]]
        return float(energy.max() / first.min()) if len(first) else float("nan")

    def table(self) -> pd.DataFrame:
        """Detections per page, mean and notehead AP@0.5 and the final held-out losses."""
        rows = {name: {"detections per test page": found.detections_per_page(),
                       "mean AP@0.5": found.summary["ap50"]["mean"],
                       "noteheadBlack AP@0.5": found.ap.ap50.get("noteheadBlack", np.nan),
                       "held-out energy loss": detector.history.final("loss_e"),
                       "held-out class loss": detector.history.final("loss_c")}
                for name, (detector, found) in self.runs.items()}
        return pd.DataFrame(rows).T.rename_axis("schedule")

    def styled_table(self) -> Any:
        """:meth:`table` as the page shows it."""
        return self.table().style.format("{:.3f}").format(
            "{:.0f}", subset=["detections per test page"])

    def prose(self) -> dict[str, str]:
        table = self.table()
        total = sum(n for _, n in self.stages)
        texts = {"ds_stage_shares": ", ".join(f"{name} {n / total:.0%}"
                                              for name, n in self.stages),
                 "ds_energy_jump": format_value(self.energy_jump(), ".0f"),
                 "ds_test_symbols": format_value(self.symbols_per_page, ".0f")}
        for name in self.runs:
            texts[f"ds_dets_{name}"] = format_value(
                table.loc[name, "detections per test page"], ".0f")
            texts[f"ds_map_{name}"] = format_value(table.loc[name, "mean AP@0.5"], ".3f")
            texts[f"ds_head_{name}"] = format_value(table.loc[name, "noteheadBlack AP@0.5"],
                                                    ".3f")
        return texts

    def record(self) -> dict[str, Any]:
        """Per schedule its row of :meth:`table`, history and AP (for the results record)."""
        return {name: {**row, "history": self.runs[name][0].history.to_dict(),
                       "ap": self.runs[name][1].ap.rows()}
                for name, row in self.table().to_dict(orient="index").items()}

"""The DeepScores chapter end to end, beside the detector (:mod:`.detector`): the symbol
classifier on our pages, the format round trip, the evaluation on real DeepScores pages,
and what the chapter compares with the papers and records.

The chapter's notebook calls these functions; the methods live in the modules beside this one
(``engrave``, ``classify``, ``dwd``, ``evaluate``). Trained networks are cached as artifacts
keyed by the training code, the parameters and the data (``CHAPTER.train_cached``), so a rerun
of an unchanged chapter skips the training."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from dlwild.core import train
from dlwild.core.chapter import training_data
from dlwild.core.claims import Measured, format_value
from dlwild.core.results import undefined_as_null
from dlwild.deepscores import claims, classify
from dlwild.deepscores.chapter import CHAPTER
from dlwild.deepscores.dataset import DataSummary, EngravedDataset
from dlwild.deepscores.detector import (
    DetectorEvaluation,
    DetectorPages,
    ScheduleComparison,
    TrainedDetector,
)
from dlwild.deepscores.engrave import INTERLINE_PX, EngravedPage
from dlwild.deepscores.format_v1 import read_v1_dataset, write_v1
from dlwild.deepscores.format_v2 import read_v2, write_v2
from dlwild.deepscores.prose import Glued, has_have, listing
from dlwild.deepscores.real_pages import RealPages, at_working_scale, load_eval_pages
from dlwild.deepscores.settings import Settings
from dlwild.deepscores.stats import BackgroundTable, PageStatistics

# --- the classifier --------------------------------------------------------------------


@contextlib.contextmanager
def cpu_threads(threads: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``threads`` inside the block (None: unchanged)."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class ClassifierRun(Glued):
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
        """The paper's measure: the mean of the per-class accuracies on the test patches."""
        return classify.macro_accuracy(self.test.labels, self.predicted,
                                       len(self.test.classes))

    def per_class(self) -> pd.DataFrame:
        """Per class with test patches: support, correct, accuracy, predicted, precision."""
        table = classify.per_class_accuracy(self.test.labels, self.predicted, self.test.classes)
        return table[table["support"] > 0]

    def styled_per_class(self) -> Any:
        """:meth:`per_class` as the page shows it (accuracy coloured)."""
        return self.per_class().style.format({"accuracy": "{:.3f}", "precision": "{:.3f}"}) \
            .background_gradient(subset=["accuracy"], cmap="RdYlGn", vmin=0.5, vmax=1)

    def examples(self, n: int = 12) -> list[int]:
        """Indices of the first test patch of each class (at most ``n``), for the figure."""
        labels = self.test.labels
        return [int(np.flatnonzero(labels == k)[0]) for k in range(len(self.test.classes))
                if (labels == k).any()][:n]

    def context_tables(self) -> list[Any]:
        """The look-alike pairs that need context: per pair its confusions (rows true class,
        columns predicted) or a note that it has no test patch; a note when no pair is among
        the classified classes (for ``display(*...)``)."""
        from IPython.display import Markdown

        tested = set(self.per_class().index)
        shown: list[Any] = []
        for pair in classify.CONTEXT_PAIRS:
            if not all(c in self.test.classes for c in pair):
                continue
            lacking = [c for c in pair if c not in tested]
            shown.append(Markdown(f"{' / '.join(pair)}: no test patch of "
                                  f"{', '.join(lacking)}, no confusion to show.") if lacking
                         else classify.context_confusion(self.test.labels, self.predicted,
                                                         self.test.classes, list(pair)))
        return shown or [Markdown("No look-alike pair among the classified classes.")]

    def prose(self) -> dict[str, str]:
        shown = list(self.per_class().index)
        untested = [c for c in self.test.classes if c not in shown]
        n = len(self.test.classes)
        scope = (f"the {len(shown)} of the {n} classes that have test patches "
                 f"({listing(untested)} {has_have(untested)} none and count in no mean)"
                 if untested else f"all {n} classes (each has test patches)")
        size = self.params["patch_size"]
        return {"ds_cls_n": str(n), "ds_patch_size": f"{size[0]} × {size[1]}",
                "ds_macro": format_value(self.macro_accuracy, ".3f"),
                "ds_cls_epochs": str(self.params["epochs"]), "ds_cls_scope": scope}

    def record(self) -> dict[str, Any]:
        """The classifier for the results record."""
        return {"params": self.params, "macro_accuracy": self.macro_accuracy,
                "train_patches": len(self.train), "test_patches": len(self.test),
                "history": self.history.to_dict()}


def patch_cut(dataset: EngravedDataset) -> tuple[int, int]:
    """The (h, w) page pixels of one symbol patch: DeepScores' 220 x 120 at its 10 px
    interline, scaled to the data set's interline."""
    factor = dataset.interline / INTERLINE_PX
    return round(classify.PATCH_SIZE[0] * factor), round(classify.PATCH_SIZE[1] * factor)


def dataset_patches(dataset: EngravedDataset, classes: Sequence[str],
                    out_size: tuple[int, int], per_class: int | None,
                    seed: int) -> tuple[classify.Patches, classify.Patches]:
    """Patches of ``classes`` cut from every page (:func:`patch_cut`, scaled to ``out_size``;
    at most ``per_class`` per class, None: all), split into those of the training pieces and
    those of the test pieces; a ValueError when either side has none."""
    pages = dataset.pages()
    patches = classify.extract_patches([p.page for p in pages], [p.image for p in pages],
                                       classes, size=patch_cut(dataset), out_size=out_size,
                                       per_class=per_class, seed=seed)
    test_ids = {p.page.id for p in dataset.test}
    is_test = patches.records["page"].isin(test_ids).to_numpy()
    train_set, test_set = (patches.take(np.flatnonzero(~is_test)),
                           patches.take(np.flatnonzero(is_test)))
    if not len(train_set) or not len(test_set):
        raise ValueError("the classifier needs patches from training and from test pieces")
    return train_set, test_set


def classification(dataset: EngravedDataset, settings: Settings, *, seed: int,
                   device: torch.device | str, store: Any = None,
                   progress: bool = True) -> ClassifierRun:
    """Cut patches of the most frequent training classes from every page (test patches from
    the test pieces only) and train the residual CNN on them, once (``CHAPTER.train_cached``)."""
    classes = classify.top_classes([p.page for p in dataset.train],
                                   settings.classifier_classes)
    train_set, test_set = dataset_patches(dataset, classes, settings.patch_size,
                                          settings.patches_per_class, seed)
    size = patch_cut(dataset)
    params = {"classes": classes, "patch_size": list(settings.patch_size),
              "per_class": settings.patches_per_class, "epochs": settings.classifier_epochs,
              "width": settings.classifier_width, "blocks": list(settings.classifier_blocks),
              "batch_size": settings.classifier_batch, "seed": seed}
    data = training_data("real", dataset.sha256, corpus=f"{dataset.corpus} (engraved)",
                         patches=len(train_set) + len(test_set), cut=list(size))

    def make() -> classify.SymbolResNet:
        return classify.SymbolResNet(len(classes), width=settings.classifier_width,
                                     blocks=settings.classifier_blocks,
                                     in_size=settings.patch_size)

    def fit(model: nn.Module, checkpoint: Path) -> train.History:
        return classify.train_classifier(model, train_set, test_set,
                                         epochs=settings.classifier_epochs,
                                         batch_size=settings.classifier_batch, seed=seed,
                                         device=device, checkpoint=checkpoint,
                                         progress=progress, config=params)

    with cpu_threads(settings.classifier_threads if torch.device(device).type == "cpu"
                     else None):
        model, history = CHAPTER.train_cached("classifier", params=params, data=data,
                                              make=make, fit=fit, seed=seed, store=store)
    model.to(device).eval()
    predicted = classify.predict(model, test_set, device=device)
    return ClassifierRun(train_set, test_set, model, history, predicted, params)


# --- the formats -----------------------------------------------------------------------

def format_round_trip(pages: Sequence[EngravedPage], folder: str | Path | None = None
                      ) -> pd.DataFrame:
    """Write ``pages`` in DeepScores v1 and V2 form under ``folder`` (default: a temporary
    one) and read them back: per format the pages and symbols read, whether every class
    survived, and the largest difference of a box coordinate (px; v1 stores fractions)."""
    if folder is None:
        with tempfile.TemporaryDirectory() as tmp:
            return format_round_trip(pages, tmp)
    folder = Path(folder)
    classes = sorted({s.cls for p in pages for s in p.page.symbols})
    for p in pages:
        write_v1(p.page, p.image, folder / "v1", classes, instances=p.instance_mask)
    json_path = write_v2([p.page for p in pages], folder / "v2", classes,
                         images=[p.image for p in pages],
                         instances=[p.instance_mask for p in pages])
    rows = []
    for name, back in (("DeepScores v1", read_v1_dataset(folder / "v1")),
                       ("DeepScoresV2", read_v2(json_path).pages)):
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


# --- real DeepScores pages -------------------------------------------------------------

@dataclass
class RealEvaluation:
    """The detector trained here, evaluated on real DeepScores pages (``eval_pages``)."""

    pages: RealPages
    evaluation: DetectorEvaluation

    @classmethod
    def of(cls, spec: str, detector: TrainedDetector, work: DetectorPages) -> RealEvaluation:
        """Load the pages of ``spec``, bring them to the detector's interline, evaluate."""
        pages = load_eval_pages(spec)
        items = at_working_scale(pages.items, work.interline)
        return cls(pages, DetectorEvaluation.of(detector, work, items))

    def table(self) -> Any:
        """AP per class on the real pages, as the page shows it."""
        return self.evaluation.ap.to_frame().style.format("{:.3f}", na_rep="—")

    def record(self) -> dict[str, Any]:
        """The real-page evaluation for the results record."""
        return {"source": self.pages.record(), "ap": self.evaluation.ap.rows(),
                "summary": self.evaluation.summary,
                "summary_cached": self.evaluation.summary_cached}


NO_REAL_PAGES = ("eval_pages = None: this run was given no DeepScores pages; all detection "
                 "results are on the engraved test pieces.")


# --- the papers' claims and the record -------------------------------------------------

def measured(classifier: ClassifierRun, detection: DetectorEvaluation, stats: PageStatistics,
             background: BackgroundTable, *, scale: str,
             real: RealEvaluation | None = None,
             corpus: str = "music21 Bach chorales") -> dict[str, Measured]:
    """Our value of every claim (:data:`~dlwild.deepscores.claims.CLAIMS`): detection on the
    real pages when there are some, else on our test pieces; the rest on our pages."""
    found = real.evaluation if real is not None else detection
    data = (f"DeepScores {real.pages.kind} pages (detection), {corpus}, engraved (the rest)"
            if real is not None else f"{corpus}, engraved")
    values = {"macro_accuracy": classifier.macro_accuracy,
              "ap50": found.ap.ap50, "ap25": found.ap.ap25,
              "mean_ap50": found.summary["ap50"]["mean"],
              "mean_ap25": found.summary["ap25"]["mean"],
              "mean_ap50_cached": found.summary_cached["ap50"]["mean"],
              "train_counts": detection.train_counts, "top_class": stats.top_class,
              "top_share": stats.top_share, "top_decile_share": stats.top_decile_share,
              "background": background.overall}
    return claims.measured_from(values, data=data, scale=scale,
                                eval_source=real.pages.kind if real is not None else None)


def metrics(*, summary: DataSummary, dataset: EngravedDataset, stats: PageStatistics,
            background: BackgroundTable, classifier: ClassifierRun, detector: TrainedDetector,
            detection: DetectorEvaluation, schedules: ScheduleComparison,
            real: RealEvaluation | None, settings: Settings) -> dict[str, Any]:
    """The chapter's metrics for ``run.finish`` (NaN, e.g. a class without test symbols, is
    written as null)."""
    aligned, oriented = background.overall
    return undefined_as_null({
        "dataset": {"train_pieces": dataset.train_pieces, "test_pieces": dataset.test_pieces,
                    "train_pages": len(dataset.train), "test_pages": len(dataset.test),
                    "fonts": summary.fonts, "skipped": dataset.skipped,
                    "symbols": int(sum(summary.symbols.values())),
                    "classes": summary.n_classes, "top_class_share": stats.top_share,
                    "top_decile_share": stats.top_decile_share,
                    "background_aligned": aligned, "background_oriented": oriented},
        "classifier": classifier.record(),
        "detector": {"params": detector.params, "history": detector.history.to_dict(),
                     **detection.record()},
        "schedules": schedules.record(),
        "real_pages": real.record() if real is not None else None,
        "settings": settings.as_dict(),
    })


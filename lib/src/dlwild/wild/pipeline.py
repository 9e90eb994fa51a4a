"""The chapter's sections end to end, each training through ``CHAPTER.train_cached`` (the
artifact key holds the training code, the parameters and the data as resolved)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from dlwild.core import cache, config, data, readers, results
from dlwild.core.chapter import training_data
from dlwild.wild import curves, imbalance, infoplane, monitoring, nets, symbols
from dlwild.wild.chapter import CHAPTER
from dlwild.wild.settings import IMBALANCE_METHODS

RARE_PRECISION = 0.9


@dataclass
class Mnist:
    """MNIST as read: training and test images (uint8) and labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_mnist(run) -> Mnist:
    """MNIST through the data registry (real data only: the chapter has no generator)."""
    fetched = run.use_data("mnist", data.resolve("mnist", run.data))
    if fetched is None:
        raise data.DataUnavailable("MNIST is needed; set DLWILD_MIRROR or allow downloads")
    return Mnist(*readers.load_mnist("train", fetched), *readers.load_mnist("test", fetched))


def _balanced(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    return imbalance.subsample(y, np.full(10, per_class), seed)


# --- 1. class imbalance --------------------------------------------------------------------------

@dataclass
class ImbalanceStudy:
    counts: dict[int, np.ndarray]
    scores: dict[tuple[int, str], imbalance.Scores]
    histories: dict[tuple[int, str], Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        rows = [{"ratio": r, "method": m, "accuracy": s.accuracy,
                 "balanced accuracy": s.balanced_accuracy, "macro F1": s.macro_f1,
                 "rarest-class recall": s.recall[-1],
                 f"rarest recall @ precision {RARE_PRECISION:g}": s.rare_recall_at_precision}
                for (r, m), s in self.scores.items()]
        return pd.DataFrame(rows).set_index(["ratio", "method"])

    def record(self) -> dict[str, Any]:
        return {"counts": {str(r): c.tolist() for r, c in self.counts.items()},
                "scores": {f"{r}/{m}": s.record() for (r, m), s in self.scores.items()}}


def train_methods(run, name: str, x: torch.Tensor, y: torch.Tensor,
                  val: tuple[torch.Tensor, torch.Tensor], key: dict[str, Any], make,
                  classes: int, epochs: int, params: dict[str, Any]
                  ) -> dict[str, tuple[Any, Any]]:
    """Train one network per imbalance method on ``x, y`` (labels 0..classes-1; cached as
    ``<name>-<method>``): ``{method: (model, history)}``, each history recorded with the run."""
    gamma = run.params["focal_gamma"]
    out = {}
    for method in IMBALANCE_METHODS:
        method_params = {"method": method, "epochs": epochs, **params,
                         **({"gamma": gamma} if method == "focal" else {})}

        def fit(model, path, method=method):
            return nets.fit_classifier(
                model, imbalance.training_set(method, x, y, run.seed), val, path,
                epochs=epochs, seed=run.seed, desc=f"{name} {method}",
                loss=imbalance.loss_for(method, y, classes=classes, gamma=gamma))
        model, history = CHAPTER.train_cached(f"{name}-{method}", params=method_params,
                                              data=key, make=make, fit=fit, seed=run.seed)
        run.use_training(history)
        out[method] = (model, history)
    return out


def imbalance_study(run, mnist: Mnist) -> ImbalanceStudy:
    """Every method on every long tail, tested on a balanced test subset."""
    s = run.settings
    test = _balanced(mnist.y_test, s.test_per_class, run.seed)
    x_test, y_test = nets.images(mnist.x_test[test]), mnist.y_test[test].astype(np.int64)
    study = ImbalanceStudy({}, {})
    for ratio in s.ratios:
        counts = imbalance.long_tail_counts(s.head, ratio)
        idx = imbalance.subsample(mnist.y_train, counts, run.seed)
        x, y = nets.images(mnist.x_train[idx]), torch.as_tensor(mnist.y_train[idx].astype(int))
        # validation curves on 50 training images per digit outside the tail (not the test)
        rest = np.setdiff1d(np.arange(len(mnist.y_train)), idx)
        held = rest[_balanced(mnist.y_train[rest], 50, run.seed)]
        val = (nets.images(mnist.x_train[held]),
               torch.as_tensor(mnist.y_train[held].astype(np.int64)))
        study.counts[ratio] = counts
        key = training_data("real", cache.array_digest([mnist.x_train[idx], y.numpy()]),
                            corpus="mnist long tail", images=int(len(idx)))
        trained = train_methods(run, f"imbalance-{ratio}", x, y, val, key,
                                lambda: nets.DigitCNN(s.width), 10, s.imbalance_epochs,
                                {"ratio": ratio, "width": s.width})
        for method, (model, history) in trained.items():
            study.histories[(ratio, method)] = history
            study.scores[(ratio, method)] = imbalance.Scores.of(
                y_test, nets.predict(model, x_test), rare=9, precision=RARE_PRECISION)
    return study


@dataclass
class SymbolStudy:
    """The five methods on the DeepScores symbols' natural long tail."""

    tail: symbols.SymbolTail
    head: int
    scores: dict[str, imbalance.Scores]
    histories: dict[str, Any]

    @property
    def rare(self) -> int:
        """The class with the fewest training patches: the last (classes come most first)."""
        return len(self.tail.classes) - 1

    def table(self) -> pd.DataFrame:
        rows = [{"method": m, "accuracy": s.accuracy, "balanced accuracy": s.balanced_accuracy,
                 "macro F1": s.macro_f1, "rarest-class recall": s.recall[self.rare],
                 f"rarest recall @ precision {RARE_PRECISION:g}": s.rare_recall_at_precision}
                for m, s in self.scores.items()]
        return pd.DataFrame(rows).set_index("method")

    def record(self) -> dict[str, Any]:
        return {"tail": self.tail.record(), "head": self.head,
                "rare": self.tail.classes[self.rare],
                "scores": {m: s.record() for m, s in self.scores.items()}}


def symbol_study(run) -> SymbolStudy:
    """Every imbalance method on the DeepScores chapter's symbol patches, tested on the
    patches of its test pieces (as imbalanced as the training ones)."""
    s = run.settings
    tail = symbols.symbol_long_tail(s.symbol_classes, s.symbol_head, run.seed)
    run.use_data(tail.corpus.name, tail.corpus)  # as the DeepScores chapter records it
    key = training_data("real", tail.digest, corpus="DeepScores chapter's engraved symbols",
                        patches=int(len(tail.y_train)), classes=list(tail.classes))
    trained = train_methods(run, "symbols", tail.x_train, tail.y_train,
                            (tail.x_val, tail.y_val), key,
                            lambda: nets.DigitCNN(s.width, len(tail.classes), tail.size),
                            len(tail.classes), s.symbol_epochs,
                            {"width": s.width, "head": s.symbol_head})
    study = SymbolStudy(tail, s.symbol_head, {}, {})
    for method, (model, history) in trained.items():
        study.histories[method] = history
        study.scores[method] = imbalance.Scores.of(
            tail.y_test, nets.predict(model, tail.x_test), rare=study.rare,
            precision=RARE_PRECISION)
    return study


# --- 2. condition monitoring ---------------------------------------------------------------------

@dataclass
class MonitoringStudy:
    windows: monitoring.Windows
    detections: dict[str, monitoring.Detection]
    histories: dict[str, Any]

    def auc_table(self) -> pd.DataFrame:
        frame = pd.DataFrame({m: d.auc for m, d in self.detections.items()}).T
        frame["mean"] = frame.mean(1)
        return frame

    def operating_table(self) -> pd.DataFrame:
        return pd.DataFrame({m: {"detected @ 5 % FPR": d.tpr_at_fpr,
                                 "test FPR there": d.fpr_at_threshold,
                                 "zero-miss recall": d.zero_miss_recall,
                                 "zero-miss precision": d.zero_miss_precision,
                                 "zero-miss FPR": d.zero_miss_fpr}
                             for m, d in self.detections.items()}).T

    def record(self) -> dict[str, Any]:
        return {"windows": self.windows.counts(),
                "detections": {m: d.record() for m, d in self.detections.items()}}


def monitoring_study(run) -> MonitoringStudy:
    """Every detector trained on normal windows, evaluated on held-out normals and faults."""
    s = run.settings
    fetched = run.use_data("cwru_bearing", data.resolve("cwru_bearing", run.data))
    if fetched is None:
        raise data.DataUnavailable("the CWRU files are needed; set DLWILD_MIRROR")
    paths = {name: fetched[name] for name in (monitoring.NORMAL_FILE, *monitoring.FAULTS)}
    w = monitoring.prepare(paths, normal_rate=run.params["normal_rate"], window=s.window,
                           hop=s.hop, bands=s.bands, fault_windows=s.fault_windows)
    detections, histories = {}, {}
    for method in monitoring.CLASSICAL:
        detections[method] = monitoring.Detection.of(
            method, monitoring.classical_scores(method, w.train, run.seed), w)
    key = training_data("real", cache.array_digest([w.train, w.val]), corpus="cwru normal")
    for method in monitoring.DEEP:
        def fit(model, path, method=method):
            return monitoring.fit_autoencoder(model, w.train, w.val, path, epochs=s.ae_epochs,
                                              seed=run.seed, desc=method)
        model, history = CHAPTER.train_cached(
            f"monitor-{method}", params={"method": method, "epochs": s.ae_epochs}, data=key,
            make=lambda method=method: monitoring.make_autoencoder(method, w.train.shape[1]),
            fit=fit, seed=run.seed)
        run.use_training(history)
        histories[method] = history
        detections[method] = monitoring.Detection.of(
            method, monitoring.reconstruction_scores(model), w)
    return MonitoringStudy(w, detections, histories)


# --- 3. information plane ------------------------------------------------------------------------

def infoplane_study(run) -> dict[str, list]:
    """Per activation, one History (with the plane) per seed."""
    s = run.settings
    x, y = infoplane.twelve_bit_task(0)
    out: dict[str, list] = {}
    for activation in infoplane.ACTIVATIONS:
        out[activation] = []
        for k in range(s.ip_seeds):
            seed = run.seed + k
            train_idx = np.random.default_rng(seed).permutation(len(x))[:int(0.8 * len(x))]
            key = training_data("real", cache.array_digest([x, y, train_idx]),
                                corpus="12-bit task")

            def fit(model, _path, activation=activation, seed=seed, train_idx=train_idx):
                return infoplane.fit_ib(model, x, y, train_idx, epochs=s.ip_epochs,
                                        points=s.ip_points, activation=activation, seed=seed,
                                        batch_size=s.ip_batch, lr=s.ip_lr)
            _, history = CHAPTER.train_cached(
                f"ib-{activation}-{seed}", params={"epochs": s.ip_epochs, "points": s.ip_points,
                                                   "batch": s.ip_batch, "lr": s.ip_lr},
                data=key, make=lambda a=activation: infoplane.IBNet(a), fit=fit, seed=seed)
            run.use_training(history)
            out[activation].append(history)
    return out


def compression_bits(histories: list) -> np.ndarray:
    """Mean over seeds of each hidden layer's fall of I(X;T) from its peak (bits)."""
    return np.mean([infoplane.compression(infoplane.plane(h)[1]) for h in histories], 0)


# --- 4./5. learning curves, feature visualisation ------------------------------------------------

@dataclass
class CurvesStudy:
    histories: dict[str, Any]
    readings: dict[str, curves.CurveReading]
    model: torch.nn.Module
    x_val: torch.Tensor
    y_val: np.ndarray
    proba: np.ndarray


def curves_study(run, mnist: Mnist) -> CurvesStudy:
    """The CNN with and without augmentation, and the bottleneck, on a small subset."""
    s = run.settings
    pick = np.random.default_rng(run.seed).permutation(len(mnist.y_train))
    tr, va = pick[:s.curve_train], pick[s.curve_train:s.curve_train + s.curve_val]
    x, y = nets.images(mnist.x_train[tr]), torch.as_tensor(mnist.y_train[tr].astype(int))
    x_val, y_val = nets.images(mnist.x_train[va]), mnist.y_train[va].astype(np.int64)
    key = training_data("real", cache.array_digest([mnist.x_train[tr], y.numpy()]),
                        corpus="mnist subset", images=len(tr))
    variants = {"CNN": (False, lambda: nets.DigitCNN(2 * s.width)),
                "CNN + augmentation": (True, lambda: nets.DigitCNN(2 * s.width)),
                "2-unit bottleneck": (False, lambda: nets.Bottleneck(2))}
    histories, models = {}, {}
    for name, (augment, make) in variants.items():
        def fit(model, path, augment=augment, name=name):
            ds = (nets.Jittered(x, y, run.seed) if augment
                  else torch.utils.data.TensorDataset(x, y))
            return nets.fit_classifier(model, ds, (x_val, torch.as_tensor(y_val)), path,
                                       epochs=s.curve_epochs, seed=run.seed, desc=name,
                                       batch_size=32, lr=3e-3)
        models[name], histories[name] = CHAPTER.train_cached(
            f"curves-{name.replace(' ', '-').replace('+', 'aug')}",
            params={"augment": augment, "epochs": s.curve_epochs, "width": 2 * s.width, "lr": 3e-3,
                    "model": name}, data=key, make=make, fit=fit, seed=run.seed)
        run.use_training(histories[name])
    readings = {k: curves.CurveReading.of(h) for k, h in histories.items()}
    best = models["CNN + augmentation"]
    return CurvesStudy(histories, readings, best, x_val, y_val, nets.predict(best, x_val))


# --- 6. loss shaping, read from the DeepScores chapter -------------------------------------------

def deepscores_schedules() -> dict[str, Any] | None:
    """The DeepScores chapter's joint vs staged (the paper's) detector schedules, from its
    committed full-scale record, else its latest results file (in this run's results folder,
    which the runner stages, else the project's ``results/``); None when neither exists."""
    record = results.load_record("deepscores")
    if record is None:
        root = config.project_root()
        places = [config.results_dir(), *([root / "results"] if root else [])]
        found = [p / "deepscores.json" for p in places if (p / "deepscores.json").exists()]
        if not found:
            return None
        record = results.load_results(found[0])
    schedules = record["metrics"].get("schedules") or {}
    if not {"joint", "paper"} <= set(schedules):
        return None
    return {"scale": record["scale"], "started": record["provenance"]["started"],
            "dataset": record["metrics"].get("dataset", {}),
            **{k: {m: v for m, v in schedules[k].items() if m != "history"}
               for k in ("joint", "paper")},
            "histories": {k: schedules[k].get("history") for k in ("joint", "paper")}}


def schedule_table(shaping: dict[str, Any]) -> pd.DataFrame:
    """Joint vs staged: mean AP@0.5, notehead AP, held-out losses."""
    keys = ("mean AP@0.5", "noteheadBlack AP@0.5", "held-out energy loss",
            "held-out class loss")
    return pd.DataFrame({name: {k: shaping[name].get(k) for k in keys}
                         for name in ("joint", "paper")}).T.rename(
        index={"joint": "joint (all losses at once)", "paper": "staged (the paper's)"})


def metrics(imb: ImbalanceStudy, sym: SymbolStudy, mon: MonitoringStudy,
            planes: dict[str, list], curve_study: CurvesStudy, shaping: dict[str, Any] | None,
            settings: Any) -> dict[str, Any]:
    """The results record's metrics: every section's numbers."""
    return {
        "imbalance": imb.record(),
        "symbols": sym.record(),
        "monitoring": mon.record(),
        "information_plane": {a: {"compression_bits": compression_bits(h).tolist(),
                                  "val_accuracy": [r.epochs[-1]["val_accuracy"] for r in h]}
                              for a, h in planes.items()},
        "curves": {k: vars(r) for k, r in curve_study.readings.items()},
        "loss_shaping": None if shaping is None else {
            k: shaping[k] for k in ("scale", "started")} | {
            k: {m: v for m, v in shaping[k].items() if m != "ap"} for k in ("joint", "paper")},
        "settings": settings.as_dict(),
    }

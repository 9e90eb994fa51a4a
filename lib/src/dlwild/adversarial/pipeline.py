"""The chapter's orchestration: data, victims, attacks, maps, scores, the detector, the
ablations and the measurements for the paper-vs-ours table. Each step is a function the
notebook calls; the logic lives in the modules it calls (tested there)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from dlwild.adversarial import claims as paper_claims
from dlwild.adversarial.attacks import TITLES, AttackResult, attack_in_chunks
from dlwild.adversarial.detector import Detection, auc, detection_table, recall_precision
from dlwild.adversarial.entropy import READINGS, ceiling, local_spatial_entropy
from dlwild.adversarial.maps import feature_response
from dlwild.adversarial.model import Victim, as_tensor, predict, train_victim
from dlwild.adversarial.settings import ATTACKS, SLOW_ATTACKS
from dlwild.core import data as datalayer
from dlwild.core.readers import load_mnist
from dlwild.core.report import Measured, glue_value


def stratified(labels: np.ndarray, n: int, rng: np.random.Generator,
               among: np.ndarray | None = None) -> np.ndarray:
    """``n`` indices drawn at random, as evenly over the classes as they allow (the first
    ``n % classes`` classes in a random order get one more), from ``among`` (default all)."""
    pool = np.arange(len(labels)) if among is None else np.asarray(among)
    classes = np.unique(labels[pool])
    if n > len(pool):
        raise ValueError(f"asked for {n} images, only {len(pool)} available")
    per = {c: rng.permutation(pool[labels[pool] == c]) for c in classes}
    order = rng.permutation(classes)
    chosen: list[int] = []
    depth = 0
    while len(chosen) < n:
        for c in order:
            if depth < len(per[c]) and len(chosen) < n:
                chosen.append(int(per[c][depth]))
        depth += 1
    return np.sort(np.array(chosen, dtype=np.int64))


@dataclass
class Mnist:
    """MNIST as resolved: training, validation (held out from training) and test images."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    fetched: Any


def load_data(run: Any) -> Mnist:
    """MNIST through the data layer (cache, mirror, download; checksums checked), the
    scale's number of training images drawn with the run's seed and 2,000 held out."""
    fetched = datalayer.resolve("mnist", run.data)
    if fetched is None:
        raise datalayer.DataUnavailable("MNIST could not be reached (no cache, mirror or "
                                        "network) and this chapter has no generator")
    run.use_data("mnist", fetched)
    x, y = load_mnist("train", fetched)
    test = load_mnist("test", fetched)
    order = np.random.default_rng(run.seed).permutation(len(x))
    n = run.settings.train_images or len(x) - 2000
    train_idx, val_idx = np.sort(order[:n]), np.sort(order[-2000:])
    return Mnist((x[train_idx], y[train_idx]), (x[val_idx], y[val_idx]), test, fetched)


def load_coil20(run: Any) -> Mnist:
    """COIL-20 (20 objects x 72 poses, 32 x 32 grey) through the data layer, split per
    object with the run's seed: 54 poses for training, 6 held out, 12 for testing."""
    from scipy.io import loadmat

    fetched = datalayer.resolve("coil20_32x32_mat", run.data)
    if fetched is None:
        raise datalayer.DataUnavailable("COIL-20 could not be reached (no cache, mirror or "
                                        "network) and this chapter has no generator")
    run.use_data("coil20_32x32_mat", fetched)
    mat = loadmat(fetched["COIL20.mat"])
    x = np.clip(np.round(mat["X"].reshape(-1, 32, 32).transpose(0, 2, 1)), 0, 255)
    x = x.astype(np.uint8)
    y = (mat["Y"].ravel() - 1).astype(np.uint8)
    rng = np.random.default_rng(run.seed)
    parts: list[list[int]] = [[], [], []]
    for c in np.unique(y):
        order = rng.permutation(np.flatnonzero(y == c))
        for k, (lo, hi) in enumerate(((0, 54), (54, 60), (60, 72))):
            parts[k].extend(order[lo:hi].tolist())
    train, val, test = (np.sort(np.array(p)) for p in parts)
    return Mnist((x[train], y[train]), (x[val], y[val]), (x[test], y[test]), fetched)


def coil20_study(run: Any, chapter: Any) -> Study:
    """The full scale's second victim: a VGG-style CNN on COIL-20, attacked like the MNIST
    one; its test set is small, so half of the correctly classified test images calibrate
    and the other half are attacked (the slow attacks on up to ``slow_images`` of them)."""
    coil = load_coil20(run)
    victim = train_victim(chapter, "coil20", coil.train, coil.val, coil.test,
                          classes=tuple(range(20)), settings=run.settings, seed=run.seed,
                          source="real", device=run.device)
    run.use_training(victim.history)
    return study(run, victim, coil, split="halves")


def coil20_view(coil: Study | None) -> Any:
    """The COIL-20 study's attacks and detection side by side, or a note that this scale
    does not run it."""
    from IPython.display import Markdown

    if coil is None:
        return Markdown("*The COIL-20 victim runs at full scale only (`--scale full`); see "
                        "the committed full-scale record below.*")
    return attacks_and_detection(coil.summary(), coil.table(), coil.victim.test_accuracy,
                                 "COIL-20")


def attacks_and_detection(summary: pd.DataFrame, table: pd.DataFrame, accuracy: float,
                          victim: str) -> Any:
    """One victim's attacks (images, success rate, median L2) beside their detection (AUC,
    rates at 1/5/10 % FPR), rows by attack: the live COIL-20 study's and a record's."""
    view = summary[["images", "success rate", "median L2"]].join(
        table[["AUC", "detected @ 1% FPR", "detected @ 5% FPR", "detected @ 10% FPR"]])
    view.insert(0, "attack", [TITLES[a] for a in view.index])
    return view.style.format(precision=3, na_rep="–").format(
        "{:,.0f}", subset=["images"]).set_caption(
        f"{victim} victim, test accuracy {accuracy:.2%}")


def subset(images: np.ndarray, labels: np.ndarray,
           classes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The images of ``classes``, labels renumbered 0..len(classes)-1 in that order."""
    keep = np.isin(labels, classes)
    mapping = np.full(int(labels.max()) + 1, -1)
    mapping[list(classes)] = np.arange(len(classes))
    return images[keep], mapping[labels[keep]].astype(np.uint8)


def victims(run: Any, chapter: Any, mnist: Mnist) -> tuple[Victim, Victim]:
    """The ten-class victim and the few-class one (the digits ``few_classes``)."""
    if run.settings.threads:
        torch.set_num_threads(run.settings.threads)
    s, common = run.settings, {"settings": run.settings, "seed": run.seed, "source": "real",
                               "device": run.device}
    ten = train_victim(chapter, "mnist", mnist.train, mnist.val, mnist.test,
                       classes=tuple(range(10)), **common)
    few = train_victim(chapter, "mnist-" + "".join(map(str, s.few_classes)),
                       subset(*mnist.train, s.few_classes), subset(*mnist.val, s.few_classes),
                       subset(*mnist.test, s.few_classes), classes=s.few_classes, **common)
    for v in (ten, few):
        run.use_training(v.history)
    return ten, few


@dataclass
class Study:
    """Everything the page shows: the attacks, the maps' scores, the detections."""

    victim: Victim
    results: dict[str, AttackResult]
    calibration: np.ndarray                 # clean calibration scores
    clean_scores: dict[str, np.ndarray]     # per attack: its images before the attack
    adv_scores: dict[str, np.ndarray]       # per attack: its images after
    detections: dict[str, Detection]
    maps: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(repr=False)
    calibration_images: torch.Tensor = field(repr=False)
    test_labels: np.ndarray = field(repr=False)

    def summary(self) -> pd.DataFrame:
        """Table 1's columns per attack (ours)."""
        return pd.DataFrame({a: r.summary() for a, r in self.results.items()}).T

    def table(self) -> pd.DataFrame:
        """Detection rates and AUC per attack (ours)."""
        return detection_table(list(self.detections.values()))

    def paper_table(self) -> pd.DataFrame:
        """The paper's Table 1 beside ours (detection of successful attacks)."""
        ours, mine = self.summary(), self.table()
        rows = []
        for a, (succ, gt, new, d1, d5, d10) in paper_claims.TABLE_1_ROWS.items():
            rows.append({"attack": TITLES[a], "paper success": succ,
                         "ours success": ours.loc[a, "success rate"],
                         "paper GT conf.": gt, "ours GT conf.": ours.loc[a, "GT confidence"],
                         "paper new conf.": new,
                         "ours new conf.": ours.loc[a, "new-class confidence"],
                         "paper @1%": d1, "ours @1%": mine.loc[a, "detected @ 1% FPR"],
                         "paper @5%": d5, "ours @5%": mine.loc[a, "detected @ 5% FPR"],
                         "paper @10%": d10, "ours @10%": mine.loc[a, "detected @ 10% FPR"]})
        return pd.DataFrame(rows).set_index("attack")

    def operating_point(self, fpr: float = 0.10) -> pd.DataFrame:
        """Recall, precision (balanced: as many clean as adversarial images) and the
        false-positive rate on the clean evaluation images at the calibration threshold for
        ``fpr``, per attack, beside Table 2's recall and precision (whose operating point
        and class balance the paper does not state)."""
        rows = {}
        for a, d in self.detections.items():
            if not d.success.any():
                continue
            recall, precision, seen = recall_precision(d.clean, d.successful, d.cuts[fpr])
            rows[TITLES[a]] = {"recall": recall, "precision": precision,
                               "FPR on evaluation images": seen}
        frame = pd.DataFrame(rows).T
        frame.loc["mean (ours)"] = frame.mean()
        frame.loc["paper, Table 2"] = {"recall": 0.979, "precision": 0.920,
                                       "FPR on evaluation images": float("nan")}
        return frame

    def glue(self) -> None:
        """The numbers the prose quotes."""
        s = self.summary()
        t = self.table()
        glue_value("adv_accuracy", self.victim.test_accuracy, ".2%")
        glue_value("adv_n_calibration", len(self.calibration), "d")
        glue_value("adv_n_fast", int(s.loc["fgsm", "images"]), "d")
        glue_value("adv_n_slow", int(s.loc["boundary", "images"]), "d")
        glue_value("adv_ceiling", ceiling(3, "intensity"), ".2f")
        glue_value("adv_ceiling_co", ceiling(3, "cooccurrence"), ".2f")
        glue_value("adv_clean_mean", float(self.calibration.mean()), ".2f")
        glue_value("adv_clean_max", float(self.calibration.max()), ".2f")
        for a in self.results:
            glue_value(f"adv_success_{a}", float(s.loc[a, "success rate"]), ".0%")
            glue_value(f"adv_auc_{a}", float(t.loc[a, "AUC"]), ".3f")
            glue_value(f"adv_d1_{a}", float(t.loc[a, "detected @ 1% FPR"]), ".0%")
            glue_value(f"adv_l2_{a}", float(s.loc[a, "median L2"]), ".2f")
            glue_value(f"adv_spi_{a}", float(s.loc[a, "s / image"]), ".3f")
        best = t["AUC"].astype(float).idxmax()
        worst = t["AUC"].astype(float).idxmin()
        glue_value("adv_best", TITLES[best])
        glue_value("adv_worst", TITLES[worst])
        auc = t["AUC"].astype(float)
        glue_value("adv_auc_mean", float(np.nanmean(auc)), ".3f")
        counted = int(np.isfinite(auc).sum())
        glue_value("adv_auc_over", f"the {counted} attacks that succeeded on some image"
                   if counted < len(auc) else f"all {counted} attacks")


def scores(model: torch.nn.Module, x: torch.Tensor, window: int = 3,
           reading: str = "intensity") -> tuple[torch.Tensor, np.ndarray]:
    """Guided-backprop maps of ``x`` and their mean local spatial entropy."""
    maps = feature_response(model, x)
    return maps, local_spatial_entropy(maps, window, reading=reading).numpy()


def study(run: Any, victim: Victim, mnist: Mnist, attacks: tuple[str, ...] = ATTACKS,
          split: str = "counts") -> Study:
    """Attack stratified random samples of correctly classified test images, score the
    maps, set thresholds on a separate clean calibration sample and evaluate. ``split``
    "counts": the scale's image counts; "halves": half of the correct test images
    calibrate, the other half are attacked (small test sets)."""
    s = run.settings
    if s.threads:
        torch.set_num_threads(s.threads)
    rng = np.random.default_rng(run.seed)
    x_test = as_tensor(mnist.test[0])
    y_test = mnist.test[1].astype(np.int64)
    correct = np.flatnonzero(predict(victim.model, x_test).argmax(1).numpy() == y_test)
    if split == "halves":
        n_calibration, n_fast = len(correct) // 2, len(correct) - len(correct) // 2
    else:
        n_calibration, n_fast = s.calibration_images, s.fast_images
    calibration_idx = stratified(y_test, n_calibration, rng, among=correct)
    rest = np.setdiff1d(correct, calibration_idx)
    fast_idx = stratified(y_test, min(n_fast, len(rest)), rng, among=rest)
    slow_idx = stratified(y_test, min(s.slow_images, len(fast_idx)), rng, among=fast_idx)
    model = victim.model
    how = {"window": run.params.get("window", 3), "reading": run.params.get("reading",
                                                                            "intensity")}
    _, calibration = scores(model, x_test[calibration_idx], **how)
    results, clean_scores, adv_scores, detections, maps = {}, {}, {}, {}, {}
    for k, name in enumerate(attacks):
        slow = name in SLOW_ATTACKS
        idx = slow_idx if slow else fast_idx
        result = attack_in_chunks(name, model, x_test[idx], torch.from_numpy(y_test[idx]),
                                  settings=s, seed=run.seed + k,
                                  chunk=s.slow_chunk if slow else s.fast_chunk)
        clean_maps, clean = scores(model, result.clean, **how)
        adv_maps, adv = scores(model, result.adversarial, **how)
        results[name], clean_scores[name], adv_scores[name] = result, clean, adv
        maps[name] = (clean_maps, adv_maps)
        detections[name] = Detection.of(name, calibration, clean, adv, result.success)
    return Study(victim, results, calibration, clean_scores, adv_scores, detections, maps,
                 x_test[calibration_idx], y_test)


def few_class_l2(run: Any, main: Study, few: Victim) -> tuple[float, float]:
    """Median L2 of successful DeepFool perturbations on the same images (the ten-class
    study's DeepFool images of the few classes that the few-class victim also classifies
    correctly): (ten-class victim, few-class victim)."""
    classes = run.settings.few_classes
    result = main.results["deepfool"]
    labels = result.labels.numpy()
    keep = np.isin(labels, classes)
    mapping = {c: i for i, c in enumerate(classes)}
    x = result.clean[keep]
    y = torch.tensor([mapping[int(v)] for v in labels[keep]], dtype=torch.int64)
    right = (predict(few.model, x).argmax(1) == y).numpy()
    ten_l2 = result.norms()[0][keep][right & result.success[keep]]
    few_result = attack_in_chunks("deepfool", few.model, x[right], y[right],
                                  settings=run.settings, seed=run.seed,
                                  chunk=run.settings.fast_chunk)
    few_l2 = few_result.norms()[0][few_result.success]
    ten, many = (float(np.median(v)) if len(v) else float("nan") for v in (ten_l2, few_l2))
    glue_value("adv_few_l2", many, ".2f")
    glue_value("adv_ten_l2", ten, ".2f")
    glue_value("adv_few_n", int(right.sum()), "d")
    glue_value("adv_few_classes", ", ".join(map(str, classes)))
    glue_value("adv_few_accuracy", few.test_accuracy, ".2%")
    return ten, many


def ablation_images(images: int, attacked: Mapping[str, int]) -> str:
    """How many images of each attack the ablation scored: the first ``images`` of each,
    all of those attacks that had fewer (``attacked``: images attacked, by attack name)."""
    fewer: dict[int, list[str]] = {}
    for name, n in attacked.items():
        if n < images:
            fewer.setdefault(int(n), []).append(TITLES[name])
    text = f"the first {images:,} images of each attack"
    parts = [f"all {n:,} of the {' and the '.join(names)}" for n, names in fewer.items()]
    return text + (f" ({'; '.join(parts)})" if parts else "")


def ablation(main: Study, images: int, windows: tuple[int, ...]) -> pd.DataFrame:
    """AUC per attack (clean evaluation vs successful adversarial images, the first
    ``images`` of each attack) for other maps and entropies: the three readings of the
    histogram, other windows, plain gradients instead of guided backpropagation, and the
    predicted logit instead of the last convolutional block as the back-propagated signal."""
    model = main.victim.model
    variants = [("guided, features", {"method": "guided", "layer": "features"}),
                ("plain gradient, features", {"method": "gradient", "layer": "features"}),
                ("guided, logit", {"method": "guided", "layer": "logit"})]
    rows = {}
    for label, kwargs in variants:
        responses = {}
        for a, r in main.results.items():
            clean, adv = r.clean[:images], r.adversarial[:images]
            responses[a] = (feature_response(model, clean, **kwargs),
                            feature_response(model, adv, **kwargs), r.success[:images])
        combos = [(reading, 3) for reading in READINGS] if label == variants[0][0] else []
        combos += [("intensity", w) for w in windows if w != 3] if label == variants[0][0] \
            else [("intensity", 3)]
        for reading, window in combos:
            row = {}
            for a, (c, v, ok) in responses.items():
                sc = local_spatial_entropy(c, window, reading=reading).numpy()
                sv = local_spatial_entropy(v, window, reading=reading).numpy()
                row[TITLES[a]] = auc(sc, sv[ok]) if ok.any() else float("nan")
            rows[f"{label}; {reading}, {window}x{window}"] = row
    frame = pd.DataFrame(rows).T
    frame.attrs["images"] = images
    mean = frame.mean(axis=1, skipna=True)
    glue_value("adv_abl_n", ablation_images(images, {a: r.n for a, r in main.results.items()}))
    glue_value("adv_abl_best", mean.idxmax())
    glue_value("adv_abl_best_auc", float(mean.max()), ".3f")
    glue_value("adv_abl_literal_auc", float(mean.iloc[0]), ".3f")
    return frame


def measured(main: Study, few: tuple[float, float], scale: str,
             ablation: pd.DataFrame | None = None) -> dict[str, Measured]:
    """Our side of every claim (see :func:`dlwild.adversarial.claims.measure`)."""
    summaries = {a: r.summary() for a, r in main.results.items()}
    return paper_claims.measure(summaries, main.table(), few, data="MNIST", scale=scale,
                                ablation=ablation)


def metrics(main: Study, few: tuple[float, float], coil: Study | None = None,
            ablation: pd.DataFrame | None = None) -> dict[str, Any]:
    """The results record's metrics (plain JSON values): each victim's attacks and
    detections, the few-class DeepFool norms, the ablation's AUCs, the attacks' parameters."""
    def plain(frame: pd.DataFrame) -> dict[str, Any]:
        return {str(i): {str(k): (v if isinstance(v, str) else
                                  (float(v) if np.isfinite(float(v)) else None))
                         for k, v in row.items()} for i, row in frame.iterrows()}

    extra = {} if coil is None else {"coil20": {
        "victim_test_accuracy": coil.victim.test_accuracy,
        "attacks": plain(coil.summary().drop(columns=["attack", "library"])),
        "detection": plain(coil.table())}}
    if ablation is not None:
        extra["ablation"] = {"images": ablation.attrs.get("images"), "auc": plain(ablation)}
    return {**extra, "victim_test_accuracy": main.victim.test_accuracy,
            "attacks": plain(main.summary().drop(columns=["attack", "library"])),
            "detection": plain(main.table()),
            "deepfool_median_l2": {"ten_classes": few[0], "few_classes": few[1]},
            "params": {a: r.params for a, r in main.results.items()}}

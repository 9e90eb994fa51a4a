"""The detector: flag an image as adversarial when its mean local spatial entropy exceeds a
threshold set on clean calibration images (never the images the rates are reported on);
detection rates at fixed false-positive rates, ROC curves and AUC."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

#: The paper's operating points (Table 1): false-positive rates on clean images.
FPRS = (0.01, 0.05, 0.10)


def _scores(values: np.ndarray | Sequence[float], what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or not len(array):
        raise ValueError(f"{what} must be a non-empty 1-D array of scores, got shape "
                         f"{array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} must be finite")
    return array


def thresholds(calibration: np.ndarray | Sequence[float],
               fprs: Sequence[float] = FPRS) -> dict[float, float]:
    """Threshold per false-positive rate a: the (1 - a)-quantile of the clean calibration
    scores (an image is flagged when its score is strictly above it)."""
    scores = _scores(calibration, "calibration scores")
    for a in fprs:
        if not 0 < a < 1:
            raise ValueError(f"false-positive rates must be in (0, 1), got {a}")
    return {a: float(np.quantile(scores, 1 - a, method="higher")) for a in fprs}


def detection_rates(adversarial: np.ndarray | Sequence[float],
                    cuts: Mapping[float, float]) -> dict[float, float]:
    """Share of ``adversarial`` scores above each threshold."""
    scores = np.asarray(adversarial, dtype=np.float64)
    return {a: float((scores > t).mean()) if len(scores) else float("nan")
            for a, t in cuts.items()}


def auc(clean: np.ndarray | Sequence[float], adversarial: np.ndarray | Sequence[float]) -> float:
    """Area under the ROC curve of clean (negative) vs adversarial (positive) scores."""
    clean, adversarial = _scores(clean, "clean scores"), np.asarray(adversarial, float)
    if not len(adversarial):
        return float("nan")
    truth = np.r_[np.zeros(len(clean)), np.ones(len(adversarial))]
    return float(roc_auc_score(truth, np.r_[clean, adversarial]))


def roc(clean: np.ndarray, adversarial: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rates, true-positive rates) of the ROC curve."""
    truth = np.r_[np.zeros(len(clean)), np.ones(len(adversarial))]
    fpr, tpr, _ = roc_curve(truth, np.r_[clean, adversarial])
    return fpr, tpr


def recall_precision(clean: np.ndarray, adversarial: np.ndarray,
                     threshold: float) -> tuple[float, float, float]:
    """(recall, precision, false-positive rate) at ``threshold`` on a balanced set: as many
    clean as adversarial images (Table 2's precision needs a class balance; the paper's is
    not stated, so we assume 1:1). Precision = TPR / (TPR + FPR)."""
    tpr = float((np.asarray(adversarial) > threshold).mean())
    fpr = float((np.asarray(clean) > threshold).mean())
    return tpr, (tpr / (tpr + fpr) if tpr + fpr > 0 else float("nan")), fpr


@dataclass
class Detection:
    """The detector's evaluation for one attack: thresholds from the calibration scores,
    detection rates of the successful and of all attacked images, AUC of clean evaluation
    images vs successful adversarial ones."""

    attack: str
    clean: np.ndarray        # scores of the clean evaluation images (the attacked ones, before)
    adversarial: np.ndarray  # scores of every attacked image
    success: np.ndarray      # which attacks succeeded
    cuts: dict[float, float]

    @classmethod
    def of(cls, attack: str, calibration: np.ndarray, clean: np.ndarray,
           adversarial: np.ndarray, success: np.ndarray,
           fprs: Sequence[float] = FPRS) -> Detection:
        adversarial, success = np.asarray(adversarial, float), np.asarray(success, bool)
        if adversarial.shape != success.shape:
            raise ValueError("one success flag per attacked image is needed: got "
                             f"{adversarial.shape} scores and {success.shape} flags")
        return cls(attack, _scores(clean, "clean scores"), adversarial, success,
                   thresholds(calibration, fprs))

    @property
    def successful(self) -> np.ndarray:
        return self.adversarial[self.success]

    def rates(self, successful_only: bool = True) -> dict[float, float]:
        return detection_rates(self.successful if successful_only else self.adversarial,
                               self.cuts)

    def auc(self) -> float:
        return auc(self.clean, self.successful)

    def row(self) -> dict[str, float]:
        """One row per counting: successful attacks, then all attacked images."""
        out = {"AUC": self.auc()}
        for a, rate in self.rates(True).items():
            out[f"detected @ {a:.0%} FPR"] = rate
        for a, rate in self.rates(False).items():
            out[f"all attacked @ {a:.0%} FPR"] = rate
        out["mean score (clean)"] = float(self.clean.mean())
        out["mean score (adversarial)"] = (float(self.successful.mean())
                                           if self.success.any() else float("nan"))
        return out


def detection_table(detections: Sequence[Detection]) -> pd.DataFrame:
    """Detection rates at the paper's FPRs and AUC per attack (rows: attacks)."""
    return pd.DataFrame({d.attack: d.row() for d in detections}).T

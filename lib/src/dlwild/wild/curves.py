"""Learning curves always on: a small CNN on a small MNIST subset with and without
augmentation (the HCS recipe adapted to digits, see :func:`dlwild.wild.nets.jitter`), and a
deliberately under-fitting model. Plus what the trained CNN looks at: guided-backpropagation
maps through the shared :func:`dlwild.adversarial.maps.feature_response` (not written twice),
and its misclassified validation images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from dlwild.core import train


@dataclass(frozen=True)
class CurveReading:
    """What a learning curve says: the epoch of the lowest validation loss, how far the
    validation loss rose after it by the end, and the final train/validation accuracy gap."""

    best_epoch: int
    rise: float
    final_val_loss: float
    final_train_loss: float
    final_val_accuracy: float

    @classmethod
    def of(cls, history: train.History) -> CurveReading:
        frame = history.to_frame()
        if frame.empty or "val_loss" not in frame:
            raise ValueError("a learning curve needs epochs with a validation loss")
        val = frame["val_loss"]
        return cls(int(val.idxmin()), float(val.iloc[-1] - val.min()), float(val.iloc[-1]),
                   float(frame["train_loss"].iloc[-1]), float(frame["val_accuracy"].iloc[-1]))

    @property
    def overfits(self) -> bool:
        """Validation loss ended at least 10 % above its minimum (early over-fitting)."""
        return self.rise > 0.1 * (self.final_val_loss - self.rise)

    @property
    def underfits(self) -> bool:
        """Training loss stays high (> 0.5 nats: not even the training set is learned)."""
        return self.final_train_loss > 0.5


def readings_table(readings: dict[str, CurveReading]) -> pd.DataFrame:
    """One row per model: best epoch, rise, final losses and accuracy, the diagnosis."""
    rows = []
    for name, r in readings.items():
        word = "over-fits" if r.overfits else "under-fits" if r.underfits else "fits"
        rows.append({"model": name, "best epoch": r.best_epoch, "val loss rise": r.rise,
                     "final train loss": r.final_train_loss, "final val loss": r.final_val_loss,
                     "final val accuracy": r.final_val_accuracy, "diagnosis": word})
    return pd.DataFrame(rows).set_index("model")


def augmentation_removes_overfitting(plain: CurveReading, augmented: CurveReading) -> bool:
    """The HCS claim as a relation: without augmentation the curve over-fits, with it the
    validation loss rises less (at most half as much) and ends lower."""
    return (plain.overfits and augmented.rise <= 0.5 * plain.rise
            and augmented.final_val_loss < plain.final_val_loss)


def guided_maps(model: torch.nn.Module, x: torch.Tensor, layer: str = "logit") -> np.ndarray:
    """Guided-backpropagation maps (N, 28, 28) in [0, 1] of the predicted class (``logit``)
    or of the last convolutional block (``features``), via the adversarial chapter's code."""
    from dlwild.adversarial.maps import feature_response

    return feature_response(model, x, method="guided", layer=layer).numpy()


def misclassified(proba: np.ndarray, y: np.ndarray, limit: int = 12) -> np.ndarray:
    """Indices of up to ``limit`` misclassified images, the most confident mistakes first."""
    pred = proba.argmax(1)
    wrong = np.flatnonzero(pred != y)
    return wrong[np.argsort(-proba[wrong, pred[wrong]])][:limit]

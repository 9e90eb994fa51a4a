"""Condition monitoring as novelty detection (Beyond ImageNet 4.4, here on the CWRU bearings):
train on normal vibration only, score held-out normal windows and the nine fault files.

Signals: the drive-end channel of each file, brought to one rate, 12 kHz (the fault files'
rate; file 97, the normal baseline, is read at ``normal_rate`` and resampled with a
polyphase filter). Windows are cut *after* splitting the normal signal into contiguous
training, validation and test blocks, so no window crosses a boundary. Features: the log
energies of ``bands`` equal-width FFT sub-bands of each Hann-windowed window, z-scored per
feature with the training median and MAD (robust z-score). Detectors (higher score = more
anomalous): PCA reconstruction error, Mahalanobis distance in the whitened PCA space,
one-class SVM (nu 0.1), a 16-component GMM, and three autoencoders in torch (fully
connected with sigmoid units, LSTM 10-4-10, denoising with 10 hidden units)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.io import loadmat
from scipy.signal import resample_poly
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.mixture import GaussianMixture
from sklearn.svm import OneClassSVM
from torch import nn
from torch.utils.data import TensorDataset

from dlwild.core import train
from dlwild.wild.nets import one_thread
from dlwild.wild.settings import TARGET_RATE

KNOWN_RATES = (12_000, 48_000)
NORMAL_FILE = "normal_0_97.mat"
#: The nine fault files (CWRU numbers) and their short names.
FAULTS = {
    "12k_Drive_End_IR007_0_105.mat": "IR 0.007", "12k_Drive_End_B007_0_118.mat": "B 0.007",
    "12k_Drive_End_OR007@6_0_130.mat": "OR 0.007", "12k_Drive_End_IR014_0_169.mat": "IR 0.014",
    "12k_Drive_End_B014_0_185.mat": "B 0.014", "12k_Drive_End_OR014@6_0_197.mat": "OR 0.014",
    "12k_Drive_End_IR021_0_209.mat": "IR 0.021", "12k_Drive_End_B021_0_222.mat": "B 0.021",
    "12k_Drive_End_OR021@6_0_234.mat": "OR 0.021",
}
CLASSICAL = ("pca", "mahalanobis", "ocsvm", "gmm")
DEEP = ("fc_ae", "lstm_ae", "denoising_ae")
METHODS = CLASSICAL + DEEP


def read_channel(path: str | Path, channel: str = "DE") -> np.ndarray:
    """One channel (``DE``, ``FE`` or ``BA``) of a CWRU .mat file as a 1-D float array, found
    by its key's suffix (``X<no>_<channel>_time``); a missing channel is a ValueError."""
    mat = loadmat(str(path))
    keys = [k for k in mat if re.fullmatch(rf"X\d+_{channel}_time", k)]
    if len(keys) != 1:
        have = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(f"{Path(path).name} has no single {channel} channel "
                         f"(X<no>_{channel}_time); its variables: {have}")
    return np.asarray(mat[keys[0]], dtype=np.float64).ravel()


def to_target_rate(signal: np.ndarray, rate: int) -> np.ndarray:
    """``signal`` sampled at ``rate`` Hz, resampled to 12 kHz (polyphase, anti-aliased). A
    rate other than CWRU's 12 or 48 kHz is a ValueError: no silent guess."""
    if rate not in KNOWN_RATES:
        raise ValueError(f"a CWRU recording is sampled at {KNOWN_RATES} Hz, got {rate}")
    if rate == TARGET_RATE:
        return signal
    g = math.gcd(rate, TARGET_RATE)
    return resample_poly(signal, TARGET_RATE // g, rate // g)


def windows(signal: np.ndarray, window: int, hop: int) -> np.ndarray:
    """(n, window) windows of ``signal``, ``hop`` apart; a signal shorter than one window is a
    ValueError."""
    if window < 2 or hop < 1:
        raise ValueError(f"window must be >= 2 and hop >= 1, got {window} and {hop}")
    if len(signal) < window:
        raise ValueError(f"a recording of {len(signal)} samples is shorter than one window "
                         f"({window} samples)")
    n = 1 + (len(signal) - window) // hop
    return np.stack([signal[i * hop:i * hop + window] for i in range(n)])


def split_blocks(signal: np.ndarray, fractions=(0.6, 0.2, 0.2)) -> list[np.ndarray]:
    """Contiguous blocks of ``signal`` (training, validation, test): windows are cut within a
    block, so none crosses a boundary."""
    edges = np.rint(np.cumsum((0, *fractions)) / sum(fractions) * len(signal)).astype(int)
    return [signal[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def band_energies(w: np.ndarray, bands: int) -> np.ndarray:
    """log10 energy of ``bands`` equal-width FFT sub-bands of each (Hann-windowed) window."""
    power = np.abs(np.fft.rfft(w * np.hanning(w.shape[1]), axis=1)) ** 2
    if bands > power.shape[1]:
        raise ValueError(f"{bands} bands need windows of >= {2 * bands} samples")
    parts = np.array_split(power, bands, axis=1)
    return np.log10(np.stack([p.sum(1) for p in parts], 1) + 1e-12)


@dataclass(frozen=True)
class RobustZ:
    """Per-feature z-score with the training median and MAD (scaled to a Gaussian's std)."""

    median: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> RobustZ:
        med = np.median(x, 0)
        mad = 1.4826 * np.median(np.abs(x - med), 0)
        return cls(med, np.where(mad > 0, mad, 1.0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.median) / self.scale).astype(np.float32)


@dataclass
class Windows:
    """The features of every split: normal train/val/test, and per fault val/test."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    faults_val: dict[str, np.ndarray]
    faults_test: dict[str, np.ndarray]

    def counts(self) -> dict[str, int]:
        return {"normal train": len(self.train), "normal validation": len(self.val),
                "normal test": len(self.test),
                "fault validation": sum(len(v) for v in self.faults_val.values()),
                "fault test": sum(len(v) for v in self.faults_test.values())}


def _spread(w: np.ndarray, n: int) -> np.ndarray:
    return w if n <= 0 or n >= len(w) else w[np.linspace(0, len(w) - 1, n).astype(int)]


def prepare(paths: dict[str, Path], *, normal_rate: int, window: int, hop: int, bands: int,
            fault_windows: int) -> Windows:
    """Read the normal file and the nine faults (``paths`` by file name), bring them to
    12 kHz, window and featurise them. A fault file's first half gives validation windows,
    its second half test windows (``fault_windows`` per file in all, 0 = every one)."""
    normal = to_target_rate(read_channel(paths[NORMAL_FILE]), normal_rate)
    blocks = [band_energies(windows(b, window, hop), bands) for b in split_blocks(normal)]
    z = RobustZ.fit(blocks[0])
    val, test = {}, {}
    for name, short in FAULTS.items():
        signal = to_target_rate(read_channel(paths[name]), TARGET_RATE)
        halves = np.array_split(signal, 2)
        per_half = fault_windows // 2
        val[short], test[short] = (z(band_energies(_spread(windows(h, window, window),
                                                           per_half), bands)) for h in halves)
    return Windows(z(blocks[0]), z(blocks[1]), z(blocks[2]), val, test)


# --- classical detectors ---------------------------------------------------------------------

def classical_scores(method: str, train_x: np.ndarray, seed: int, components: int = 50):
    """A fitted classical detector as a function features -> anomaly scores."""
    k = min(components, train_x.shape[0] - 1, train_x.shape[1])
    if method in ("pca", "mahalanobis"):
        pca = PCA(n_components=k, whiten=method == "mahalanobis", random_state=seed).fit(train_x)
        if method == "pca":
            return lambda x: ((pca.inverse_transform(pca.transform(x)) - x) ** 2).mean(1)
        return lambda x: (pca.transform(x) ** 2).sum(1)
    if method == "ocsvm":
        svm = OneClassSVM(nu=0.1, gamma="scale").fit(train_x)
        return lambda x: -svm.decision_function(x)
    if method == "gmm":
        gmm = GaussianMixture(16, covariance_type="diag", random_state=seed, reg_covar=1e-3)
        gmm.fit(train_x)
        return lambda x: -gmm.score_samples(x)
    raise ValueError(f"method must be one of {CLASSICAL}, got {method!r}")


# --- autoencoders ------------------------------------------------------------------------------

class FCAutoencoder(nn.Module):
    """Fully connected, sigmoid units, five hidden layers (d-64-32-8-32-64-d)."""

    def __init__(self, d: int) -> None:
        super().__init__()
        sizes = (d, 64, 32, 8, 32, 64)
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(a, b), nn.Sigmoid()]
        self.net = nn.Sequential(*layers, nn.Linear(64, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LSTMAutoencoder(nn.Module):
    """The band energies read as a sequence of ``steps`` chunks; encoder LSTM 10 -> 4 code,
    decoder LSTM 10 fed the code at every step (hidden layers 10-4-10)."""

    def __init__(self, d: int, steps: int = 10) -> None:
        super().__init__()
        if d % steps:
            raise ValueError(f"{d} features do not split into {steps} steps")
        self.steps, self.chunk = steps, d // steps
        self.encoder = nn.LSTM(self.chunk, 10, batch_first=True)
        self.code = nn.Linear(10, 4)
        self.decoder = nn.LSTM(4, 10, batch_first=True)
        self.out = nn.Linear(10, self.chunk)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = x.view(len(x), self.steps, self.chunk)
        _, (h, _) = self.encoder(seq)
        code = self.code(h[-1])[:, None].expand(-1, self.steps, -1)
        return self.out(self.decoder(code)[0]).reshape(len(x), -1)


class DenoisingAutoencoder(nn.Module):
    """One hidden layer of 10 units; trained to restore inputs with Gaussian noise added."""

    noise = 0.5

    def __init__(self, d: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, 10), nn.Sigmoid(), nn.Linear(10, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            x = x + self.noise * torch.randn_like(x)
        return self.net(x)


def make_autoencoder(method: str, d: int) -> nn.Module:
    """A fresh autoencoder of kind ``method`` for ``d`` features."""
    kinds = {"fc_ae": FCAutoencoder, "lstm_ae": LSTMAutoencoder,
             "denoising_ae": DenoisingAutoencoder}
    if method not in kinds:
        raise ValueError(f"method must be one of {DEEP}, got {method!r}")
    return kinds[method](d)


def fit_autoencoder(model: nn.Module, train_x: np.ndarray, val_x: np.ndarray, checkpoint: Path,
                    *, epochs: int, seed: int, desc: str) -> train.History:
    """Train to reconstruct normal windows (MSE, Adam 1e-3, batch 20, as Beyond ImageNet)."""
    def loss(m, b):
        return ((m(b[0]) - b[0]) ** 2).mean()

    with one_thread():
        return train.fit(model, TensorDataset(torch.as_tensor(train_x)),
                         val_data=TensorDataset(torch.as_tensor(val_x)), loss_fn=loss,
                         optimizer=lambda p: torch.optim.Adam(p, lr=1e-3), epochs=epochs,
                         batch_size=20, seed=seed, checkpoint=checkpoint,
                         checkpoint_every_s=30.0, desc=desc)


def reconstruction_scores(model: nn.Module):
    """Anomaly score of an autoencoder: mean squared reconstruction error per window."""
    def score(x: np.ndarray) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            t = torch.as_tensor(x)
            return ((model(t) - t) ** 2).mean(1).numpy()
    return score


# --- evaluation --------------------------------------------------------------------------------

def tpr_at_fpr(normal: np.ndarray, fault: np.ndarray, threshold: float) -> tuple[float, float]:
    """(share of faults at or above ``threshold``, share of normals at or above it)."""
    return float((fault >= threshold).mean()), float((normal >= threshold).mean())


@dataclass
class Detection:
    """One detector's scores on every split and what they give."""

    method: str
    auc: dict[str, float]
    tpr_at_fpr: float
    fpr_at_threshold: float
    zero_miss_recall: float
    zero_miss_precision: float
    zero_miss_fpr: float
    roc: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, method: str, score, w: Windows, fpr: float = 0.05) -> Detection:
        """Scores of ``score`` on ``w``: ROC AUC per fault type (normal test vs that fault's
        test windows), the detection rate at a threshold set on validation normals for
        ``fpr``, and the zero-miss threshold (the lowest validation fault score: every
        validation fault caught) with the recall, precision and FPR it gives on the test."""
        normal_val, normal_test = score(w.val), score(w.test)
        faults_test = {k: score(v) for k, v in w.faults_test.items()}
        auc = {k: float(roc_auc_score(np.r_[np.zeros(len(normal_test)), np.ones(len(v))],
                                      np.r_[normal_test, v])) for k, v in faults_test.items()}
        all_faults = np.concatenate(list(faults_test.values()))
        tpr, got_fpr = tpr_at_fpr(normal_test, all_faults, np.quantile(normal_val, 1 - fpr))
        low = min(score(v).min() for v in w.faults_val.values())
        recall, zfpr = tpr_at_fpr(normal_test, all_faults, low)
        caught, false = recall * len(all_faults), zfpr * len(normal_test)
        precision = caught / (caught + false) if caught + false else math.nan
        y = np.r_[np.zeros(len(normal_test)), np.ones(len(all_faults))]
        f, t, _ = roc_curve(y, np.r_[normal_test, all_faults])
        return cls(method, auc, tpr, got_fpr, recall, precision, zfpr, (f, t))

    @property
    def mean_auc(self) -> float:
        return float(np.mean(list(self.auc.values())))

    def record(self) -> dict[str, Any]:
        return {"auc": self.auc, "mean_auc": self.mean_auc, "tpr_at_fpr": self.tpr_at_fpr,
                "fpr_at_threshold": self.fpr_at_threshold,
                "zero_miss_recall": self.zero_miss_recall,
                "zero_miss_precision": self.zero_miss_precision,
                "zero_miss_fpr": self.zero_miss_fpr}


def deep_ties_pca(results: dict[str, Detection], margin: float = 0.02) -> bool:
    """The paper's claim as a relation: no autoencoder beats the PCA baseline's mean AUC by
    more than ``margin``."""
    best_deep = max(results[m].mean_auc for m in DEEP if m in results)
    return best_deep <= results["pca"].mean_auc + margin

"""The speaker-clustering models of the ZHAW Datalab papers, in plain PyTorch and numpy.

* :class:`CNN2016` -- Lukic et al., MLSP 2016: CNN on 128 x 100 mel-spectrogram snippets trained
  for speaker identification; embeddings from its dense layers L5 / L7 (or the softmax L8).
* :class:`CNN2017` -- Lukic et al., MLSP 2017: the same CNN with batch norm, trained with the
  pairwise KL-divergence loss; embeddings from L7 / L10 / L11.
* :class:`BiLSTM2018` -- Stadelmann et al., ANNPR 2018: two bidirectional LSTMs plus dense
  layers, trained with the pairwise KL-divergence loss; embeddings from L3.
* :func:`mfcc_features`, :func:`fit_gmm`, :func:`gmm_distance`, :func:`gmm_distance_matrix` --
  the MFCC/GMM baseline of Stadelmann & Freisleben, ACM MM 2009.

Every network's ``forward`` returns logits (the pre-softmax output); use
``pairwise_kl_loss(..., from_logits=True)`` or cross-entropy on them.  Weight init follows the
authors' frameworks (Lasagne/Keras Glorot-uniform, zero biases); ``hidden_scale`` shrinks the
dense widths for quick runs (default 1.0 = the papers).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "SpeakerNetwork",
    "BiLSTM2018",
    "CNN2016",
    "CNN2017",
    "conv_output_shape",
    "fit_gmm",
    "gmm_distance",
    "gmm_distance_matrix",
    "mfcc_features",
]


# --------------------------------------------------------------------------------------------
# CNNs (MLSP 2016, MLSP 2017)
# --------------------------------------------------------------------------------------------


def conv_output_shape(freq: int = 128, frames: int = 100) -> tuple[int, int]:
    """(freq, time) after conv 4x4 -> max-pool 4x4/2 -> conv 4x4 -> max-pool 4x4/2, all unpadded
    (Lasagne defaults, floor on the pools); 128 x 100 gives 28 x 21 (x 64 maps = 37,632)."""
    for _ in range(2):
        freq, frames = freq - 3, frames - 3  # conv 4x4, no padding
        freq, frames = (freq - 4) // 2 + 1, (frames - 4) // 2 + 1  # pool 4x4 stride 2
    if freq < 1 or frames < 1:
        raise ValueError("the input is too small for two conv 4x4 + max-pool 4x4/2 stages")
    return freq, frames


def _width(base: int, scale: float) -> int:
    if not scale > 0:
        raise ValueError(f"hidden_scale must be positive, got {scale!r}")
    return max(1, round(base * scale))


def _glorot_(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases for conv/dense layers (Lasagne's defaults)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def _as_image(x: torch.Tensor) -> torch.Tensor:
    """[batch, freq, time] -> [batch, 1, freq, time] in channels-last layout (see
    :func:`_channels_last_`); 4-d input is only re-laid out."""
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(
            f"expected [batch, freq, time] or [batch, 1, freq, time], got {tuple(x.shape)}"
        )
    return x.contiguous(memory_format=torch.channels_last)


def _channels_last_(module: nn.Module) -> None:
    """Lay the conv kernels out channels-last: on CPU the overlapping 4x4/2 max-pools and the
    convs run ~1.3x faster per training step than in NCHW; the values computed are the same."""
    module.to(memory_format=torch.channels_last)


class SpeakerNetwork(nn.Module):
    """What the three networks share: a speaker count, ``forward`` giving the logits and
    ``embed`` giving a named layer's activations (the softmax layer computed from the logits).
    Subclasses name their ``layers``, their ``softmax`` layer, the ``_features`` key of their
    ``logits`` and their default ``clustering`` layer (the paper's)."""

    layers: tuple[str, ...] = ()
    softmax = ""
    logits = "logits"
    clustering = ""

    def __init__(self, n_speakers: int) -> None:
        super().__init__()
        if n_speakers < 1:
            raise ValueError(f"n_speakers must be >= 1, got {n_speakers}")
        self.n_speakers = n_speakers

    def _features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (the pre-softmax output) ``[batch, n_speakers]``."""
        return self._features(x)[self.logits]

    def embed(self, x: torch.Tensor, layer: str | None = None) -> torch.Tensor:
        """Activations of ``layer`` (default: the paper's clustering layer) for clustering.
        Call in eval mode for deterministic embeddings (dropout off, BN running statistics)."""
        layer = layer or self.clustering
        if layer not in self.layers:
            raise ValueError(f"layer must be one of {self.layers}, got {layer!r}")
        out = self._features(x)
        return F.softmax(out[self.logits], dim=1) if layer == self.softmax else out[layer]


class CNN2016(SpeakerNetwork):
    """MLSP 2016 speaker-identification CNN (Lukic et al., Sec. 3): L1 conv 32 4x4 -> L2 max-pool
    4x4/2 -> L3 conv 64 4x4 -> L4 max-pool 4x4/2 -> L5 dense 10 n_s -> L6 dropout 0.5 -> L7 dense
    5 n_s -> L8 softmax n_s; ReLU, unpadded convs.  ``forward`` gives L8's logits."""

    layers = ("L5", "L7", "L8")  # L7 clusters best (MLSP 2016 Table 1)
    softmax, clustering = "L8", "L7"

    def __init__(self, n_speakers: int, freq: int = 128, frames: int = 100,
                 hidden_scale: float = 1.0, dropout: float = 0.5) -> None:
        super().__init__(n_speakers)
        self.conv1 = nn.Conv2d(1, 32, kernel_size=4)  # L1
        self.pool1 = nn.MaxPool2d(kernel_size=4, stride=2)  # L2
        self.conv2 = nn.Conv2d(32, 64, kernel_size=4)  # L3
        self.pool2 = nn.MaxPool2d(kernel_size=4, stride=2)  # L4
        f, t = conv_output_shape(freq, frames)
        self.flat_features = 64 * f * t
        self.dense5 = nn.Linear(self.flat_features, _width(10 * n_speakers, hidden_scale))  # L5
        self.dropout6 = nn.Dropout(dropout)  # L6
        self.dense7 = nn.Linear(self.dense5.out_features, _width(5 * n_speakers, hidden_scale))
        self.out8 = nn.Linear(self.dense7.out_features, n_speakers)  # L8 (softmax applied later)
        _glorot_(self)
        _channels_last_(self)

    def _features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.pool1(F.relu(self.conv1(_as_image(x))))
        h = self.pool2(F.relu(self.conv2(h)))
        l5 = F.relu(self.dense5(h.flatten(1)))
        l7 = F.relu(self.dense7(self.dropout6(l5)))
        return {"L5": l5, "L7": l7, "logits": self.out8(l7)}


class CNN2017(SpeakerNetwork):
    """MLSP 2017 PKLD CNN (Lukic et al., Fig. 2): L1 conv 32 4x4 -> L2 BN -> L3 max-pool 4x4/2 ->
    L4 conv 64 4x4 -> L5 BN -> L6 max-pool -> L7 dense 10 N_s -> L8 BN -> L9 dropout 0.5 -> L10
    dense 5 N_s -> L11 dense N_s with softmax (L12).  ReLU before each BN (authors' Lasagne code);
    BN eps 1e-4, momentum 0.1 (Lasagne alpha).  ``forward`` gives the logits of L11."""

    layers = ("L7", "L10", "L11")  # L7 before BN: the paper's clustering layer
    softmax, clustering = "L11", "L7"

    def __init__(self, n_speakers: int, freq: int = 128, frames: int = 100,
                 hidden_scale: float = 1.0, dropout: float = 0.5, bn_eps: float = 1e-4,
                 bn_momentum: float = 0.1) -> None:
        super().__init__(n_speakers)
        bn = {"eps": bn_eps, "momentum": bn_momentum}
        self.conv1 = nn.Conv2d(1, 32, kernel_size=4)  # L1
        self.bn2 = nn.BatchNorm2d(32, **bn)  # L2
        self.pool3 = nn.MaxPool2d(kernel_size=4, stride=2)  # L3
        self.conv4 = nn.Conv2d(32, 64, kernel_size=4)  # L4
        self.bn5 = nn.BatchNorm2d(64, **bn)  # L5
        self.pool6 = nn.MaxPool2d(kernel_size=4, stride=2)  # L6
        f, t = conv_output_shape(freq, frames)
        self.flat_features = 64 * f * t
        self.dense7 = nn.Linear(self.flat_features, _width(10 * n_speakers, hidden_scale))  # L7
        self.bn8 = nn.BatchNorm1d(self.dense7.out_features, **bn)  # L8
        self.dropout9 = nn.Dropout(dropout)  # L9
        self.dense10 = nn.Linear(self.dense7.out_features, _width(5 * n_speakers, hidden_scale))
        self.dense11 = nn.Linear(self.dense10.out_features, n_speakers)  # L11 (+ softmax L12)
        _glorot_(self)
        _channels_last_(self)

    def _features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.pool3(self.bn2(F.relu(self.conv1(_as_image(x)))))
        h = self.pool6(self.bn5(F.relu(self.conv4(h))))
        l7 = F.relu(self.dense7(h.flatten(1)))
        l10 = F.relu(self.dense10(self.dropout9(self.bn8(l7))))
        return {"L7": l7, "L10": l10, "logits": self.dense11(l10)}


# --------------------------------------------------------------------------------------------
# BiLSTM (ANNPR 2018)
# --------------------------------------------------------------------------------------------


def _keras_lstm_init_(lstm: nn.LSTM) -> None:
    """Keras LSTM defaults: Glorot-uniform input kernel, orthogonal recurrent kernel, zero
    biases with the forget-gate bias 1 (``unit_forget_bias``)."""
    h = lstm.hidden_size
    for name, param in lstm.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(param)
        elif name.startswith("weight_hh"):
            nn.init.orthogonal_(param)
        elif name.startswith("bias"):
            nn.init.zeros_(param)
            if name.startswith("bias_ih"):
                with torch.no_grad():
                    param[h : 2 * h] = 1.0  # torch gate order i, f, g, o


class BiLSTM2018(SpeakerNetwork):
    """ANNPR 2018 BiLSTM (Stadelmann et al., Fig. 1): L1 BLSTM 256 (sequence) -> L2 dropout 0.5 ->
    L3 BLSTM 256 (last output) -> L4 dense 10 c_s -> L5 dropout 0.25 -> L6 dense 5 c_s -> L7 dense
    c_s -> L8 softmax.  256 units per direction (L3 = 512-d), linear dense layers (authors' Keras
    code).  Input ``[batch, T, 128]``; ``forward`` gives the logits of L7 (softmax = L8)."""

    layers = ("L3", "L4", "L6", "L7", "L8")  # L3: 512-d, the clustering layer (Table 1)
    softmax, logits, clustering = "L8", "L7", "L3"

    def __init__(
        self,
        n_speakers: int,
        n_features: int = 128,
        lstm_units: int = 256,
        hidden_scale: float = 1.0,
        dropout_lstm: float = 0.5,
        dropout_dense: float = 0.25,
    ) -> None:
        super().__init__(n_speakers)
        self.lstm1 = nn.LSTM(n_features, lstm_units, batch_first=True, bidirectional=True)  # L1
        self.dropout2 = nn.Dropout(dropout_lstm)  # L2
        self.lstm3 = nn.LSTM(2 * lstm_units, lstm_units, batch_first=True, bidirectional=True)
        self.dense4 = nn.Linear(2 * lstm_units, _width(10 * n_speakers, hidden_scale))  # L4
        self.dropout5 = nn.Dropout(dropout_dense)  # L5
        self.dense6 = nn.Linear(self.dense4.out_features, _width(5 * n_speakers, hidden_scale))
        self.dense7 = nn.Linear(self.dense6.out_features, n_speakers)  # L7 (+ softmax L8)
        _glorot_(self)
        _keras_lstm_init_(self.lstm1)
        _keras_lstm_init_(self.lstm3)

    def _features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.dim() != 3:
            raise ValueError(f"expected [batch, T, features], got {tuple(x.shape)}")
        seq, _ = self.lstm1(x)
        _, (h_n, _) = self.lstm3(self.dropout2(seq))
        # "last output" of a Keras Bidirectional LSTM: forward state after step T, backward
        # state after step 1, concatenated
        l3 = torch.cat([h_n[0], h_n[1]], dim=1)
        l4 = self.dense4(l3)
        l6 = self.dense6(self.dropout5(l4))
        return {"L3": l3, "L4": l4, "L6": l6, "L7": self.dense7(l6)}


# --------------------------------------------------------------------------------------------
# MFCC / GMM baseline (ACM MM 2009)
# --------------------------------------------------------------------------------------------

MFCC_PARAMS = {
    "n_mfcc": 20,  # c0..c19; c0 is dropped -> MFCC 1-19
    "frame_s": 0.020,
    "hop_s": 0.010,
    "n_fft": 512,
    "window": "hamming",
    "preemphasis": 0.97,
    "n_mels": 24,
    "fmin": 0.0,
    "fmax": 7600.0,
}


def mfcc_features(y: np.ndarray, sr: int = 16000) -> np.ndarray:
    """MFCC 1-19 of ACM MM 2009 Sec. 5 as ``[frames, 19]``: pre-emphasis 0.97, 20 ms Hamming
    frames every 10 ms, 512-point FFT, 24 mel filters 0-7600 Hz, c0 dropped.

    librosa's chain (power mel spectrum, 10 log10 in dB, orthonormal DCT-II, Slaney mel scale)
    differs from the original C++ (natural log) by scale factors.  Frames are not centred: each
    512-sample FFT frame holds the 320-sample Hamming window in its middle, so a signal of ``n``
    samples gives ``1 + (n - 512) // 160`` frames."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected mono audio (1-d), got shape {y.shape}")
    p = MFCC_PARAMS
    win = round(p["frame_s"] * sr)
    hop = round(p["hop_s"] * sr)
    if len(y) < p["n_fft"]:
        raise ValueError(f"the signal ({len(y)} samples) is shorter than one FFT frame "
                         f"({p['n_fft']})")
    emphasised = librosa.effects.preemphasis(y, coef=p["preemphasis"])
    mfcc = librosa.feature.mfcc(
        y=emphasised,
        sr=sr,
        n_mfcc=p["n_mfcc"],
        n_fft=p["n_fft"],
        win_length=win,
        hop_length=hop,
        window=p["window"],
        center=False,
        n_mels=p["n_mels"],
        fmin=p["fmin"],
        fmax=min(p["fmax"], sr / 2),
    )
    return np.ascontiguousarray(mfcc[1:].T, dtype=np.float64)


def _var_part(x: np.ndarray, k: int) -> np.ndarray:
    """Var-Part seeding (Su & Dy): split the cell with the largest SSE at the mean of its
    highest-variance dimension until there are ``k`` cells; return their means ``[k, d]``."""
    cells = [np.arange(len(x))]
    while len(cells) < k:
        sse = [((x[c] - x[c].mean(0)) ** 2).sum() if len(c) > 1 else -1.0 for c in cells]
        i = int(np.argmax(sse))
        if sse[i] <= 0:
            break  # nothing left to split (duplicate points)
        cell = cells.pop(i)
        dim = int(np.argmax(x[cell].var(0)))
        left = x[cell, dim] <= x[cell, dim].mean()
        cells += [cell[left], cell[~left]]
    return np.stack([x[c].mean(0) for c in cells])


def fit_gmm(
    features: np.ndarray,
    n_components: int = 32,
    *,
    kmeans_iter: int = 10,
    max_em_steps: int = 15,
    min_gain: float = 100.0,
    var_floor: float = 0.01,
    random_state: int = 0,
):
    """One diagonal GMM per utterance as in ACM MM 2009: Var-Part-seeded k-means (<= 10
    iterations) initialises <= 15 EM steps (stop when the total log-likelihood gains < 100),
    variances floored at 0.01 after each step.  Returns a fitted ``sklearn`` GaussianMixture
    (``n_em_steps_`` = EM steps run; the step whose gain fell below ``min_gain`` is kept).

    Deviations: sklearn's M-step also adds ``reg_covar = 1e-6`` before our floor; EM runs one
    ``fit`` call per step (``warm_start``) so that the floor and the gain rule can be applied."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected features [frames, dims], got shape {x.shape}")
    if len(x) < n_components:
        raise ValueError(f"{len(x)} frames cannot fit {n_components} components")
    seeds = _var_part(x, n_components)
    km = KMeans(n_clusters=len(seeds), init=seeds, n_init=1, max_iter=kmeans_iter,
                random_state=random_state).fit(x)
    k = km.n_clusters
    labels = km.labels_
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    keep = counts > 0  # an emptied k-means cell is dropped
    means = km.cluster_centers_[keep]
    variances = np.stack([
        x[labels == j].var(0) if counts[j] > 1 else x.var(0) for j in np.flatnonzero(keep)
    ])
    variances = np.maximum(variances, var_floor)
    weights = counts[keep] / counts.sum()
    gmm = GaussianMixture(
        n_components=len(means), covariance_type="diag", max_iter=1, warm_start=True,
        weights_init=weights, means_init=means, precisions_init=1.0 / variances,
        reg_covar=1e-6, random_state=random_state,
    )
    previous = -math.inf
    gmm.n_em_steps_ = 0
    for _ in range(max_em_steps):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gmm.fit(x)
        floored = np.maximum(gmm.covariances_, var_floor)
        gmm.covariances_ = floored
        gmm.precisions_cholesky_ = 1.0 / np.sqrt(floored)
        gmm.precisions_ = 1.0 / floored
        gmm.n_em_steps_ += 1
        total = float(gmm.score(x)) * len(x)
        if total - previous < min_gain:
            break
        previous = total
    return gmm


def gmm_distance(a, b) -> float:
    """Beigi, Maes & Sorensen (1998) distance between two GMMs with Euclidean component distance
    (ACM MM 2009): ``(sum_i w_i min_j d_ij + sum_j v_j min_i d_ij) / (sum_i w_i + sum_j v_j)``,
    ``d_ij = ||mu_i - nu_j||`` -- each component's weighted distance to its nearest neighbour
    in the other model; symmetric, zero for identical models."""
    mu, nu = np.asarray(a.means_, dtype=np.float64), np.asarray(b.means_, dtype=np.float64)
    w, v = np.asarray(a.weights_, dtype=np.float64), np.asarray(b.weights_, dtype=np.float64)
    d = np.linalg.norm(mu[:, None, :] - nu[None, :, :], axis=2)
    return float((w @ d.min(1) + v @ d.min(0)) / (w.sum() + v.sum()))


def gmm_distance_matrix(gmms: Sequence) -> np.ndarray:
    """Symmetric ``[n, n]`` matrix of :func:`gmm_distance` (zero diagonal), e.g. for
    ``scipy.cluster.hierarchy.linkage(squareform(D), "complete")`` as in ACM MM 2009."""
    n = len(gmms)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = gmm_distance(gmms[i], gmms[j])
    return out

"""The paper's detector statistic: the average local spatial entropy of a grey feature
response map, vectorised in torch.

The paper defines the entropy of patch k as ``S_k = -sum_ij h_k(i, j) log2 h_k(i, j)`` with
``h_k`` "the normalised 2-D histogram" of the patch, i and j running over its height and
width, for 3 x 3 patches, and scores an image by the mean over all patches. Three readings
of ``h_k`` (all windows ``window x window``, stride 1, only windows inside the map):

``intensity`` (the literal reading, the default)
    ``h_k(i, j)`` = the map's value at (i, j) divided by the window's sum: a distribution
    over the window's cells. A window of zeros has entropy 0; a constant non-zero window
    reaches the ceiling log2(window**2) (log2 9 = 3.17 bits for 3 x 3).
``grey``
    the histogram of the window's grey levels (the map quantised to ``levels`` levels), as
    ``skimage.filters.rank.entropy`` computes it: a constant window has entropy 0, the
    ceiling is log2(min(window**2, levels)).
``cooccurrence``
    the histogram of the grey-level pairs of horizontally and vertically adjacent cells
    inside the window (the local entropy of the paper's reference, Chanwimaluang & Fan
    2003): a constant window has entropy 0, the ceiling is log2(2 w (w - 1)) (log2 12 =
    3.58 bits for 3 x 3).

None reaches the 4.4 bits of the paper's Fig. 4a (see the chapter): the absolute values
are not the paper's, the comparison between clean and attacked maps is."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from dlwild.adversarial.settings import READINGS


def _check(maps: torch.Tensor | np.ndarray, window: int, reading: str,
           levels: int) -> torch.Tensor:
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {READINGS}, got {reading!r}")
    if isinstance(maps, np.ndarray):
        if not np.issubdtype(maps.dtype, np.floating):
            raise ValueError(f"maps must be floating point (float32 or float64) with values in "
                             f"[0, 1], got dtype {maps.dtype}")
        maps = torch.from_numpy(maps)
    if not isinstance(maps, torch.Tensor):
        raise ValueError(f"maps must be a torch tensor or numpy array of shape (N, H, W), got "
                         f"{type(maps).__name__}")
    if not maps.is_floating_point():
        raise ValueError(f"maps must be floating point (float32 or float64) with values in "
                         f"[0, 1], got dtype {maps.dtype}")
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (N, H, W), got shape {tuple(maps.shape)}")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1 or window % 2 == 0:
        raise ValueError(f"window must be an odd positive int (3, 5, 7, ...), got {window!r}")
    if window > min(maps.shape[1:]):
        raise ValueError(f"window {window} is larger than the maps ({maps.shape[1]} x "
                         f"{maps.shape[2]}): it must be at most {min(maps.shape[1:])}")
    if isinstance(levels, bool) or not isinstance(levels, int) or not 2 <= levels <= 65536:
        raise ValueError(f"levels must be an int in [2, 65536], got {levels!r}")
    if maps.numel() and bool(torch.isnan(maps).any()):
        raise ValueError("maps contain NaN: values must be finite and in [0, 1]")
    if maps.numel() and (float(maps.min()) < 0 or float(maps.max()) > 1):
        raise ValueError(f"map values must be in [0, 1], got values in [{float(maps.min()):.4g}, "
                         f"{float(maps.max()):.4g}]")
    return maps.to(torch.float64)


def quantise(maps: torch.Tensor, levels: int = 256) -> torch.Tensor:
    """Grey levels 0..levels-1 of maps in [0, 1] (rounded, as an 8-bit image is)."""
    return torch.round(maps * (levels - 1)).to(torch.int64)


def _windows(x: torch.Tensor, window: int) -> torch.Tensor:
    """(N, H, W) -> (N, window**2, L): the values of every window inside the map."""
    return F.unfold(x.unsqueeze(1).to(torch.float64), window)


def _histogram_entropy(codes: torch.Tensor) -> torch.Tensor:
    """Entropy (bits) of the histogram of the codes along dim 1 of (N, M, L), without
    building the histogram: each of the M entries counts its equals c_i, and
    H = -(1/M) sum_i log2(c_i / M)."""
    m = codes.shape[1]
    counts = (codes.unsqueeze(1) == codes.unsqueeze(2)).sum(dim=2).to(torch.float64)
    return -(torch.log2(counts / m)).sum(dim=1) / m


def local_entropy_map(maps: torch.Tensor | np.ndarray, window: int = 3, *,
                      reading: str = "intensity", levels: int = 256,
                      chunk: int = 256) -> torch.Tensor:
    """The local entropy (bits) of every ``window x window`` patch inside the maps: (N, H -
    window + 1, W - window + 1) float64, for maps (N, H, W) with values in [0, 1]. See the
    module docstring for the ``reading`` of "2-D histogram"; ``levels`` grey levels for
    ``grey`` and ``cooccurrence``. Wrong shape, dtype, NaN, values outside [0, 1], an even
    window or one larger than the maps: ValueError naming what is expected."""
    maps = _check(maps, window, reading, levels)
    n, h, w = maps.shape
    out_h, out_w = h - window + 1, w - window + 1
    parts = []
    for start in range(0, n, max(1, chunk)):
        part = maps[start:start + chunk]
        if reading == "intensity":
            values = _windows(part, window)
            total = values.sum(dim=1, keepdim=True)
            p = values / total.clamp_min(1e-300)
            terms = torch.where(p > 0, p * torch.log2(p.clamp_min(1e-300)),
                                torch.zeros_like(p))
            entropy = torch.where(total[:, 0] > 0, -terms.sum(dim=1),
                                  torch.zeros_like(total[:, 0]))
        elif reading == "grey":
            entropy = _histogram_entropy(_windows(quantise(part, levels).double(), window))
        else:
            q = quantise(part, levels).double()
            horizontal = q[:, :, :-1] * levels + q[:, :, 1:]   # pair (left, right)
            vertical = q[:, :-1, :] * levels + q[:, 1:, :]     # pair (top, bottom)
            # the pairs inside window (r, c): horizontal pairs of its w rows x (w - 1)
            # columns and vertical pairs of its (w - 1) rows x w columns
            h_pairs = F.unfold(horizontal.unsqueeze(1), (window, window - 1))
            v_pairs = F.unfold(vertical.unsqueeze(1), (window - 1, window))
            entropy = _histogram_entropy(torch.cat([h_pairs, v_pairs], dim=1)) \
                if window > 1 else torch.zeros(len(part), out_h * out_w, dtype=torch.float64)
        parts.append(entropy.reshape(len(part), out_h, out_w))
    if not parts:
        return torch.zeros(0, out_h, out_w, dtype=torch.float64)
    return torch.cat(parts)


def local_spatial_entropy(maps: torch.Tensor | np.ndarray, window: int = 3, *,
                          reading: str = "intensity", levels: int = 256) -> torch.Tensor:
    """The paper's image score S-bar: the mean local spatial entropy (bits) over all
    ``window x window`` patches of each map, (N,) float64, for maps (N, H, W) in [0, 1].
    ``reading`` as in the module docstring (default: the literal ``intensity`` reading)."""
    return local_entropy_map(maps, window, reading=reading, levels=levels).mean(dim=(1, 2))


def ceiling(window: int = 3, reading: str = "intensity", levels: int = 256) -> float:
    """The largest local entropy a reading can give (bits): why the literal reading cannot
    reach the paper's 4.4 bits."""
    if reading == "intensity":
        return math.log2(window ** 2)
    if reading == "grey":
        return math.log2(min(window ** 2, levels))
    if reading == "cooccurrence":
        return math.log2(max(1, min(2 * window * (window - 1), levels ** 2)))
    raise ValueError(f"reading must be one of {READINGS}, got {reading!r}")


def reference_entropy_map(image: np.ndarray, window: int = 3, *,
                          reading: str = "intensity", levels: int = 256) -> np.ndarray:
    """The slow reference: the same local entropy of one map (H, W) through
    ``scipy.ndimage.generic_filter`` (a Python function per pixel), cropped to the windows
    inside the map. For the tests and the benchmark only."""
    from scipy import ndimage

    image = np.asarray(image, dtype=np.float64)
    r = window // 2

    def intensity(v: np.ndarray) -> float:
        total = v.sum()
        if total <= 0:
            return 0.0
        p = v[v > 0] / total
        return float(-(p * np.log2(p)).sum())

    def histogram(v: np.ndarray) -> float:
        _, counts = np.unique(v, return_counts=True)
        p = counts / counts.sum()
        return float(-(p * np.log2(p)).sum())

    def pairs(v: np.ndarray) -> float:
        block = v.reshape(window, window)
        codes = np.concatenate([(block[:, :-1] * levels + block[:, 1:]).ravel(),
                                (block[:-1, :] * levels + block[1:, :]).ravel()])
        return histogram(codes)

    if reading == "intensity":
        out = ndimage.generic_filter(image, intensity, size=window, mode="constant")
    else:
        grey = np.round(image * (levels - 1))
        out = ndimage.generic_filter(grey, histogram if reading == "grey" else pairs,
                                     size=window, mode="constant")
    return out[r:out.shape[0] - r, r:out.shape[1] - r]

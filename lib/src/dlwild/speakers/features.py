"""The papers' features: log-compressed mel spectrograms (MLSP 2016, reused by MLSP 2017 and
ANNPR 2018) and their cut into fixed-length segments for the CNNs and RNNs.

Exactly as published: 16 kHz audio, FFT window 1024 samples (Hann), hop 160 samples (10 ms),
128 mel bands of the power spectrogram, then ``log10(1 + 10**4 * x)``. CNN input is a
non-overlapping 1 s segment (128 x 100); the RNN takes T x 10 ms segments.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from dlwild.speakers.audio import SR, Utterance, load_audio

__all__ = [
    "C",
    "HOP",
    "N_FFT",
    "N_MELS",
    "SEGMENT_FRAMES",
    "clear_cache",
    "compress",
    "mel_spectrogram",
    "segments",
    "utterance_features",
]

#: FFT window (samples at 16 kHz).
N_FFT = 1024
#: Hop between frames: 160 samples = 10 ms at 16 kHz.
HOP = 160
#: Mel bands.
N_MELS = 128
#: The compression constant of ``log10(1 + C x)`` (the paper's 10,000).
C = 10_000.0
#: Frames of one CNN segment: 100 x 10 ms = 1 s.
SEGMENT_FRAMES = 100


def compress(power: np.ndarray) -> np.ndarray:
    """``log10(1 + C * x)`` with C = 10,000, as float32 (the papers' dynamic-range compression)."""
    return np.log10(1.0 + C * np.asarray(power, dtype=np.float64)).astype(np.float32)


_BLAS: Any = None


def _one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread.  librosa projects the power spectrogram
    onto the mel filters by a BLAS product, whose rounding depends on how many threads share
    it: the same audio gave other float32 bytes with OMP_NUM_THREADS=1 than with 2, hence
    another content hash and artifact key for every network trained on the features (a run
    resumed with another thread count retrained from scratch).  One thread is as fast here."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def mel_spectrogram(y: np.ndarray, sr: int = SR) -> np.ndarray:
    """Compressed mel spectrogram ``[128, 1 + len(y) // 160]`` float32 of mono audio at 16 kHz
    (centred frames, librosa's default zero padding); other rates are resampled to 16 kHz.
    The same bytes whatever the number of BLAS threads (:func:`_one_blas_thread`)."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"mel_spectrogram expects mono audio (1-D), got shape {y.shape}")
    if y.size == 0:
        raise ValueError("mel_spectrogram: empty audio")
    if sr != SR:
        y = librosa.resample(y, orig_sr=sr, target_sr=SR, res_type="soxr_hq")
    with _one_blas_thread():
        power = librosa.feature.melspectrogram(
            y=y,
            sr=SR,
            n_fft=N_FFT,
            hop_length=HOP,
            win_length=N_FFT,
            window="hann",
            center=True,
            power=2.0,
            n_mels=N_MELS,
        )
    return compress(power)


def segments(
    spec: np.ndarray,
    frames: int | None = SEGMENT_FRAMES,
    hop: int | None = None,
    *,
    segment_ms: float | None = None,
    time_major: bool = False,
    name: str = "utterance",
) -> np.ndarray:
    """Cut ``spec [128, T]`` into segments ``[n, 128, frames]`` (``[n, frames, 128]`` if
    ``time_major``, the RNN's layout); ``segment_ms`` sets ``frames = segment_ms / 10``.

    Non-overlapping by default (``hop = frames``); the remainder shorter than one segment is
    dropped, as the papers drop the last < 1 s. A spectrogram shorter than one segment raises
    ValueError naming ``name``."""
    spec = np.asarray(spec)
    if spec.ndim != 2:
        raise ValueError(f"{name}: expected a [bands, frames] spectrogram, got {spec.shape}")
    if segment_ms is not None:
        frames = int(round(segment_ms * SR / HOP / 1000))
    if frames is None or frames < 1:
        raise ValueError(f"segment length must be at least one frame, got {frames}")
    hop = frames if hop is None else hop
    if hop < 1:
        raise ValueError(f"hop must be at least one frame, got {hop}")
    total = spec.shape[1]
    if total < frames:
        raise ValueError(
            f"{name}: {total} frames ({total * HOP / SR:.2f} s) is shorter than one segment of "
            f"{frames} frames ({frames * HOP / SR:.2f} s)"
        )
    starts = range(0, total - frames + 1, hop)
    out = np.stack([spec[:, s : s + frames] for s in starts])
    return np.ascontiguousarray(out.transpose(0, 2, 1) if time_major else out)


_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()
#: Spectrograms kept in memory by :func:`utterance_features` (~1 MB per 20 s of audio).
CACHE_SIZE = 4096


def _key(u: Utterance) -> tuple:
    path = u.path
    try:
        stat = path.stat()
        stamp: tuple = (stat.st_size, stat.st_mtime_ns)
    except OSError:
        stamp = ()
    return (str(path), u.start_s, u.end_s, stamp)


def utterance_features(
    utts: Iterable[Utterance | Sequence[Utterance]], *, min_s: float | None = None
) -> list[np.ndarray]:
    """Compressed mel spectrograms ``[128, T]`` of each utterance or protocol group (its parts'
    audio concatenated first), cached in memory by file, part and modification time."""
    out = []
    for item in utts:
        group = (item,) if isinstance(item, Utterance) else tuple(item)
        key = tuple(_key(u) for u in group) + (min_s,)
        spec = _CACHE.get(key)
        if spec is None:
            spec = mel_spectrogram(load_audio(group, SR, min_s=min_s), SR)
            _CACHE[key] = spec
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
        out.append(spec)
    return out


def clear_cache() -> None:
    """Forget the spectrograms cached by :func:`utterance_features`."""
    _CACHE.clear()

"""The papers' mel-spectrogram features and their segmentation: known answers on synthetic
audio (shape, band of a pure tone, the log10(1 + 1e4 x) compression) and segment counts."""

from __future__ import annotations

import os
import time

import librosa
import numpy as np
import pytest
import soundfile as sf

from dlwild.speakers.audio import Utterance
from dlwild.speakers.corpora import two_utterances
from dlwild.speakers.features import (
    HOP,
    N_FFT,
    N_MELS,
    clear_cache,
    compress,
    mel_spectrogram,
    segments,
    utterance_features,
)

SR = 16000


def sine(seconds: float, freq: float, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_parameters_are_the_papers():
    assert (N_FFT, HOP, N_MELS) == (1024, 160, 128)


@pytest.mark.parametrize("n", [16000, 16159, 16160, 4321])
def test_shape_and_dtype(n):
    spec = mel_spectrogram(sine(n / SR, 300.0))
    assert spec.shape == (128, 1 + n // 160) and spec.dtype == np.float32
    assert np.all(spec >= 0)


@pytest.mark.parametrize("freq", [250.0, 1000.0, 3000.0, 6000.0])
def test_pure_tone_peaks_in_its_mel_band(freq):
    spec = mel_spectrogram(sine(1.0, freq))
    centres = librosa.mel_frequencies(n_mels=N_MELS + 2, fmin=0.0, fmax=SR / 2)[1:-1]
    band = int(np.argmax(spec[:, 10:-10].mean(axis=1)))
    assert abs(band - int(np.argmin(np.abs(centres - freq)))) <= 1


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: BLAS cannot split the work")
def test_same_bytes_whatever_the_blas_threads():
    """The features' bytes key the networks trained on them (their content hash): with two
    BLAS threads librosa's mel projection rounded differently than with one (seen with
    OMP_NUM_THREADS=1 against 2), so a run resumed with another thread count retrained."""
    from threadpoolctl import threadpool_limits

    audio = np.random.default_rng(0).normal(scale=0.1, size=5 * SR).astype(np.float32)
    specs = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            specs.append(mel_spectrogram(audio))
    assert specs[0].tobytes() == specs[1].tobytes()


def test_compression_known_answer():
    x = np.array([0.0, 1e-4, 0.0999, 9.9999], dtype=np.float64)
    np.testing.assert_allclose(compress(x), [0.0, np.log10(2.0), 3.0, 5.0], rtol=1e-6)
    assert compress(x).dtype == np.float32
    # end to end: the feature is log10(1 + 1e4 * librosa's power mel spectrogram)
    y = sine(0.5, 700.0, amp=0.1)
    power = librosa.feature.melspectrogram(
        y=y, sr=SR, n_fft=1024, hop_length=160, n_mels=128, power=2.0, window="hann"
    )
    np.testing.assert_allclose(mel_spectrogram(y), np.log10(1 + 1e4 * power), rtol=1e-5, atol=1e-6)


def test_silence_is_zero_and_other_rates_are_resampled():
    assert np.all(mel_spectrogram(np.zeros(1600, np.float32)) == 0)
    spec8k = mel_spectrogram(sine(1.0, 1000.0, sr=8000), sr=8000)
    assert spec8k.shape == (128, 101)
    np.testing.assert_allclose(
        spec8k[:, 5:-5], mel_spectrogram(sine(1.0, 1000.0))[:, 5:-5], atol=0.3
    )
    with pytest.raises(ValueError, match="empty"):
        mel_spectrogram(np.zeros(0, np.float32))
    with pytest.raises(ValueError, match="mono"):
        mel_spectrogram(np.zeros((2, 100), np.float32))


def test_segment_counts():
    spec = np.arange(128 * 350, dtype=np.float32).reshape(128, 350)
    cnn = segments(spec)
    assert cnn.shape == (3, 128, 100)  # 3.5 s -> three 1 s segments, 0.5 s dropped
    np.testing.assert_array_equal(cnn[1], spec[:, 100:200])
    assert segments(spec, hop=50).shape == (6, 128, 100)
    rnn = segments(spec, segment_ms=400, time_major=True)
    assert rnn.shape == (8, 40, 128)
    np.testing.assert_array_equal(rnn[2], spec[:, 80:120].T)
    assert segments(spec[:, :100]).shape == (1, 128, 100)
    with pytest.raises(ValueError, match=r"FAKS0/SA1: 99 frames .* shorter than one segment"):
        segments(spec[:, :99], name="FAKS0/SA1")
    with pytest.raises(ValueError, match="at least one frame"):
        segments(spec, frames=0)


def test_utterance_features_groups_and_cache(tmp_path):
    path = tmp_path / "1-2-0000.flac"
    sf.write(str(path), sine(2.5, 440.0), SR)
    utt = Utterance(path, "1", "f", 2.5, "librispeech", "1-2-0000")
    clear_cache()
    (whole,) = utterance_features([utt])
    assert whole.shape == (128, 251)
    a, b = utterance_features(two_utterances([utt]))
    assert a.shape == (128, 201) and b.shape == (128, 51)
    start = time.perf_counter()
    (again,) = utterance_features([utt])
    assert again is whole and time.perf_counter() - start < 0.05
    with pytest.raises(ValueError, match="shorter than the 1 s"):
        utterance_features(two_utterances([utt])[1:], min_s=1.0)

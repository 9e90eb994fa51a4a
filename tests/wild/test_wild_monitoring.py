"""The CWRU reading, windowing and detectors: known answers and bad input."""

import numpy as np
import pytest
from scipy.io import savemat

from dlwild.wild import monitoring


def test_a_missing_channel_is_refused_by_name(tmp_path):
    path = tmp_path / "x.mat"
    savemat(path, {"X097_DE_time": np.zeros((10, 1)), "X097_FE_time": np.zeros((10, 1))})
    assert monitoring.read_channel(path, "DE").shape == (10,)
    with pytest.raises(ValueError, match="no single BA channel"):
        monitoring.read_channel(path, "BA")


def test_another_sampling_rate_is_refused_and_48k_is_resampled_to_12k():
    with pytest.raises(ValueError, match="sampled at"):
        monitoring.to_target_rate(np.zeros(100), 44_100)
    t = np.arange(48_000) / 48_000
    out = monitoring.to_target_rate(np.sin(2 * np.pi * 100 * t), 48_000)
    assert len(out) == 12_000
    peak = np.argmax(np.abs(np.fft.rfft(out)))
    assert peak == 100  # 100 Hz stays 100 Hz at 1 Hz resolution


def test_a_recording_shorter_than_one_window_is_refused():
    with pytest.raises(ValueError, match="shorter than one window"):
        monitoring.windows(np.zeros(100), 128, 64)
    w = monitoring.windows(np.arange(10.0), 4, 3)
    assert w.tolist() == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]


def test_blocks_are_contiguous_so_windows_never_cross_them():
    blocks = monitoring.split_blocks(np.arange(100))
    assert [len(b) for b in blocks] == [60, 20, 20]
    assert blocks[0][-1] + 1 == blocks[1][0]


def test_band_energies_find_a_tone_in_its_band_and_robust_z_centres():
    t = np.arange(1024) / 12_000
    tone = np.sin(2 * np.pi * 3000 * t)[None]
    e = monitoring.band_energies(tone, 100)
    # 3 kHz is FFT bin 256 of 513, in the band that array_split gives it
    band = next(i for i, b in enumerate(np.array_split(np.arange(513), 100)) if 256 in b)
    assert e.shape == (1, 100) and int(e.argmax()) == band
    z = monitoring.RobustZ.fit(np.array([[1.0], [2.0], [3.0]]))
    assert z(np.array([[2.0]])).item() == 0.0


def _toy_windows(rng):
    normal = rng.normal(size=(60, 10)).astype(np.float32)
    faults = {"f": rng.normal(5, 1, size=(20, 10)).astype(np.float32)}
    return monitoring.Windows(normal[:40], normal[40:50], normal[50:], faults, faults)


def test_every_classical_detector_separates_shifted_faults():
    w = _toy_windows(np.random.default_rng(0))
    for method in monitoring.CLASSICAL:
        d = monitoring.Detection.of(method, monitoring.classical_scores(method, w.train, 0), w)
        assert d.mean_auc > 0.95, method
        assert d.zero_miss_recall == 1.0
    with pytest.raises(ValueError):
        monitoring.classical_scores("knn", w.train, 0)


def test_autoencoders_reconstruct_their_input_shape():
    import torch

    for method in monitoring.DEEP:
        model = monitoring.make_autoencoder(method, 100)
        assert model(torch.zeros(3, 100)).shape == (3, 100)
    with pytest.raises(ValueError):
        monitoring.make_autoencoder("vae", 100)

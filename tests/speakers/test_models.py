"""Tests of dlwild.speakers.models: shapes and parameter counts of the MLSP 2016/2017 CNNs and the
ANNPR 2018 BiLSTM, their embedding layers, eval-mode determinism, batch norm, and the ACM MM 2009
MFCC/GMM baseline (features, GMM fitting, the Beigi model distance)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dlwild.speakers.models import (
    CNN2016,
    CNN2017,
    BiLSTM2018,
    conv_output_shape,
    fit_gmm,
    gmm_distance,
    gmm_distance_matrix,
    mfcc_features,
)

N_S = 3


@pytest.fixture(scope="module")
def snippets() -> torch.Tensor:
    return torch.randn(2, 128, 100, generator=torch.Generator().manual_seed(0))


def test_conv_stack_output_matches_digest():
    assert conv_output_shape(128, 100) == (28, 21)
    assert 64 * 28 * 21 == 37_632


def test_cnn2016_shapes_and_first_dense_layer(snippets):
    torch.manual_seed(0)
    model = CNN2016(N_S).eval()
    assert model.flat_features == 37_632
    assert model.dense5.weight.numel() == 37_632 * 10 * N_S
    assert model(snippets).shape == (2, N_S)
    assert model(snippets.unsqueeze(1)).shape == (2, N_S)  # [batch, 1, freq, time] too
    with torch.no_grad():
        assert model.embed(snippets, "L5").shape == (2, 10 * N_S)
        assert model.embed(snippets, "L7").shape == (2, 5 * N_S)
        l8 = model.embed(snippets, "L8")
    assert l8.shape == (2, N_S)
    assert torch.allclose(l8.sum(1), torch.ones(2))
    with pytest.raises(ValueError, match="layer"):
        model.embed(snippets, "L6")


def test_hidden_scale_shrinks_only_the_dense_widths():
    model = CNN2016(4, hidden_scale=0.5)
    assert (model.dense5.out_features, model.dense7.out_features) == (20, 10)
    assert model.out8.out_features == 4
    model = CNN2017(4, hidden_scale=0.25)
    assert (model.dense7.out_features, model.dense10.out_features) == (10, 5)
    lstm = BiLSTM2018(4, lstm_units=8, hidden_scale=0.5)
    assert (lstm.dense4.out_features, lstm.dense6.out_features, lstm.dense7.out_features) == (
        20, 10, 4)


def test_dropout_off_in_eval_mode_gives_deterministic_embeddings(snippets):
    torch.manual_seed(0)
    model = CNN2016(N_S)
    model.train()
    with torch.no_grad():
        a, b = model.embed(snippets, "L7"), model.embed(snippets, "L7")
    assert not torch.equal(a, b)  # dropout L6 active in training
    model.eval()
    with torch.no_grad():
        a, b = model.embed(snippets, "L7"), model.embed(snippets, "L7")
    assert torch.equal(a, b)


def test_cnn2017_batch_norm_and_embeddings(snippets):
    torch.manual_seed(0)
    model = CNN2017(N_S)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert [type(m) for m in norms] == [nn.BatchNorm2d, nn.BatchNorm2d, nn.BatchNorm1d]
    assert [m.num_features for m in norms] == [32, 64, 10 * N_S]
    assert all(m.eps == 1e-4 and m.momentum == 0.1 for m in norms)
    assert model.dense7.weight.numel() == 37_632 * 10 * N_S
    before = model.bn2.running_mean.clone()
    model.train()
    assert model(snippets).shape == (2, N_S)
    assert not torch.equal(before, model.bn2.running_mean)  # training updates BN statistics
    model.eval()
    with torch.no_grad():
        stats = model.bn8.running_var.clone()
        l7 = model.embed(snippets, "L7")
        assert torch.equal(l7, model.embed(snippets, "L7"))
        assert torch.equal(stats, model.bn8.running_var)  # eval leaves them alone
        assert model.embed(snippets, "L10").shape == (2, 5 * N_S)
        l11 = model.embed(snippets, "L11")
    assert l7.shape == (2, 10 * N_S)
    assert torch.allclose(l11.sum(1), torch.ones(2))


@pytest.mark.parametrize("frames", [20, 40])
def test_bilstm2018_shapes_and_layers(frames):
    torch.manual_seed(0)
    model = BiLSTM2018(N_S).eval()
    assert model.lstm1.hidden_size == 256 and model.lstm1.bidirectional
    x = torch.randn(2, frames, 128)
    with torch.no_grad():
        assert model(x).shape == (2, N_S)
        l3 = model.embed(x)  # the paper's clustering layer
        assert l3.shape == (2, 512)
        assert torch.equal(l3, model.embed(x, "L3"))
        assert model.embed(x, "L4").shape == (2, 10 * N_S)
        assert model.embed(x, "L6").shape == (2, 5 * N_S)
        assert torch.allclose(model.embed(x, "L8").sum(1), torch.ones(2))
        # L3 = "last output" of the bidirectional layer: forward at step T, backward at step 1
        seq, _ = model.lstm3(model.lstm1(x)[0])
    assert torch.allclose(l3[:, :256], seq[:, -1, :256], atol=1e-6)
    assert torch.allclose(l3[:, 256:], seq[:, 0, 256:], atol=1e-6)


def test_bilstm_dropout_only_in_training():
    torch.manual_seed(0)
    model = BiLSTM2018(N_S, lstm_units=16)
    x = torch.randn(3, 10, 128)
    with torch.no_grad():
        model.train()
        assert not torch.equal(model.embed(x, "L6"), model.embed(x, "L6"))
        model.eval()
        assert torch.equal(model.embed(x, "L6"), model.embed(x, "L6"))


# --------------------------------------------------------------------------------------------
# MFCC / GMM baseline
# --------------------------------------------------------------------------------------------


def test_mfcc_shape():
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    y = 0.5 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(16000)
    feats = mfcc_features(y, sr=16000)
    assert feats.shape == (1 + (16000 - 512) // 160, 19)
    assert np.isfinite(feats).all()


def _blobs(seed: int, n: int = 400, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(shift, 3.0, size=(4, 19))
    return centres[rng.integers(0, 4, n)] + rng.standard_normal((n, 19))


def test_fit_gmm_diagonal_with_variance_floor():
    x = _blobs(0)
    x[:, 0] = 1.0  # a constant dimension: its variance must be floored, not collapse
    gmm = fit_gmm(x, n_components=8)
    assert gmm.covariance_type == "diag"
    assert gmm.means_.shape == (8, 19)
    assert (gmm.covariances_ >= 0.01).all()
    assert gmm.weights_.sum() == pytest.approx(1.0)
    assert 1 <= gmm.n_em_steps_ <= 15
    assert fit_gmm(x, n_components=8, max_em_steps=1).n_em_steps_ == 1


def test_gmm_distance_zero_on_identical_and_symmetric():
    a = fit_gmm(_blobs(1), n_components=8)
    b = fit_gmm(_blobs(2, shift=2.0), n_components=8)
    c = fit_gmm(_blobs(1), n_components=8)  # same data, same seed -> the same model
    assert gmm_distance(a, a) == 0.0
    assert gmm_distance(a, c) == pytest.approx(0.0, abs=1e-9)
    assert gmm_distance(a, b) == pytest.approx(gmm_distance(b, a))
    assert gmm_distance(a, b) > 0
    d = gmm_distance_matrix([a, b, c])
    assert d.shape == (3, 3)
    assert np.array_equal(d, d.T)
    assert np.all(np.diag(d) == 0)
    assert d[0, 1] > d[0, 2]

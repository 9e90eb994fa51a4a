"""The L2C network: shapes and distributions of its heads, the residual BiLSTM, the
per-set rescaling of points, the CNN for images and spectrograms, the metric block's PSD
projection."""

from __future__ import annotations

import pytest
import torch

from dlwild.l2c.model import L2C, RBDLSTM, EmbeddingCNN


def test_heads_give_distributions_over_k_and_over_clusters():
    torch.manual_seed(0)
    model = L2C((2,), k_max=5, m=2, width=32, count_units=8).eval()
    out = model(torch.rand(3, 11, 2))
    assert out.log_pk.shape == (3, 5)
    assert torch.allclose(out.log_pk.exp().sum(1), torch.ones(3))
    for k, log_a in enumerate(out.log_assign, start=1):
        assert log_a.shape == (3, 11, k)
        assert torch.allclose(log_a.exp().sum(-1), torch.ones(3, 11), atol=1e-6)


def test_the_residual_layer_adds_its_input():
    layer = RBDLSTM(8)
    for p in layer.lstm.parameters():
        torch.nn.init.zeros_(p)          # LSTM output tanh(0) * sigmoid(0) = 0
    x = torch.randn(2, 5, 8)
    assert torch.allclose(layer(x), x)
    with pytest.raises(ValueError, match="even width"):
        RBDLSTM(7)


def test_points_are_rescaled_per_set_so_scale_and_shift_do_not_matter():
    torch.manual_seed(1)
    model = L2C((2,), m=1, width=16, count_units=4).eval()
    x = torch.rand(2, 9, 2)
    a, b = model(x), model(3.0 * x - 7.0)
    assert torch.allclose(a.log_pk, b.log_pk, atol=1e-5)


def test_the_cnn_embeds_images_and_spectrograms():
    cnn = EmbeddingCNN((32, 32), scale=0.25).eval()
    assert cnn(torch.rand(4, 32, 32)).shape == (4, 64)
    model = L2C((64, 64), m=1, width=16, count_units=4, cnn_scale=0.25).eval()
    assert model(torch.rand(2, 6, 64, 64)).log_pk.shape == (2, 5)
    with pytest.raises(ValueError, match="at least 8 x 8"):
        EmbeddingCNN((4, 4))
    with pytest.raises(ValueError, match="input_shape"):
        L2C((3, 4, 5, 6))


def test_the_metric_block_stays_positive_semidefinite():
    torch.manual_seed(2)
    model = L2C((2,), m=1, width=8, count_units=4, metric="full", max_n=12)
    with torch.no_grad():
        model.metric_a.copy_(torch.randn(8, 8))
    model.project_metric()
    assert torch.linalg.eigvalsh(model.metric_a).min() > -1e-5
    out = model(torch.rand(2, 12, 2))
    assert out.log_pk.shape == (2, 5)
    diag = L2C((2,), m=1, width=8, count_units=4, metric="mahalanobis", max_n=12)
    with torch.no_grad():
        diag.metric_a.fill_(-1.0)
    diag.project_metric()
    assert diag.metric_a.min() == 0
    euclid = L2C((2,), m=1, width=8, count_units=4, metric="euclidean", max_n=12)
    z = torch.tensor([[[0.0] * 8, [1.0] * 8]])
    assert euclid.distances(z)[0, 0, 1].item() == pytest.approx(8.0)
    with pytest.raises(ValueError, match="metric must be"):
        L2C((2,), metric="cosine")

"""Tests of dlwild.speakers.losses: the MLSP 2017 pairwise KL-divergence (PKLD) loss against a
hand computation, its margin hinge, symmetry, zero point, gradients, and that it trains."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from dlwild.core.train import fit
from dlwild.speakers.losses import pairwise_kl_divergence, pairwise_kl_loss, pkld_loss_fn

P1, P2, P3 = (0.5, 0.5), (0.8, 0.2), (0.1, 0.9)


def kl(p: tuple[float, float], q: tuple[float, float]) -> float:
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))


def probs(*rows: tuple[float, float]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def test_kl_matrix_matches_hand_values():
    got = pairwise_kl_divergence(probs(P1, P2, P3), eps=0.0)
    want = [[kl(p, q) for q in (P1, P2, P3)] for p in (P1, P2, P3)]
    assert torch.allclose(got, torch.tensor(want, dtype=torch.float64), atol=1e-12)
    # KL(P2||P3) = 0.8 log 8 + 0.2 log(2/9), written out
    assert got[1, 2].item() == pytest.approx(0.8 * math.log(8) + 0.2 * math.log(0.2 / 0.9))


def test_loss_matches_hand_computation_on_three_items():
    # items 1, 2 by speaker A, item 3 by speaker B; margin 2; 3 unordered pairs
    m = 2.0
    same_12 = kl(P1, P2) + kl(P2, P1)
    diff_13 = max(0.0, m - kl(P1, P3)) + max(0.0, m - kl(P3, P1))
    diff_23 = max(0.0, m - kl(P2, P3)) + max(0.0, m - kl(P3, P2))
    want = (same_12 + diff_13 + diff_23) / 3
    got = pairwise_kl_loss(probs(P1, P2, P3), torch.tensor([0, 0, 1]), margin=m)
    assert got.item() == pytest.approx(want, abs=1e-12)
    # the same number from logits
    logits = torch.log(probs(P1, P2, P3)) + 3.0
    assert pairwise_kl_loss(logits, [0, 0, 1], margin=m, from_logits=True).item() == (
        pytest.approx(want, abs=1e-12))


def test_margin_hinge_zero_beyond_the_margin():
    pair = probs(P2, P3)
    assert kl(P2, P3) > 1.0 and kl(P3, P2) > 1.0
    assert pairwise_kl_loss(pair, [0, 1], margin=1.0).item() == pytest.approx(0.0, abs=1e-12)
    # with a margin above both KLs each direction pays margin - KL
    want = (2.0 - kl(P2, P3)) + (2.0 - kl(P3, P2))
    assert pairwise_kl_loss(pair, [0, 1], margin=2.0).item() == pytest.approx(want, abs=1e-12)
    # one direction beyond, one within the margin
    mid = (kl(P3, P2) + kl(P2, P3)) / 2
    want = max(0.0, mid - kl(P2, P3)) + max(0.0, mid - kl(P3, P2))
    assert pairwise_kl_loss(pair, [0, 1], margin=mid).item() == pytest.approx(want, abs=1e-12)


def test_symmetric_in_pairs_and_batch_order():
    torch.manual_seed(0)
    logits = torch.randn(7, 4, dtype=torch.float64)
    speakers = torch.tensor([0, 1, 0, 2, 1, 1, 2])
    base = pairwise_kl_loss(logits, speakers, from_logits=True)
    perm = torch.randperm(7)
    assert pairwise_kl_loss(logits[perm], speakers[perm], from_logits=True).item() == (
        pytest.approx(base.item(), abs=1e-12))
    for labels in ([0, 0], [0, 1]):
        ab = pairwise_kl_loss(probs(P1, P3), labels)
        ba = pairwise_kl_loss(probs(P3, P1), labels)
        assert ab.item() == pytest.approx(ba.item(), abs=1e-14)


def test_zero_for_identical_same_speaker_outputs():
    row = torch.softmax(torch.randn(1, 5), dim=1)
    batch = row.repeat(6, 1)
    assert abs(pairwise_kl_loss(batch, [3] * 6).item()) < 1e-6
    # but identical outputs of different speakers cost 2 * margin per pair
    assert pairwise_kl_loss(batch, [0, 1] * 3, margin=2.0).item() == pytest.approx(
        4.0 * 9 / 15, abs=1e-5)  # 9 of the 15 pairs are different-speaker pairs


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        pairwise_kl_loss(probs(P1), [0])
    with pytest.raises(ValueError, match="labels"):
        pairwise_kl_loss(probs(P1, P2), [0, 1, 2])


@pytest.mark.parametrize("from_logits", [True, False])
def test_gradcheck_float64(from_logits):
    torch.manual_seed(1)
    logits = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    speakers = torch.tensor([0, 0, 1, 1, 2])

    def f(z: torch.Tensor) -> torch.Tensor:
        x = z if from_logits else torch.softmax(z, dim=1)
        return pairwise_kl_loss(x, speakers, margin=2.0, from_logits=from_logits)

    assert torch.autograd.gradcheck(f, (logits,), eps=1e-6, atol=1e-6)


def test_loss_decreases_when_training_on_separable_toy_data():
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[3.0, 0, 0, 0], [0, 3.0, 0, 0], [0, 0, 3.0, 0]])
    speakers = torch.arange(3).repeat_interleave(20)
    x = centres[speakers] + 0.3 * torch.randn(60, 4, generator=gen)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    history = fit(
        model, TensorDataset(x, speakers), loss_fn=pkld_loss_fn(margin=2.0),
        optimizer=lambda p: torch.optim.Adam(p, lr=1e-2), epochs=30, batch_size=20,
        progress=False,
    )
    losses = [record["train_loss"] for record in history.epochs]
    assert losses[-1] < 0.25 * losses[0]

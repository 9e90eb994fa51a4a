"""The loss against hand computations: the pair weights phi1/phi2, P_ij, the count and
assignment terms, lambda."""

from __future__ import annotations

import math

import pytest
import torch

from dlwild.l2c.loss import PairWeights, l2c_loss, pair_probabilities, pair_weights, weights_for
from dlwild.l2c.model import Output


def _output(pk, assign):
    return Output(torch.log(torch.tensor([pk])),
                  [torch.log(torch.tensor([a])) for a in assign])


def test_pair_weights_for_the_chapters_generator():
    w = weights_for(72, 5)                       # digest §3.3: phi 0.456 -> 1.044 / 0.956
    assert w.same + w.different == pytest.approx(2.0)
    assert w.same == pytest.approx(1.044, abs=1e-3) and w.different == pytest.approx(0.956,
                                                                                     abs=1e-3)
    w20 = weights_for(20, 5)
    assert w20.same == pytest.approx(1.055, abs=1e-3)
    half = pair_weights(0.5)
    assert half.same == pytest.approx(1.0) and half.different == pytest.approx(1.0)
    phi = 0.2   # by hand: sqrt(.8) = .894427, sqrt(.2) = .447214, c = 2 / 1.341641
    assert pair_weights(phi).same == pytest.approx(2 * 0.894427191 / 1.341640786, rel=1e-8)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        pair_weights(1.0)


def test_pair_probabilities_by_hand():
    # P(k) = (0.3, 0.7); for k = 2 item 0 is (0.8, 0.2), item 1 (0.6, 0.4), item 2 (0.1, 0.9)
    out = _output([0.3, 0.7], [[[1.0], [1.0], [1.0]], [[0.8, 0.2], [0.6, 0.4], [0.1, 0.9]]])
    p = pair_probabilities(out)[0]
    assert p[0, 1].item() == pytest.approx(0.3 + 0.7 * (0.48 + 0.08))
    assert p[0, 2].item() == pytest.approx(0.3 + 0.7 * (0.08 + 0.18))
    assert p[1, 2].item() == pytest.approx(0.3 + 0.7 * (0.06 + 0.36))
    assert torch.allclose(p, p.T)


def test_loss_by_hand():
    out = _output([0.3, 0.7], [[[1.0], [1.0], [1.0]], [[0.8, 0.2], [0.6, 0.4], [0.1, 0.9]]])
    labels = torch.tensor([[0, 0, 1]])       # items 0 and 1 together, 2 alone: k = 2
    w = PairWeights(0.4, 1.2, 0.8)
    total, count, assign = l2c_loss(out, labels, torch.tensor([2]), w, lam=5.0)
    p01, p02, p12 = 0.692, 0.482, 0.594
    hand_assign = -(2 / 6) * (1.2 * math.log(p01) + 0.8 * math.log(1 - p02)
                              + 0.8 * math.log(1 - p12))
    assert count.item() == pytest.approx(-math.log(0.7))
    assert assign.item() == pytest.approx(hand_assign, rel=1e-5)
    assert total.item() == pytest.approx(-math.log(0.7) + 5 * hand_assign, rel=1e-5)


def test_certain_right_answers_cost_almost_nothing_and_wrong_ones_a_lot():
    right = _output([1e-9, 1 - 1e-9], [[[1.0], [1.0]], [[1.0, 1e-9], [1e-9, 1.0]]])
    labels, k = torch.tensor([[0, 1]]), torch.tensor([2])
    low = l2c_loss(right, labels, k, weights_for(20, 5))[0].item()
    wrong = l2c_loss(right, torch.tensor([[0, 0]]), torch.tensor([1]), weights_for(20, 5))
    assert low < 1e-4 and wrong[0].item() > 10   # clipped: finite


def test_loss_needs_two_items():
    out = _output([1.0], [[[1.0]]])
    with pytest.raises(ValueError, match="at least 2 items"):
        l2c_loss(out, torch.tensor([[0]]), torch.tensor([1]), pair_weights(0.5))

"""Known answers for the class-imbalance tools: long-tail counts, focal loss, metrics."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlwild.wild import imbalance


def test_long_tail_counts_fall_exponentially_from_head_to_head_over_ratio():
    counts = imbalance.long_tail_counts(1000, 100)
    assert counts[0] == 1000 and counts[-1] == 10 and len(counts) == 10
    assert np.all(np.diff(counts) < 0)
    assert counts[1] == round(1000 * 100 ** (-1 / 9))
    assert imbalance.long_tail_counts(50, 1).tolist() == [50] * 10


def test_an_imbalance_ratio_below_one_or_an_empty_class_is_refused():
    with pytest.raises(ValueError, match="ratio must be >= 1"):
        imbalance.long_tail_counts(100, 0.5)
    with pytest.raises(ValueError, match="no sample"):
        imbalance.long_tail_counts(100, 1000)


def test_subsample_draws_the_counts_and_refuses_too_few_images():
    y = np.repeat(np.arange(10), 20)
    idx = imbalance.subsample(y, imbalance.long_tail_counts(20, 10), seed=0)
    assert np.bincount(y[idx]).tolist() == imbalance.long_tail_counts(20, 10).tolist()
    with pytest.raises(ValueError, match="class 0 has 20 images"):
        imbalance.subsample(y, np.full(10, 21), seed=0)


def test_focal_loss_reduces_to_cross_entropy_at_gamma_zero_and_matches_a_hand_value():
    logits, target = torch.randn(16, 10), torch.randint(10, (16,))
    assert torch.allclose(imbalance.focal_loss(logits, target, 0.0),
                          F.cross_entropy(logits, target))
    one = torch.log(torch.tensor([[0.9, 0.1]]))
    assert float(imbalance.focal_loss(one, torch.tensor([0]), 2.0)) == pytest.approx(
        -(0.1 ** 2) * np.log(0.9), rel=1e-5)


def test_class_weights_are_inverse_frequencies_and_refuse_an_empty_class():
    w = imbalance.class_weights(np.array([0, 0, 0, 1]), 2)
    assert w.tolist() == pytest.approx([4 / 6, 2.0])
    with pytest.raises(ValueError, match="no sample"):
        imbalance.class_weights(np.array([0, 0]), 2)


def test_scores_on_a_hand_built_confusion():
    # true: 4 of class 0, 2 of class 1; predicted: one class-0 image as class 1
    y = np.array([0, 0, 0, 0, 1, 1])
    proba = np.array([[.9, .1], [.8, .2], [.7, .3], [.4, .6], [.2, .8], [.1, .9]])
    s = imbalance.Scores.of(y, proba, rare=1, precision=1.0)
    assert s.confusion.tolist() == [[3, 1], [0, 2]]
    assert s.recall.tolist() == [0.75, 1.0]
    assert s.balanced_accuracy == pytest.approx(0.875)
    f1_0, f1_1 = 2 * 1 * .75 / 1.75, 2 * (2 / 3) * 1 / (5 / 3)
    assert s.macro_f1 == pytest.approx((f1_0 + f1_1) / 2)
    # at precision 1 the threshold must exclude the 0.6: both class-1 images remain
    assert s.rare_recall_at_precision == 1.0


def test_recall_at_precision_without_positives_is_refused():
    with pytest.raises(ValueError, match="no positive"):
        imbalance.recall_at_precision(np.zeros(3, int), np.ones(3), 0.9)


def test_resampling_balances_classes_and_augmentation_tops_up_to_the_head():
    x = torch.rand(13, 1, 28, 28)
    y = torch.tensor([0] * 10 + [1] * 3)
    drawn = imbalance.Resampled(x, y, seed=0)
    labels = torch.stack([drawn[i][1] for i in range(len(drawn))])
    assert len(drawn) == 13 and 3 <= int((labels == 1).sum()) <= 10
    grown = imbalance.training_set("augment", x, y, seed=0)
    labels = torch.stack([grown[i][1] for i in range(len(grown))])
    assert torch.bincount(labels).tolist() == [10, 10]
    with pytest.raises(ValueError, match="method must be one of"):
        imbalance.training_set("smote", x, y, seed=0)

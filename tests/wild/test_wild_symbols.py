"""The DeepScores long tail of the imbalance lesson: class choice, patch tensors, the tail's
numbers, the patch CNN, and the remedies' comparison on it."""

import numpy as np
import pytest
import torch

from dlwild.wild import imbalance, nets, pipeline, prose, symbols


def test_tail_classes_rank_by_training_frequency_among_classes_the_test_pieces_hold():
    train = ["a"] * 50 + ["b"] * 20 + ["c"] * 20 + ["d"] * 5 + ["e"] * 90
    test = ["a"] * 9 + ["b"] * 3 + ["c"] * 4 + ["d"] * 3 + ["e"] * 2
    # e is the most frequent in training but has only 2 test symbols: left out
    assert symbols.tail_classes(train, test, 3) == ["a", "b", "c"]  # b, c tie: by name
    assert symbols.tail_classes(train, test, 10) == ["a", "b", "c", "d"]
    assert symbols.tail_classes(train, test, 10, min_test=1) == ["e", "a", "b", "c", "d"]
    with pytest.raises(ValueError, match="at least 2 classes"):
        symbols.tail_classes(train, test, 1)
    with pytest.raises(ValueError, match="no long tail"):
        symbols.tail_classes(train, ["a"] * 5, 4)


def test_ink_turns_white_paper_into_zeros_and_black_ink_into_ones():
    x = symbols.ink(np.array([[[255, 0], [51, 255]]], dtype=np.uint8))
    assert x.shape == (1, 1, 2, 2) and x.dtype == torch.float32
    assert x[0, 0].flatten().tolist() == pytest.approx([0.0, 1.0, 0.8, 0.0])


def _tail(counts, test_counts, size=(12, 8)):
    y = np.repeat(np.arange(len(counts)), counts)
    y_test = np.repeat(np.arange(len(test_counts)), test_counts)
    return symbols.SymbolTail(
        tuple(f"c{i}" for i in range(len(counts))), torch.rand(len(y), 1, *size),
        torch.from_numpy(y), torch.rand(4, 1, *size), torch.tensor([0, 1, 2, 0]),
        torch.rand(len(y_test), 1, *size), y_test, "digest", 6)


def test_the_tail_reports_its_counts_ratio_and_patch_size():
    tail = _tail([40, 10, 2], [8, 3, 1])
    assert tail.counts.tolist() == [40, 10, 2] and tail.test_counts.tolist() == [8, 3, 1]
    assert tail.ratio == 20 and tail.size == (12, 8)
    record = tail.record()
    assert record["classes"] == ["c0", "c1", "c2"] and record["ratio"] == 20
    assert record["validation_patches"] == 4 and record["patch_size"] == [12, 8]


def test_the_patch_cnn_takes_any_patch_size_and_still_reads_digits():
    assert nets.DigitCNN(4, 3, (56, 32))(torch.rand(2, 1, 56, 32)).shape == (2, 3)
    assert nets.DigitCNN(4)(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="at least 4 x 4"):
        nets.DigitCNN(4, 3, (2, 32))


def test_a_negative_head_cap_is_refused_before_any_page_is_engraved():
    with pytest.raises(ValueError, match="head must be >= 0"):
        symbols.symbol_long_tail(10, -1, 0)


def _scores(bacc_by_method):
    # a 2-class problem whose balanced accuracy is the given value for each method
    out = {}
    for method, bacc in bacc_by_method.items():
        right = round(bacc * 10)
        y = np.array([0] * 10 + [1] * 10)
        pred = np.r_[np.zeros(10, int), np.ones(right, int), np.zeros(10 - right, int)]
        proba = np.eye(2)[pred] * 0.9 + 0.05
        out[method] = imbalance.Scores.of(y, proba, rare=1)
    return out


def test_the_symbol_study_compares_weighting_with_the_data_side_remedies():
    study = pipeline.SymbolStudy(_tail([40, 2], [10, 10]), 0, _scores(
        {"ce": 0.6, "weighted": 0.7, "focal": 0.6, "resample": 0.8, "augment": 0.9}), {})
    gains = prose.symbol_remedies(study)
    assert gains["weighted_gain"] == pytest.approx(0.05)  # balanced over two classes
    assert gains["data_gain"] == pytest.approx(0.15)
    assert study.rare == 1  # the fewest training patches
    table = study.table()
    assert list(table.index) == ["ce", "weighted", "focal", "resample", "augment"]
    assert study.record()["rare"] == "c1"


def test_the_verdict_sentence_follows_the_measured_gains():
    assert prose.symbol_verdict({"weighted_gain": 0.01, "data_gain": 0.05}).startswith(
        "Here too, weighting the loss gains less")
    assert "unlike the lesson" in prose.symbol_verdict({"weighted_gain": 0.05,
                                                        "data_gain": 0.05})

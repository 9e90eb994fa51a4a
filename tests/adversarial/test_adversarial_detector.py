"""The detector: thresholds from calibration scores, rates, AUC and the per-attack table."""

from __future__ import annotations

import numpy as np
import pytest

from dlwild.adversarial.detector import (
    Detection,
    auc,
    detection_rates,
    detection_table,
    recall_precision,
    thresholds,
)


def test_the_threshold_lets_through_the_wanted_share_of_calibration_images():
    clean = np.arange(1000, dtype=float)
    cuts = thresholds(clean, (0.01, 0.05, 0.10))
    for a, t in cuts.items():
        assert (clean > t).mean() <= a and (clean > t).mean() >= a - 0.002


def test_rates_auc_and_recall_precision_known_answers():
    assert detection_rates([1.0, 2.0, 3.0, 4.0], {0.01: 2.5}) == {0.01: 0.5}
    assert auc([0.0, 1.0], [2.0, 3.0]) == 1.0 and auc([2.0, 3.0], [0.0, 1.0]) == 0.0
    assert auc([0.0, 1.0], [0.0, 1.0]) == 0.5
    recall, precision, fpr = recall_precision(np.array([0.0, 0.0, 3.0, 0.0]),
                                              np.array([3.0, 3.0, 0.0, 3.0]), 1.0)
    assert (recall, fpr) == (0.75, 0.25) and precision == pytest.approx(0.75)


def test_a_detection_counts_successful_and_all_attacked_images():
    d = Detection.of("x", calibration=np.linspace(0, 1, 101), clean=np.array([0.1, 0.2]),
                     adversarial=np.array([2.0, 0.1, 3.0]), success=np.array([True, False, True]))
    assert d.rates(True)[0.01] == 1.0 and d.rates(False)[0.01] == pytest.approx(2 / 3)
    row = detection_table([d]).loc["x"]
    assert row["AUC"] == 1.0 and row["all attacked @ 1% FPR"] == pytest.approx(2 / 3)
    none = Detection.of("y", np.linspace(0, 1, 11), np.array([0.1]), np.array([0.5]),
                        np.array([False]))
    assert np.isnan(none.auc()) and len(none.successful) == 0


def test_bad_scores_are_refused():
    with pytest.raises(ValueError, match="non-empty 1-D"):
        thresholds([])
    with pytest.raises(ValueError, match="finite"):
        thresholds([0.0, float("nan")])
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        thresholds([0.0, 1.0], (1.5,))
    with pytest.raises(ValueError, match="one success flag per attacked image"):
        Detection.of("x", [0.0, 1.0], [0.0], [1.0, 2.0], [True])

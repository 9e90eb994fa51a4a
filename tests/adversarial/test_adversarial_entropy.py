"""The local spatial entropy: known answers, the ceilings, agreement with the slow
scipy.ndimage.generic_filter reference and with skimage's rank entropy, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.filters.rank import entropy as rank_entropy

from dlwild.adversarial.entropy import (
    READINGS,
    ceiling,
    local_entropy_map,
    local_spatial_entropy,
    reference_entropy_map,
)


@pytest.mark.parametrize("reading", READINGS)
def test_an_all_zero_map_has_entropy_zero_in_every_reading(reading):
    assert local_spatial_entropy(torch.zeros(2, 6, 7), reading=reading).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("reading", ["grey", "cooccurrence"])
def test_a_constant_map_has_entropy_zero_in_the_histogram_readings(reading):
    assert local_spatial_entropy(torch.full((1, 5, 5), 0.7), reading=reading).item() == 0.0


def test_a_constant_nonzero_map_reaches_the_literal_readings_ceiling_log2_9():
    score = local_spatial_entropy(torch.full((1, 5, 5), 0.3)).item()
    assert score == pytest.approx(math.log2(9)) and ceiling(3) == pytest.approx(math.log2(9))
    rng = torch.Generator().manual_seed(0)
    assert float(local_entropy_map(torch.rand(20, 9, 9, generator=rng)).max()) <= math.log2(9)


def test_windows_with_known_histograms():
    # literal: four equal cells, five zeros -> uniform over four cells = 2 bits
    four = torch.tensor([[[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]]])
    assert local_spatial_entropy(four).item() == pytest.approx(2.0)
    # literal: one cell holds half the mass, two cells a quarter each -> 1.5 bits
    skew = torch.tensor([[[1.0, 0.5, 0.5], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    assert local_spatial_entropy(skew).item() == pytest.approx(1.5)
    # grey levels: 3 cells of level a, 6 of level b -> H(1/3, 2/3)
    mixed = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]])
    h = -(1 / 3) * math.log2(1 / 3) - (2 / 3) * math.log2(2 / 3)
    assert local_spatial_entropy(mixed, reading="grey").item() == pytest.approx(h)
    # co-occurrence, 12 pairs: horizontal (0,0)x2, (1,1)x4; vertical (0,1)x3, (1,1)x3
    pairs = np.array([2, 7, 3]) / 12
    assert local_spatial_entropy(mixed, reading="cooccurrence").item() == pytest.approx(
        float(-(pairs * np.log2(pairs)).sum()))
    # nine distinct grey levels hit the grey reading's ceiling
    distinct = (torch.arange(9, dtype=torch.float64).reshape(1, 3, 3)) / 8
    assert local_spatial_entropy(distinct, reading="grey").item() == pytest.approx(
        ceiling(3, "grey"))


def test_the_score_is_the_mean_over_all_windows_inside_the_map():
    maps = torch.rand(3, 8, 6, generator=torch.Generator().manual_seed(1))
    full = local_entropy_map(maps, 3)
    assert full.shape == (3, 6, 4)
    assert torch.allclose(local_spatial_entropy(maps, 3), full.mean(dim=(1, 2)))


@pytest.mark.parametrize("reading", READINGS)
@pytest.mark.parametrize("window", [3, 5])
def test_agrees_with_the_slow_generic_filter_reference(reading, window):
    rng = np.random.default_rng(2)
    maps = rng.random((3, 11, 9))
    maps[0, :4] = 0.0                                # zero windows
    maps[1] = np.round(maps[1] * 3) / 3              # few grey levels: repeated values
    fast = local_entropy_map(maps, window, reading=reading).numpy()
    slow = np.stack([reference_entropy_map(m, window, reading=reading) for m in maps])
    np.testing.assert_allclose(fast, slow, atol=1e-9)


def test_the_grey_reading_agrees_with_skimage_rank_entropy():
    from skimage.morphology import footprint_rectangle

    rng = np.random.default_rng(3)
    maps = np.round(rng.random((2, 12, 10)) * 5) / 5
    ours = local_entropy_map(maps, 3, reading="grey").numpy()
    for m, o in zip(maps, ours, strict=True):
        grey = np.round(m * 255).astype(np.uint8)
        theirs = rank_entropy(grey, footprint_rectangle((3, 3)))[1:-1, 1:-1]
        np.testing.assert_allclose(o, theirs, atol=1e-9)


@pytest.mark.parametrize("maps, window, match", [
    (torch.zeros(5, 5), 3, r"shape \(N, H, W\)"),
    (torch.zeros(1, 5, 5, dtype=torch.int64), 3, "floating point"),
    (np.zeros((1, 5, 5), dtype=np.uint8), 3, "floating point"),
    (torch.full((1, 5, 5), 1.5), 3, r"in \[0, 1\]"),
    (torch.full((1, 5, 5), -0.1), 3, r"in \[0, 1\]"),
    (torch.full((1, 5, 5), float("nan")), 3, "NaN"),
    (torch.zeros(1, 5, 5), 4, "odd"),
    (torch.zeros(1, 5, 5), 7, "larger than the maps"),
    ([[0.0]], 3, "torch tensor or numpy array"),
])
def test_bad_input_is_refused_with_what_was_expected(maps, window, match):
    with pytest.raises(ValueError, match=match):
        local_spatial_entropy(maps, window)


def test_an_unknown_reading_is_refused():
    with pytest.raises(ValueError, match="reading must be one of"):
        local_spatial_entropy(torch.zeros(1, 5, 5), reading="shannon")

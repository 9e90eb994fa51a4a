"""The attacks through the libraries on a tiny trained victim: every image is counted,
success is re-checked on the returned images, parameters and versions are recorded."""

from __future__ import annotations

from importlib.metadata import version
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from dlwild.adversarial.attacks import run_attack
from dlwild.adversarial.model import VGGNet, predict

SETTINGS = SimpleNamespace(boundary_steps=30, pixel_iterations=1)


@pytest.fixture(scope="module")
def toy():
    """A VGGNet on 8 x 8 images: class 0 bright on the left, 1 in the middle, 2 on the
    right (three classes: ART's pixel attack refuses binary classifiers)."""
    torch.manual_seed(0)
    n = 150
    y = torch.arange(n) % 3
    x = torch.rand(n, 1, 8, 8) * 0.3
    x[y == 0, :, :, :3] += 0.6
    x[y == 1, :, :, 3:6] += 0.6
    x[y == 2, :, :, 6:] += 0.6
    model = VGGNet(classes=3, width=4, size=8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    assert (predict(model, x).argmax(1) == y).float().mean() > 0.95
    return model, x[:6], y[:6]


@pytest.mark.parametrize("name, library", [
    ("fgsm", "foolbox"), ("gradient", "foolbox"), ("deepfool", "foolbox"),
    ("boundary", "foolbox"), ("one_pixel", "adversarial-robustness-toolbox")])
def test_every_attack_counts_every_image_and_records_itself(toy, name, library):
    model, x, y = toy
    r = run_attack(name, model, x, y, settings=SETTINGS, seed=0)
    assert r.n == len(x) and r.adversarial.shape == x.shape and r.success.shape == (len(x),)
    assert float(r.adversarial.min()) >= 0 and float(r.adversarial.max()) <= 1
    again = (predict(model, r.adversarial).argmax(1) != y).numpy()
    np.testing.assert_array_equal(r.success, again)
    assert r.library == library and r.library_version == version(library) and r.params
    row = r.summary()
    assert row["images"] == len(x) and row["successful"] == int(r.success.sum())
    if r.success.any():
        l2, linf = r.norms()
        assert row["median L2"] == pytest.approx(float(np.median(l2[r.success])))
        assert np.all(linf[r.success] > 0)


def test_failed_attacks_stay_in_the_counts(toy):
    model, x, y = toy
    # FGSM's grid tops out at 0.5 in Linf; with the labels flipped the "clean" prediction is
    # already wrong, so every image counts as a success, none is dropped
    r = run_attack("fgsm", model, x, (y + 1) % 3, settings=SETTINGS, seed=0)
    assert r.n == len(x) and r.success.all()
    one = run_attack("one_pixel", model, x, y, settings=SETTINGS, seed=0)
    assert one.n == len(x) and one.summary()["images"] == len(x)
    failed = ~one.success
    torch.testing.assert_close(one.adversarial[failed], x[failed], atol=1e-5, rtol=0)


def test_unknown_attacks_and_bad_batches_are_refused(toy):
    model, x, y = toy
    with pytest.raises(ValueError, match="attack must be one of"):
        run_attack("cw", model, x, y, settings=SETTINGS, seed=0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        run_attack("fgsm", model, x[:, 0], y, settings=SETTINGS, seed=0)

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


def test_one_chunk_is_exactly_the_plain_attack(toy, tmp_path):
    """The boundary attack draws random numbers: seeded alike, one chunk gives the images
    run_attack gives, and the second call loads them instead of attacking again."""
    from dlwild.adversarial import attacks
    from dlwild.core.cache import ArtifactCache

    model, x, y = toy
    store = ArtifactCache(tmp_path)
    plain = run_attack("boundary", model, x, y, settings=SETTINGS, seed=3)
    chunked = attacks.attack_in_chunks("boundary", model, x, y, settings=SETTINGS, seed=3,
                                       chunk=len(x), store=store)
    torch.testing.assert_close(chunked.adversarial, plain.adversarial)
    np.testing.assert_array_equal(chunked.success, plain.success)
    again = attacks.attack_in_chunks("boundary", model, x, y, settings=SETTINGS, seed=3,
                                     chunk=len(x), store=store)
    assert again.seconds == chunked.seconds  # the recorded time of the chunk, not a rerun
    torch.testing.assert_close(again.adversarial, plain.adversarial)


def test_an_interrupted_attack_resumes_at_the_first_missing_chunk(toy, tmp_path,
                                                                 monkeypatch):
    from dlwild.adversarial import attacks
    from dlwild.core.cache import ArtifactCache

    model, x, y = toy
    store = ArtifactCache(tmp_path)
    whole = attacks.attack_in_chunks("deepfool", model, x, y, settings=SETTINGS, seed=0,
                                     chunk=2, store=ArtifactCache(tmp_path / "whole"))
    calls = []
    real = attacks.run_attack

    def interrupted(name, model, xs, ys, **kw):
        calls.append(len(xs))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the run is stopped during the second chunk
        return real(name, model, xs, ys, **kw)

    monkeypatch.setattr(attacks, "run_attack", interrupted)
    with pytest.raises(KeyboardInterrupt):
        attacks.attack_in_chunks("deepfool", model, x, y, settings=SETTINGS, seed=0,
                                 chunk=2, store=store)
    calls.clear()
    monkeypatch.setattr(attacks, "run_attack", lambda *a, **kw: calls.append(1) or real(*a,
                                                                                       **kw))
    resumed = attacks.attack_in_chunks("deepfool", model, x, y, settings=SETTINGS, seed=0,
                                       chunk=2, store=store)
    assert len(calls) == 2  # chunks two and three; the first was kept
    assert resumed.n == len(x) and resumed.params["chunks"] == "3 of up to 2 images"
    torch.testing.assert_close(resumed.adversarial, whole.adversarial)
    np.testing.assert_array_equal(resumed.success, whole.success)


def test_another_victim_or_budget_attacks_afresh(toy, tmp_path):
    from dlwild.adversarial import attacks
    from dlwild.core.cache import ArtifactCache

    model, x, y = toy
    store = ArtifactCache(tmp_path)
    attacks.attack_in_chunks("one_pixel", model, x, y, settings=SETTINGS, seed=0, chunk=3,
                             store=store)
    folder = tmp_path / "adversarial-attack-one_pixel"
    assert len([p for p in folder.iterdir() if p.is_dir()]) == 2
    other = SimpleNamespace(boundary_steps=30, pixel_iterations=2)
    attacks.attack_in_chunks("one_pixel", model, x, y, settings=other, seed=0, chunk=3,
                             store=store)
    assert len([p for p in folder.iterdir() if p.is_dir()]) == 4  # the budget is keyed
    tweaked = VGGNet(classes=3, width=4, size=8)
    tweaked.load_state_dict(model.state_dict())
    assert attacks.model_digest(tweaked) == attacks.model_digest(model)
    with torch.no_grad():
        tweaked.head[-1].bias += 1e-3
    assert attacks.model_digest(tweaked) != attacks.model_digest(model)
    with pytest.raises(ValueError, match="chunk"):
        attacks.attack_in_chunks("fgsm", model, x, y, settings=SETTINGS, seed=0, chunk=0)

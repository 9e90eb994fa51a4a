"""Selection of images, class subsets, the claims' measurement and the declaration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlwild.adversarial import claims
from dlwild.adversarial.chapter import CHAPTER
from dlwild.adversarial.pipeline import stratified, subset
from dlwild.core import config
from dlwild.core.claims import compare


def test_stratified_selection_is_balanced_seeded_and_stays_in_its_pool():
    labels = np.repeat(np.arange(10), 50)
    pool = np.arange(0, 500, 2)
    a = stratified(labels, 30, np.random.default_rng(0), among=pool)
    b = stratified(labels, 30, np.random.default_rng(0), among=pool)
    np.testing.assert_array_equal(a, b)
    assert len(set(a)) == 30 and set(a) <= set(pool)
    assert np.bincount(labels[a], minlength=10).tolist() == [3] * 10
    uneven = stratified(labels, 23, np.random.default_rng(1))
    assert sorted(np.bincount(labels[uneven], minlength=10)) == [2] * 7 + [3] * 3
    with pytest.raises(ValueError, match="only 250 available"):
        stratified(labels, 300, np.random.default_rng(0), among=pool)


def test_a_class_subset_renumbers_labels_in_the_given_order():
    images = np.arange(6).reshape(6, 1, 1).astype(np.uint8)
    x, y = subset(images, np.array([3, 5, 8, 1, 8, 3]), (8, 3))
    assert x.ravel().tolist() == [0, 2, 4, 5] and y.tolist() == [1, 0, 0, 1]


def _table(aucs, clean=1.0, adversarial=2.0):
    rows = {a: {"AUC": v, "detected @ 1% FPR": 0.5, "mean score (clean)": clean,
                "mean score (adversarial)": adversarial} for a, v in aucs.items()}
    return pd.DataFrame(rows).T


def _summaries(drops):
    return {a: {"clean confidence": 1.0, "GT confidence": 1.0 - d} for a, d in drops.items()}


def test_the_relations_are_measured_from_the_tables():
    aucs = {"fgsm": 0.99, "gradient": 0.8, "one_pixel": 0.6, "deepfool": 0.85,
            "boundary": 0.95}
    drops = {"fgsm": 0.9, "gradient": 0.5, "one_pixel": 0.2, "deepfool": 0.6, "boundary": 0.8}
    got = claims.measure(_summaries(drops), _table(aucs), (1.0, 2.0), data="MNIST",
                         scale="quick")
    rows = {r["id"]: r for r in compare(claims.CLAIMS, got)}
    for rel in ("rel_adv_above_clean", "rel_fgsm_boundary_easiest", "rel_one_pixel_hardest",
                "rel_stronger_easier", "rel_few_classes_larger"):
        assert rows[rel]["verdict"] == "holds", rel
    assert all(rows[c.id]["verdict"] == "not comparable" for c in claims.ABSOLUTE)
    flipped = claims.measure(_summaries({a: -d for a, d in drops.items()}),
                             _table({**aucs, "one_pixel": 0.99, "fgsm": 0.5}, adversarial=0.5),
                             (2.0, 1.0), data="MNIST", scale="quick")
    rows = {r["id"]: r for r in compare(claims.CLAIMS, flipped)}
    for rel in ("rel_adv_above_clean", "rel_fgsm_boundary_easiest", "rel_one_pixel_hardest",
                "rel_few_classes_larger"):
        assert rows[rel]["verdict"] == "differs", rel


def test_an_attack_without_successes_is_left_out_of_the_ranking_and_said_so():
    aucs = {"fgsm": 0.99, "gradient": 0.8, "one_pixel": float("nan"), "deepfool": 0.85,
            "boundary": 0.95}
    drops = {"fgsm": 0.9, "gradient": 0.5, "one_pixel": float("nan"), "deepfool": 0.6,
             "boundary": 0.8}
    ablation = pd.DataFrame({"FGSM": [0.4, 0.9]},
                            index=["guided, features; intensity, 3x3",
                                   "guided, features; grey, 3x3"])
    got = claims.measure(_summaries(drops), _table(aucs), (1.0, 2.0), data="MNIST",
                         scale="quick", ablation=ablation)
    rows = {r["id"]: r for r in compare(claims.CLAIMS, got)}
    assert rows["rel_one_pixel_hardest"]["verdict"] == "not comparable"
    assert "one-pixel" in rows["rel_one_pixel_hardest"]["note"]
    assert rows["rel_fgsm_boundary_easiest"]["verdict"] == "holds"
    assert "left out" in rows["rel_fgsm_boundary_easiest"]["note"]
    assert rows["rel_stronger_easier"]["verdict"] == "holds"
    assert "over 4 attacks" in rows["rel_stronger_easier"]["note"]
    assert "grey-level reading every AUC is > 0.5: yes" in rows["rel_adv_above_clean"]["note"]


def test_the_declaration_refuses_even_windows_and_unknown_readings():
    with pytest.raises(config.ConfigError, match="odd"):
        CHAPTER.validate({"window": 4})
    with pytest.raises(config.ConfigError, match="reading"):
        CHAPTER.validate({"reading": "shannon"})
    assert CHAPTER.validate({})["window"] == 3


def test_the_study_attacks_scores_and_evaluates_every_attack_on_a_tiny_victim(isolated_home):
    """The whole chain on a toy victim (three bright bands, 28 x 28): every attack's images
    counted, thresholds from the calibration images, one table row per attack, the
    measurement of every claim and a JSON-able metrics record."""
    import json
    from types import SimpleNamespace

    import torch

    from dlwild.adversarial import pipeline
    from dlwild.adversarial.model import VGGNet, Victim
    from dlwild.adversarial.settings import ATTACKS

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n = 90
    labels = np.arange(n) % 3
    images = (rng.random((n, 28, 28)) * 60).astype(np.uint8)
    for c in range(3):
        images[labels == c, :, 9 * c:9 * c + 9] += 150
    x = torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)
    y = torch.from_numpy(labels)
    model = VGGNet(classes=3, width=4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    settings = SimpleNamespace(threads=None, calibration_images=30, fast_images=24,
                               slow_images=6, boundary_steps=20, pixel_iterations=1,
                               fast_chunk=10, slow_chunk=4)
    run = SimpleNamespace(settings=settings, seed=0, params={"window": 3,
                                                             "reading": "grey"})
    data = pipeline.Mnist((images, labels), (images, labels), (images, labels), None)
    study = pipeline.study(run, Victim(model, None, 1.0, (0, 1, 2)), data)
    assert list(study.results) == list(ATTACKS)
    assert [study.results[a].n for a in ATTACKS] == [24, 24, 6, 24, 6]
    assert len(study.calibration) == 30
    table = study.table()
    assert list(table.index) == list(ATTACKS) and "detected @ 1% FPR" in table.columns
    point = study.operating_point(0.10)
    assert point.loc["paper, Table 2", "recall"] == 0.979
    assert ((point["recall"] >= 0) & (point["recall"] <= 1)).all()
    measured = pipeline.measured(study, (1.0, 2.0), "quick")
    assert set(measured) == {c.id for c in claims.CLAIMS}
    json.dumps(pipeline.metrics(study, (1.0, 2.0)))

    # the record drawn from its file alone: the same tables as the live study's
    from dlwild.adversarial import record
    from dlwild.core.claims import compare

    ablation = pipeline.ablation(study, 6, (3, 5))
    metrics = pipeline.metrics(study, (1.0, 2.0), coil=study, ablation=ablation)
    full = json.loads(json.dumps({
        "scale": "full", "metrics": metrics, "claims": compare(claims.CLAIMS, measured),
        "provenance": {"wall_s": 7200.0, "started": "2026-12-03T01:20",
                       "hardware": {"name": "x86_64 CPU (2 threads)"}}}))
    live = pipeline.attacks_and_detection(study.summary(), study.table(),
                                          study.victim.test_accuracy, "MNIST").data
    tables = record.record_tables(full)
    assert [t.caption.split(" victim")[0] for t in tables[:2]] == ["MNIST", "COIL-20"]
    pd.testing.assert_frame_equal(tables[0].data, live.astype({c: float for c in live.columns
                                                               if c != "attack"}),
                                  check_dtype=False)
    html = tables[0].to_html()
    assert ">24<" in html and "24.000" not in html  # image counts as counts
    np.testing.assert_allclose(tables[2].data.to_numpy(dtype=float),
                               ablation.to_numpy(dtype=float), equal_nan=True)
    assert tables[2].caption.endswith("entropy: the first 6 images of each attack")
    text = record.record_text(full)
    hours = sum(a["images"] * a["s / image"] for v in (metrics, metrics["coil20"])
                for a in v["attacks"].values()) / 3600
    assert record.attack_hours(full["metrics"]) == pytest.approx(hours)
    assert f"Its attacks took {hours:.1f} h on x86_64 CPU (2 threads)" in text
    assert "the sitting that finished it took 2.0 h, started 2026-12-03" in text
    assert "the fast attacks ran on 24 of them, the slow ones on 6" in text
    assert "The COIL-20 victim classifies" in text and "literal reading, 3x3" in text
    quick = dict(full, metrics={k: v for k, v in full["metrics"].items()
                                if k not in ("coil20", "ablation")})
    assert len(record.record_tables(quick)) == 1


def test_the_coil20_study_runs_on_the_real_images(isolated_home):
    """The full scale's second victim, end to end on COIL-20 from the mirror with a tiny
    budget (the full run is the first to reach this code otherwise): the split per object,
    a 32 x 32 victim, every attack on half of the correct test images, the view and the
    record's part."""
    import json
    import os
    from types import SimpleNamespace

    import torch

    from dlwild.adversarial import pipeline
    from dlwild.adversarial.settings import ATTACKS, SLOW_ATTACKS

    if not os.environ.get("DLWILD_MIRROR"):
        pytest.skip("COIL-20 comes from the data mirror (DLWILD_MIRROR), as in CI")
    torch.manual_seed(0)
    used, trained = [], []
    settings = SimpleNamespace(threads=None, width=4, epochs=2, batch_size=64, lr=3e-3,
                               calibration_images=0, fast_images=0, slow_images=4,
                               boundary_steps=20, pixel_iterations=1, fast_chunk=64,
                               slow_chunk=4)
    run = SimpleNamespace(settings=settings, seed=0, data="real", device=torch.device("cpu"),
                          params={"window": 3, "reading": "grey"},
                          use_data=lambda name, fetched: used.append(name),
                          use_training=trained.append)
    coil = pipeline.load_coil20(run)
    assert used == ["coil20_32x32_mat"]
    for (images, labels), per_object in zip((coil.train, coil.val, coil.test), (54, 6, 12),
                                            strict=True):
        assert images.shape[1:] == (32, 32) and images.dtype == np.uint8
        assert np.bincount(labels, minlength=20).tolist() == [per_object] * 20
    study = pipeline.coil20_study(run, CHAPTER)
    assert len(trained) == 1 and 0.0 < study.victim.test_accuracy <= 1.0
    correct = int(round(study.victim.test_accuracy * 240))
    assert len(study.calibration) == correct // 2
    assert [study.results[a].n for a in ATTACKS] == [
        min(4, correct - correct // 2) if a in SLOW_ATTACKS else correct - correct // 2
        for a in ATTACKS]
    view = pipeline.coil20_view(study)
    assert list(view.data.index) == list(study.table().index)
    record = pipeline.metrics(study, (1.0, 2.0), coil=study)["coil20"]
    assert set(record["detection"]) == set(ATTACKS)
    json.dumps(record)


def test_ablation_images_say_which_attacks_had_fewer():
    from dlwild.adversarial.pipeline import ablation_images

    assert ablation_images(2000, {"fgsm": 7890, "boundary": 2000}) == (
        "the first 2,000 images of each attack")
    assert ablation_images(100, {"fgsm": 200, "one_pixel": 30, "boundary": 30,
                                 "deepfool": 80}) == (
        "the first 100 images of each attack (all 30 of the One pixel attack and the "
        "Boundary attack; all 80 of the DeepFool)")

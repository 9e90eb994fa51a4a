"""The declaration, the claims' measured side, curve readings and the map hook."""

import numpy as np
import pytest
import torch

from dlwild.core import config
from dlwild.core.report import compare
from dlwild.core.train import History
from dlwild.wild import claims, curves, nets
from dlwild.wild.chapter import CHAPTER


def test_the_declaration_validates_its_knobs():
    assert CHAPTER.validate({"normal_rate": 12000})["normal_rate"] == 12000
    with pytest.raises(config.ConfigError):
        CHAPTER.validate({"normal_rate": 44100})
    assert 3 <= len(CHAPTER.goals) <= 5 and len(CHAPTER.try_this) >= 2


def test_every_claim_gets_a_verdict_and_the_case_studies_are_not_comparable():
    values = {c.id: True for c in claims.RELATIVE}
    values["rel_staged_schedule_helps"] = None
    values["rel_staged_schedule_helps_why"] = "no DeepScores run"
    rows = compare(claims.CLAIMS, claims.measured(values, "quick"))
    verdict = {r["id"]: r["verdict"] for r in rows}
    assert all(verdict[k] == "not comparable" for k in claims.NOT_REPRODUCIBLE)
    assert verdict["rel_deep_ties_pca"] == "holds"
    assert verdict["rel_staged_schedule_helps"] == "not comparable"


def _history(train, val):
    return History([{"epoch": i + 1, "train_loss": t, "val_loss": v, "val_accuracy": 0.9}
                    for i, (t, v) in enumerate(zip(train, val, strict=True))])


def test_curve_readings_tell_over_from_under_fitting():
    over = curves.CurveReading.of(_history([1, .5, .1, .01], [1, .5, .6, .8]))
    assert over.best_epoch == 2 and over.rise == pytest.approx(0.3) and over.overfits
    flat = curves.CurveReading.of(_history([1, .9, .9, .9], [1, .95, .95, .95]))
    assert flat.underfits and not flat.overfits
    assert curves.augmentation_removes_overfitting(over, curves.CurveReading.of(
        _history([1, .5, .3, .2], [1, .5, .45, .44])))


def test_misclassified_orders_by_confidence_and_maps_come_from_the_shared_code():
    proba = np.array([[.9, .1], [.3, .7], [.1, .9], [.6, .4]])
    assert curves.misclassified(proba, np.array([0, 0, 0, 1])).tolist() == [2, 1, 3]
    model = nets.DigitCNN(4)
    maps = curves.guided_maps(model, torch.rand(2, 1, 28, 28))
    assert maps.shape == (2, 28, 28) and maps.min() >= 0 and maps.max() <= 1


def test_jitter_is_seeded_and_keeps_shapes():
    x = torch.rand(3, 1, 28, 28)
    a = nets.jitter(x, torch.Generator().manual_seed(1))
    b = nets.jitter(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b)


def test_loss_shaping_reads_the_deepscores_results_or_says_there_are_none(tmp_path, monkeypatch):
    import json

    from dlwild.wild import pipeline

    monkeypatch.setattr(pipeline.results, "load_record", lambda name: None)
    monkeypatch.setattr(pipeline.config, "project_root", lambda: None)
    monkeypatch.setenv("DLWILD_RESULTS_DIR", str(tmp_path))
    assert pipeline.deepscores_schedules() is None
    record = {"scale": "quick", "provenance": {"started": "now"}, "metrics": {
        "dataset": {}, "schedules": {k: {"mean AP@0.5": ap, "history": {"epochs": []}}
                                     for k, ap in (("joint", 0.2), ("paper", 0.1))}}}
    (tmp_path / "deepscores.json").write_text(json.dumps(record))
    monkeypatch.setattr(pipeline.results, "load_results", lambda p: json.loads(p.read_text()))
    shaping = pipeline.deepscores_schedules()
    assert shaping["joint"]["mean AP@0.5"] == 0.2 and shaping["scale"] == "quick"
    assert "staged" in pipeline.schedule_table(shaping).index[1]


def test_the_loss_shaping_text_quotes_the_schedules_or_says_what_to_run():
    from dlwild.wild import prose

    assert "dlwild run deepscores" in prose.shaping_text(None)
    shaping = {"scale": "quick", **{k: {"mean AP@0.5": ap, "noteheadBlack AP@0.5": ap / 2}
                                    for k, ap in (("joint", 0.2), ("paper", 0.1))}}
    text = prose.shaping_text(shaping)
    assert "quick run" in text and "**0.200**" in text and "**0.050**" in text

"""The chapter end to end beside the detector: the classifier trained once through the
chapter's cache and described in numbers, the format round trip, and what the chapter
compares with the papers and records."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from scores import small_dataset
from test_detector import TINY, fake_detector, hand_made_evaluation

from dlwild.core.cache import ArtifactCache
from dlwild.core.history import History
from dlwild.core.results import dumps
from dlwild.deepscores import claims, classify
from dlwild.deepscores import pipeline as dp
from dlwild.deepscores.dataset import DataSummary, corpus_record
from dlwild.deepscores.detector import ScheduleComparison
from dlwild.deepscores.stats import BackgroundTable, PageStatistics

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    tiny_dataset = small_dataset()
    store = ArtifactCache(tmp_path_factory.mktemp("artifacts"))
    return dp.classification(tiny_dataset, TINY, seed=0, device="cpu", store=store,
                             progress=False), store


def test_classifier_splits_by_piece_and_is_cached(classifier, monkeypatch):
    tiny_dataset = small_dataset()
    run, store = classifier
    test_ids = {p.page.id for p in tiny_dataset.test}
    assert set(run.test.records["page"]) <= test_ids
    assert not set(run.train.records["page"]) & test_ids
    assert run.predicted.shape == run.test.labels.shape
    assert 0.0 <= run.macro_accuracy <= 1.0
    assert run.params["batch_size"] == TINY.classifier_batch
    assert list(store.root.glob("deepscores-classifier/*"))
    monkeypatch.setattr(dp.classify, "train_classifier",
                        lambda *a, **k: pytest.fail("trained again"))
    again = dp.classification(tiny_dataset, TINY, seed=0, device="cpu", store=store,
                              progress=False)
    np.testing.assert_array_equal(again.predicted, run.predicted)


def test_classifier_in_numbers_and_words(classifier):
    run, _ = classifier
    prose = run.prose()
    assert prose["ds_cls_n"] == str(len(run.test.classes))
    assert prose["ds_patch_size"] == "28 × 16" and prose["ds_cls_epochs"] == "1"
    assert prose["ds_macro"] == f"{run.macro_accuracy:.3f}"
    per_class = run.per_class()
    assert (per_class["support"] > 0).all()
    assert per_class["support"].sum() == len(run.test)
    shown = run.examples()
    assert len(shown) == len(set(run.test.labels[shown])) == len(per_class)
    assert set(run.record()) == {"params", "macro_accuracy", "train_patches", "test_patches",
                                 "history"}


def made_up_classifier(labels, predicted, classes) -> dp.ClassifierRun:
    n = len(labels)
    patches = classify.Patches(np.zeros((n, 4, 4), np.uint8), np.array(labels), tuple(classes),
                               pd.DataFrame({"page": ["p"] * n}))
    params = {"patch_size": [56, 32], "epochs": 2}
    return dp.ClassifierRun(patches, patches, None, History(), np.array(predicted), params)


def test_context_tables_show_the_look_alikes_or_say_why_not():
    classes = ["accidentalSharp", "keySharp", "accidentalFlat", "keyFlat", "noteheadBlack"]
    run = made_up_classifier([0, 0, 1, 1, 2, 4], [0, 1, 1, 1, 2, 4], classes)
    sharp, flat = run.context_tables()
    assert sharp.loc["accidentalSharp", "keySharp"] == 1 and sharp.loc["keySharp",
                                                                       "keySharp"] == 2
    assert "keyFlat" in flat.data and "no confusion" in flat.data  # no keyFlat test patch
    assert "accidentalFlat" not in run.prose()["ds_cls_scope"]
    assert "keyFlat has none" in run.prose()["ds_cls_scope"]
    none = made_up_classifier([0, 1], [0, 1], ["noteheadBlack", "gClef"])
    (note,) = none.context_tables()
    assert "No look-alike pair" in note.data


def test_format_round_trip_reports_what_came_back(tmp_path):
    tiny_dataset = small_dataset()
    table = dp.format_round_trip(tiny_dataset.test, tmp_path)
    assert list(table.index) == ["DeepScores v1", "DeepScoresV2"]
    n_symbols = sum(len(p.page.symbols) for p in tiny_dataset.test)
    assert (table["pages"] == len(tiny_dataset.test)).all()
    assert (table["symbols"] == n_symbols).all() and table["classes kept"].all()
    assert (table["largest box difference (px)"] < 0.05).all()
    assert (tmp_path / "v1" / "xml_annotations").is_dir() and (tmp_path / "v2").is_dir()
    assert dp.format_round_trip(tiny_dataset.test).equals(table)  # in a temporary folder


def test_measured_and_metrics_cover_every_claim_and_write_as_json():
    tiny_dataset = small_dataset()
    evaluation = hand_made_evaluation()
    run = made_up_classifier([0, 1, 1], [0, 1, 1], ["noteheadBlack", "gClef"])
    stats = PageStatistics.of(tiny_dataset.annotations(), tiny_dataset.interline)
    background = BackgroundTable.of(tiny_dataset.pages())
    measured = dp.measured(run, evaluation, stats, background, scale="quick")
    assert set(measured) == {c.id for c in claims.CLAIMS}
    assert measured["ds_classification_accuracy"].value == 1.0
    assert measured["rel_classification_easier"].value is True  # 1.0 > mean AP 0.5
    comparison = ScheduleComparison({"joint": (fake_detector("joint", [1.0]), evaluation),
                                     "paper": (fake_detector("paper", [1.0]), evaluation)}, 3.0)
    record = dp.metrics(summary=DataSummary.of(tiny_dataset, corpus_record(tiny_dataset)),
                        dataset=tiny_dataset, stats=stats, background=background,
                        classifier=run, detector=fake_detector("joint", [1.0]),
                        detection=evaluation, schedules=comparison, real=None,
                        settings=TINY)
    assert record["real_pages"] is None and record["settings"]["steps"] == TINY.steps
    assert record["dataset"]["test_pages"] == len(tiny_dataset.test)
    ap_c = next(r for r in record["detector"]["ap"] if r["class"] == "c")
    assert ap_c["ap50"] is None  # a class without test symbols has no AP: null, not NaN
    json.loads(dumps(record))


def test_real_pages_are_evaluated_like_the_test_pages(tmp_path):
    tiny_dataset = small_dataset()
    from dlwild.deepscores.detector import DetectorPages
    from dlwild.deepscores.format_v2 import write_v2

    work = DetectorPages.of(tiny_dataset, TINY)
    pages = [p.page for p in tiny_dataset.test]
    classes = sorted({s.cls for p in pages for s in p.symbols})
    json_path = write_v2(pages, tmp_path / "ds2", classes,
                         images=[p.image for p in tiny_dataset.test])
    det = fake_detector("joint", [1.0])
    det.classes[:] = work.classes
    real = dp.RealEvaluation.of(f"deepscores_v2:{json_path}", det, work)
    assert len(real.evaluation.truth) == len(pages)
    assert real.pages.kind == "v2" and real.record()["source"]["pages"] == len(pages)
    truth = real.evaluation.truth[0]
    assert truth.width == pytest.approx(pages[0].width * work.interline / 10, abs=1)
    assert set(real.evaluation.ap.ap50) == set(work.classes)


def test_cpu_threads_are_set_inside_the_block_and_restored():
    before = torch.get_num_threads()
    with dp.cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with dp.cpu_threads(None):
        assert torch.get_num_threads() == before

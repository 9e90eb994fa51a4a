"""The chapter's detector: trained once through the chapter's cache, detection decoded with
regressed and cached sizes, its evaluation and the schedule comparison in numbers."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from scores import small_dataset

from dlwild.core.cache import ArtifactCache
from dlwild.core.history import History
from dlwild.deepscores import detector as dd
from dlwild.deepscores.annotations import Page, Symbol
from dlwild.deepscores.dwd import DWDNet
from dlwild.deepscores.evaluate import Detection, average_precision
from dlwild.deepscores.settings import Settings

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = Settings(
    pieces=None, fonts=("Leipzig",), detector_scale=0.5, detector_classes=3, crop=(64, 64),
    crops_per_page=2, steps=6, width=4, optimizer="adam", lr=1e-3, classifier_classes=3,
    patches_per_class=20, patch_size=(28, 16), classifier_epochs=1, classifier_width=4,
    classifier_blocks=(1, 1), val_crops=1)


def test_pages_at_the_working_scale_carry_the_data_sets_hash():
    tiny_dataset = small_dataset()
    work = dd.DetectorPages.of(tiny_dataset, TINY)
    assert len(work.train) == len(tiny_dataset.train) and work.interline == 5.0
    assert work.data["source"] == "real" and work.data["sha256"] == tiny_dataset.sha256
    assert work.classes == list(work.train_counts())[:3]
    image, page = work.test[0]
    assert image.shape == (page.height, page.width)
    assert work.symbols_per_test_page() == pytest.approx(
        np.mean([sum(s.cls in work.classes for s in p.symbols) for p in work.truth]))


def test_detector_trains_caches_and_decodes_twice(tmp_path, monkeypatch):
    tiny_dataset = small_dataset()
    work = dd.DetectorPages.of(tiny_dataset, TINY)
    store = ArtifactCache(tmp_path)
    det = dd.train_detector(work, TINY, seed=0, device="cpu", store=store, progress=False)
    frame = det.history.to_frame()
    assert {"train_loss", "val_loss", "loss_e", "loss_c", "loss_b"} <= set(frame.columns)
    assert det.params["steps"] == det.params["epochs"] * len(work.train) * 2
    assert det.params["val_crops"] == len(work.test)
    assert int(det.model.loss_memory.step) == det.params["steps"]
    assert list(store.root.glob("deepscores-dwd/*"))  # the chapter's artifact name
    # same inputs again: loaded, not trained
    monkeypatch.setattr(dd.train, "fit", lambda *a, **k: pytest.fail("trained again"))
    again = dd.train_detector(work, TINY, seed=0, device="cpu", store=store, progress=False)
    for a, b in zip(det.model.state_dict().values(), again.model.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    sizes = {"noteheadBlack": (4.0, 6.0), "gClef": (30.0, 12.0), "fClef": (15.0, 12.0),
             **{c: (5.0, 5.0) for c in det.classes}}
    found = dd.detect(det, work.test, sizes)
    assert set(found.regressed) == set(found.cached) == {p.id for p in work.truth}
    for page_id, dets in found.cached.items():
        assert len(dets) == len(found.regressed[page_id])
        for cached, regressed in zip(dets, found.regressed[page_id], strict=True):
            assert cached.cls == regressed.cls and cached.score == regressed.score
            h, w = sizes[cached.cls]
            x0, y0, x1, y1 = cached.bbox  # page coordinates at the working scale
            assert (y1 - y0, x1 - x0) == pytest.approx((h, w))
    # other pages, other key: a network trained on other data is not loaded
    moved = replace(work, data={**work.data, "sha256": "0" * 64})
    monkeypatch.undo()
    other = dd.train_detector(moved, TINY, seed=0, device="cpu", store=store, progress=False)
    assert len(list(store.root.glob("deepscores-dwd/*"))) == 2 and other.history is not None


def test_schedules_and_optimizers():
    assert dd.schedule_for("joint", 10).stages == (("tot", 10),)
    assert [name for name, _ in dd.schedule_for("paper", 10).stages] == ["e", "c", "b", "e",
                                                                        "tot"]
    assert dd.other_schedule("joint") == "paper" and dd.other_schedule("paper") == "joint"
    for bad in (lambda: dd.schedule_for("fast", 10), lambda: dd.other_schedule("fast")):
        with pytest.raises(ValueError, match="schedule"):
            bad()
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(dd.optimizer_for("adam", 1e-3)(params), torch.optim.Adam)
    rms = dd.optimizer_for("rmsprop", 1e-3)(params)
    assert isinstance(rms, torch.optim.RMSprop) and rms.defaults["alpha"] == 0.995
    with pytest.raises(ValueError, match="optimizer"):
        dd.optimizer_for("sgd", 1e-3)


def hand_made_evaluation() -> dd.DetectorEvaluation:
    """Two test pages: class a found exactly, class b missed, class c absent."""
    truth = [Page("p1", 100, 100, [Symbol("a", (0, 0, 10, 10), 1), Symbol("b", (50, 50, 60, 60),
                                                                         2)]),
             Page("p2", 100, 100, [Symbol("a", (20, 20, 30, 30), 1)])]
    regressed = {"p1": [Detection("a", (0, 0, 10, 10), 0.9)],
                 "p2": [Detection("a", (20, 20, 30, 30), 0.8)]}
    found = dd.PageDetections(regressed, regressed, seconds=3.0)
    classes = ["a", "b", "c"]
    ap = average_precision(truth, regressed, classes)
    return dd.DetectorEvaluation(found, ap, ap, truth, classes, {"a": 30, "b": 10, "c": 5})


def test_evaluation_in_numbers_and_words():
    ev = hand_made_evaluation()
    assert ev.ap.ap50["a"] == pytest.approx(1.0) and ev.ap.ap50["b"] == 0.0
    assert ev.summary["ap50"]["mean"] == pytest.approx(0.5)  # c has no test symbol: skipped
    assert ev.detections_per_page() == 1.0
    prose = ev.prose()
    assert prose["ds_mean50"] == "0.500" and prose["ds_zero_classes"] == "b"
    assert prose["ds_det_seconds"] == "1.5"  # 3 s over two pages
    assert prose["ds_det_scope"].startswith("the 2 of the 3 learnt classes")
    assert "c has none" in prose["ds_det_scope"]
    table = ev.table()
    assert list(table.columns) == ["train", "test", "AP50", "paper AP50", "AP25", "paper AP25",
                                   "mAP", "AP50 cached"]
    assert table.loc["a", "train"] == 30 and table.loc["a", "test"] == 2
    counts = ev.confusions()
    assert counts.loc["b", "missed"] == 1 and "c" not in counts.index
    assert ev.zero_ap_text() == "The classes with AP 0 at IoU 0.5: b (1 test symbols: 1 missed)."
    record = ev.record()
    assert record["seconds_per_test_page"] == 1.5 and len(record["ap"]) == 3
    # the live table is the one the page draws from the record, through JSON
    from dlwild.deepscores.record import ap_table

    saved = json.loads(json.dumps({"metrics": {"detector": record}}))
    pd.testing.assert_frame_equal(ap_table(saved), table)


def fake_detector(schedule: str, losses: list[float], steps: int = 100,
                  epochs: int = 10) -> dd.TrainedDetector:
    history = History([{"epoch": e, "train_loss": 1.0, "loss_e": v, "loss_c": 1.0}
                       for e, v in enumerate(losses, start=1)])
    params = {"schedule": schedule, "steps": steps, "epochs": epochs, "crop": [64, 64],
              "focus": 0.5, "interline": 5.0}
    return dd.TrainedDetector(DWDNet(3, width=4), ["a", "b", "c"], history, params)


def test_schedule_comparison_stage_ends_and_energy_jump():
    staged = [1.0, 0.8, 0.5, 2.0, 4.0, 3.0, 1.0, 0.9, 0.7, 0.6]  # low in e, jumps in c and b
    ev = hand_made_evaluation()
    comparison = dd.ScheduleComparison(
        {"paper": (fake_detector("paper", staged), ev),
         "joint": (fake_detector("joint", [1.0] * 10), ev)}, symbols_per_page=12.4)
    # staged(100): e 30, c 15, b 15, e 10, tot 30 steps; 10 steps per epoch
    assert [n for _, n in comparison.stages] == [30, 15, 15, 10, 30]
    np.testing.assert_allclose(comparison.stage_ends(), [3.5, 5.0, 6.5, 7.5, 10.5])
    assert comparison.energy_jump() == pytest.approx(4.0 / 0.5)
    prose = comparison.prose()
    assert prose["ds_stage_shares"] == "e 30%, c 15%, b 15%, e 10%, tot 30%"
    assert prose["ds_energy_jump"] == "8" and prose["ds_test_symbols"] == "12"
    assert prose["ds_map_joint"] == prose["ds_map_paper"] == "0.500"
    assert set(comparison.table().index) == {"paper", "joint"}
    assert set(comparison.record()) == {"paper", "joint"}
    with pytest.raises(ValueError, match="one detector per schedule"):
        dd.ScheduleComparison({"paper": (fake_detector("paper", staged), ev)}, 1.0)


def test_trained_detector_and_method_constants_in_words():
    prose = fake_detector("joint", [1.0]).prose()
    assert prose["ds_crop"] == "64 × 64" and prose["ds_det_n"] == "3"
    assert prose["ds_focus"] == "50%" and prose["ds_det_interline"] == "5"
    assert prose["ds_det_params"].replace("\u202f", "").replace(",", "").isdigit()
    constants = dd.MethodConstants.of(TINY).prose()
    assert constants["ds_e_max"] == "10" and constants["ds_e_top"] == "9"
    assert constants["ds_loss_weights"] == "2, 1, 1" and constants["ds_loss_weight_sum"] == "4"
    assert constants["ds_loss_weights_sum_text"] == "2 + 1 + 1"
    assert constants["ds_loss_window"] == "5" and constants["ds_min_radius"] == "4"


def test_two_schedules_train_side_by_side_and_load_like_one(tmp_path, monkeypatch):
    tiny_dataset = small_dataset()
    work = dd.DetectorPages.of(tiny_dataset, TINY)
    store = ArtifactCache(tmp_path)
    started = dd.start_detectors(work, TINY, seed=0, device="cpu", schedules=("joint", "paper"),
                                 store=store, workers=2)
    assert started.pool is not None and len(started.jobs) == 2  # returned while they train
    joint, paper = started.result(progress=False)
    assert started.pool is None  # the workers are gone once collected
    assert (joint.params["schedule"], paper.params["schedule"]) == ("joint", "paper")
    assert len(list(store.root.glob("deepscores-dwd/*"))) == 2
    # trained in worker processes, loaded here: the same as asking for one of them alone
    monkeypatch.setattr(dd.train, "fit", lambda *a, **k: pytest.fail("trained again"))
    alone = dd.train_detector(work, TINY, seed=0, device="cpu", schedule="paper", store=store,
                              progress=False)
    for a, b in zip(alone.model.state_dict().values(), paper.model.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    again = dd.train_detectors(work, TINY, seed=0, device="cpu", schedules=("paper", "joint"),
                               store=store, progress=False)  # all cached: no process started
    assert [d.params["schedule"] for d in again] == ["paper", "joint"]


def test_detectors_train_one_after_the_other_when_copies_of_the_pages_do_not_fit(
        tmp_path, monkeypatch, capsys):
    work = dd.DetectorPages.of(small_dataset(), TINY)
    size = dd.page_bytes(work)
    assert size == sum(image.nbytes for image, _ in work.train + work.test) > 0
    monkeypatch.setattr(dd, "available_memory", lambda: 8 * size)  # 2 copies x 2 travel x 2
    assert dd.copies_fit(work, 2) and not dd.copies_fit(work, 3)
    monkeypatch.setattr(dd, "available_memory", lambda: 8 * size - 1)
    started = dd.start_detectors(work, TINY, seed=0, device="cpu", schedules=("joint", "paper"),
                                 store=ArtifactCache(tmp_path), workers=2)
    assert started.pool is None and not started.jobs  # no process gets a copy
    assert "one after the other" in capsys.readouterr().out
    joint, paper = started.result(progress=False)  # trained here, when collected
    assert (joint.params["schedule"], paper.params["schedule"]) == ("joint", "paper")


def test_the_detectors_test_sample_spreads_over_pieces_and_fonts():
    from types import SimpleNamespace

    from dlwild.deepscores.detector import test_sample

    def page(piece, font, n):
        return SimpleNamespace(page=SimpleNamespace(id=f"{piece}-{font}-p{n:02d}",
                                                    piece=piece, font=font))

    pages = [page(piece, font, n) for piece in "abcd" for font in ("F1", "F2")
             for n in (1, 2)]
    sample = test_sample(pages, 4)
    assert {p.page.piece for p in sample} == set("abcd")  # every piece before a second page
    assert {p.page.font for p in sample} == {"F1", "F2"}  # the fonts rotate over the pieces
    assert all(p.page.id.endswith("p01") for p in sample)
    assert test_sample(pages, 4) == sample and test_sample(pages, None) == pages
    assert len(test_sample(pages, 100)) == len(pages)
    with pytest.raises(ValueError, match="at least 1"):
        test_sample(pages, 0)

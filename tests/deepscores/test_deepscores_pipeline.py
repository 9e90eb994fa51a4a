"""The DeepScores chapter's pipeline: scaling, interline estimate, real-page loading, the
cached detector and classifier, the background measure, the overlay matching."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from test_engrave import CHORALE, SOURCES

from dlwild.core.cache import ArtifactCache
from dlwild.deepscores import claims, figures, formats
from dlwild.deepscores import pipeline as dp
from dlwild.deepscores.annotations import AnnotationError, Page, Symbol
from dlwild.deepscores.engrave import annotate_svg, build_dataset, corpus_score, page_svgs
from dlwild.deepscores.evaluate import Detection

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dp.Settings(
    pieces=None, fonts=("Leipzig",), detector_scale=0.5, detector_classes=3, crop=(64, 64),
    crops_per_page=2, steps=6, width=4, optimizer="adam", lr=1e-3, classifier_classes=3,
    patches_per_class=20, patch_size=(28, 16), classifier_epochs=1, classifier_width=4,
    classifier_blocks=(1, 1))


@pytest.fixture(scope="module")
def engraved():
    svg = page_svgs(corpus_score(CHORALE), piece=CHORALE, font="Leipzig")[0]
    return annotate_svg(svg, page_id="chorale-p01", font="Leipzig", piece=CHORALE)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    return build_dataset(None, ["Leipzig", "Bravura"], 3, sources=SOURCES, test_fraction=0.34,
                         cache=ArtifactCache(tmp_path_factory.mktemp("engraved")))


def staff_image(interline: int, staves: int = 3, width: int = 400) -> np.ndarray:
    """White page with ``staves`` five-line staves (2 px lines), 8 interlines apart, plus a
    few short ink marks that must not count as lines."""
    image = np.full((staves * 12 * interline, width), 255, np.uint8)
    for k in range(staves):
        top = interline * (2 + 12 * k)
        for line in range(5):
            y = top + line * interline
            image[y:y + 2, 10:width - 10] = 0
        image[top: top + 4 * interline, 50:56] = 0  # a barline-like mark
    return image


@pytest.mark.parametrize("interline", [7, 10, 20])
def test_interline_from_drawn_staves(interline):
    assert dp.estimate_interline(staff_image(interline)) == pytest.approx(interline, abs=0.01)


def test_interline_of_an_engraved_page_is_the_engravers(engraved):
    assert dp.estimate_interline(engraved.image) == pytest.approx(10.0, abs=0.6)


def test_interline_refuses_pages_without_staves():
    with pytest.raises(ValueError, match="no ink"):
        dp.estimate_interline(np.full((50, 50), 255, np.uint8))
    with pytest.raises(ValueError, match="staff lines"):
        dp.estimate_interline(staff_image(10)[:40])


def test_scaled_pair_scales_image_boxes_and_size(engraved):
    image, page = dp.scaled(engraved, 0.5)
    assert image.shape == (round(engraved.image.shape[0] / 2), round(engraved.image.shape[1] / 2))
    assert (page.width, page.height) == (image.shape[1], image.shape[0])
    for before, after in zip(engraved.page.symbols, page.symbols, strict=True):
        assert after.bbox == pytest.approx(tuple(v / 2 for v in before.bbox))
        assert after.cls == before.cls
    # the ink stays under the scaled boxes: darkest pixel of a notehead box is ink
    head = next(s for s in page.symbols if s.cls == "noteheadBlack")
    x0, y0, x1, y1 = (int(round(v)) for v in head.bbox)
    assert image[y0:y1, x0:x1].min() < 100
    assert dp.scaled(engraved, 1.0)[0] is engraved.image
    with pytest.raises(ValueError, match="positive"):
        dp.scaled(engraved, 0)


def test_v2_names_map_to_v1():
    assert dp.v1_class("noteheadBlackOnLine") == "noteheadBlack"
    assert dp.v1_class("noteheadHalfInSpace") == "noteheadHalf"
    assert dp.v1_class("keySharp") == "keySharp"


def test_real_pages_are_read_in_both_formats(tmp_path, engraved):
    page = replace(engraved.page, symbols=[
        replace(s, cls="noteheadBlackOnLine") if s.cls == "noteheadBlack" else s
        for s in engraved.page.symbols])
    classes = sorted({s.cls for s in page.symbols})
    json_path = formats.write_v2([page], tmp_path / "v2", classes, images=[engraved.image])
    real = dp.load_eval_pages(f"deepscores_v2:{json_path}")
    assert real.kind == "v2" and len(real.items) == 1
    image, got = real.items[0]
    assert image.shape == engraved.image.shape
    assert [s.cls for s in got.symbols] == [s.cls for s in engraved.page.symbols]
    assert real.record()["pages"] == 1
    formats.write_v1(engraved.page, engraved.image, tmp_path / "v1",
                     sorted({s.cls for s in engraved.page.symbols}))
    real1 = dp.load_eval_pages(f"deepscores_v1:{tmp_path / 'v1'}")
    assert real1.kind == "v1" and real1.items[0][0].shape == engraved.image.shape


def test_real_pages_bad_specs_are_refused(tmp_path):
    for spec in ("deepscores_v3:/x", "nowhere", "deepscores_v2:"):
        with pytest.raises(ValueError, match="eval_pages"):
            dp.load_eval_pages(spec)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        dp.load_eval_pages(f"deepscores_v1:{tmp_path / 'missing'}")


def test_real_page_image_size_must_match(tmp_path, engraved):
    classes = sorted({s.cls for s in engraved.page.symbols})
    json_path = formats.write_v2([engraved.page], tmp_path / "v2", classes,
                                 images=[engraved.image])
    image_path = tmp_path / "v2" / "images" / f"{engraved.page.id}.png"
    from PIL import Image
    Image.fromarray(engraved.image[:-10]).save(image_path)
    with pytest.raises(AnnotationError, match="height|size|px"):
        dp.load_eval_pages(f"deepscores_v2:{json_path}")


def test_schedules_and_optimizers():
    assert dp.schedule_for("joint", 10).stages == (("tot", 10),)
    assert [name for name, _ in dp.schedule_for("paper", 10).stages] == ["e", "c", "b", "e", "tot"]
    with pytest.raises(ValueError, match="schedule"):
        dp.schedule_for("fast", 10)
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(dp.optimizer_for("adam", 1e-3)(params), torch.optim.Adam)
    rms = dp.optimizer_for("rmsprop", 1e-3)(params)
    assert isinstance(rms, torch.optim.RMSprop) and rms.defaults["alpha"] == 0.995
    with pytest.raises(ValueError, match="optimizer"):
        dp.optimizer_for("sgd", 1e-3)


def test_detector_trains_caches_and_decodes_twice(tmp_path, tiny_dataset, monkeypatch):
    train_items = [dp.scaled(p, 0.5) for p in tiny_dataset.train]
    test_items = [dp.scaled(p, 0.5) for p in tiny_dataset.test]
    classes = ["noteheadBlack", "gClef", "fClef"]
    store = ArtifactCache(tmp_path)
    det = dp.train_detector(train_items, classes, TINY, seed=0, device="cpu",
                            val_items=test_items, data=dp.data_id(tiny_dataset), store=store,
                            progress=False)
    frame = det.history.to_frame()
    assert {"train_loss", "val_loss", "loss_e", "loss_c", "loss_b"} <= set(frame.columns)
    assert det.params["steps"] == det.params["epochs"] * len(train_items) * 2
    assert int(det.model.loss_memory.step) == det.params["steps"]
    # same inputs again: loaded, not trained
    monkeypatch.setattr(dp.train, "fit", lambda *a, **k: pytest.fail("trained again"))
    again = dp.train_detector(train_items, classes, TINY, seed=0, device="cpu",
                              val_items=test_items, data=dp.data_id(tiny_dataset),
                              store=store, progress=False)
    for a, b in zip(det.model.state_dict().values(), again.model.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    sizes = {"noteheadBlack": (4.0, 6.0), "gClef": (30.0, 12.0), "fClef": (15.0, 12.0)}
    found = dp.detect(det, test_items, sizes)
    assert set(found.regressed) == set(found.cached) == {p.id for _, p in test_items}
    for page_id, dets in found.cached.items():
        assert len(dets) == len(found.regressed[page_id])
        for cached, regressed in zip(dets, found.regressed[page_id], strict=True):
            assert cached.cls == regressed.cls and cached.score == regressed.score
            h, w = sizes[cached.cls]
            x0, y0, x1, y1 = cached.bbox  # page coordinates at the working scale
            assert (y1 - y0, x1 - x0) == pytest.approx((h, w))


def test_classifier_splits_by_piece_and_is_cached(tmp_path, tiny_dataset, monkeypatch):
    store = ArtifactCache(tmp_path)
    run = dp.classification(tiny_dataset, TINY, seed=0, device="cpu", store=store,
                            progress=False)
    test_ids = {p.page.id for p in tiny_dataset.test}
    assert set(run.test.records["page"]) <= test_ids
    assert not set(run.train.records["page"]) & test_ids
    assert run.predicted.shape == run.test.labels.shape
    assert 0.0 <= run.macro_accuracy <= 1.0
    monkeypatch.setattr(dp.classify, "train_classifier",
                        lambda *a, **k: pytest.fail("trained again"))
    again = dp.classification(tiny_dataset, TINY, seed=0, device="cpu", store=store,
                              progress=False)
    np.testing.assert_array_equal(again.predicted, run.predicted)


def test_background_of_a_thin_diagonal_stroke():
    image = np.full((40, 40), 255, np.uint8)
    for i in range(5, 35):
        image[i, i - 1:i + 2] = 0  # a 3-px diagonal line
    obbox = (3.0, 5.0, 6.0, 2.0, 38.0, 34.0, 35.0, 37.0)  # rectangle along the diagonal
    slur = Symbol("slur", (3.5, 5.0, 36.5, 35.0), 1, obbox)
    image[2:6, 30:34] = 0  # a 4 x 4 blob whose boxes are tight
    blob = Symbol("dot", (30.0, 2.0, 34.0, 6.0), 2, (30.0, 2.0, 34.0, 2.0, 34.0, 6.0, 30.0, 6.0))
    unoriented = Symbol("dot", (30.0, 2.0, 34.0, 6.0), 3)  # no oriented box: not counted
    page = Page("p", 40, 40, [slur, blob, unoriented])
    engraved = dp.EngravedPage(page, image, np.zeros_like(image), np.zeros_like(image))
    ratios = dp.background_ratios([engraved])
    slur_a, slur_o = formats.background_ratio(image, slur.bbox, slur.obbox)
    assert slur_a > 0.9 and slur_o < slur_a - 0.25  # the diagonal box is mostly ink's
    assert formats.background_ratio(image, blob.bbox, blob.obbox) == (0.0, 0.0)
    assert list(ratios["class"]) == ["slur", "dot"]  # the unoriented dot is not counted
    np.testing.assert_allclose(ratios[["aligned", "oriented"]].to_numpy(),
                               [[slur_a, slur_o], [0.0, 0.0]])


def test_match_counts_true_and_false_positives():
    truth = [Symbol("a", (0, 0, 10, 10), 1), Symbol("a", (20, 0, 30, 10), 2),
             Symbol("b", (40, 0, 50, 10), 3)]
    dets = [Detection("a", (1, 0, 11, 10), 0.9), Detection("a", (0, 0, 10, 10), 0.5),
            Detection("a", (40, 0, 50, 10), 0.8)]
    hit, found = figures.match(truth, dets)
    assert hit == [True, False, False]  # duplicate and wrong class are false positives
    assert found == [True, False, False]


def test_table_1_means_as_printed():
    # digest: the means of the 20 listed classes are 0.6641 (AP@0.5) and 0.8138 (AP@0.25)
    assert len(claims.TABLE_1_AP50) == len(claims.TABLE_1_AP25) == 20
    assert np.mean(list(claims.TABLE_1_AP50.values())) == pytest.approx(0.6641, abs=5e-5)
    assert np.mean(list(claims.TABLE_1_AP25.values())) == pytest.approx(0.8138, abs=5e-5)
    assert claims.TABLE_1_AP50["noteheadBlack"] == next(
        c.paper_value for c in claims.ABSOLUTE if c.id == "dwd_ap50_notehead")


def test_settings_are_json():
    for settings in dp.SETTINGS.values():
        record = dp.settings_dict(settings)
        assert record["steps"] == settings.steps and isinstance(record["fonts"], list)
    with pytest.raises(KeyError):
        dp.SETTINGS["medium"]


def test_format_round_trip_reports_what_came_back(tmp_path, tiny_dataset):
    table = dp.format_round_trip(tiny_dataset.test, tmp_path)
    assert list(table.index) == ["DeepScores v1", "DeepScoresV2"]
    n_symbols = sum(len(p.page.symbols) for p in tiny_dataset.test)
    assert (table["pages"] == len(tiny_dataset.test)).all()
    assert (table["symbols"] == n_symbols).all() and table["classes kept"].all()
    assert (table["largest box difference (px)"] < 0.05).all()
    assert (tmp_path / "v1" / "xml_annotations").is_dir() and (tmp_path / "v2").is_dir()


def test_bad_chapter_parameters_are_refused_early(tmp_path):
    dp.check_params(None, None, "joint", None)
    dp.check_params(["Leipzig", "Bravura"], 10, "paper", f"deepscores_v1:{tmp_path}")
    for fonts in ("Leipzig", [], ["Comic"], ["Leipzig", "Leipzig"]):
        with pytest.raises(ValueError, match="fonts"):
            dp.check_params(fonts, None, "joint", None)
    for pages in (1, "10", 2.5, True):
        with pytest.raises(ValueError, match="pages"):
            dp.check_params(None, pages, "joint", None)
    with pytest.raises(ValueError, match="schedule"):
        dp.check_params(None, None, "staged", None)
    with pytest.raises(ValueError, match="eval_pages"):
        dp.check_params(None, None, "joint", "deepscores:/x")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        dp.check_params(None, None, "joint", f"deepscores_v2:{tmp_path / 'none.json'}")


def test_pages_of_any_resolution_come_to_the_working_scale():
    image = staff_image(20)
    page = Page("hi-res", image.shape[1], image.shape[0],
                [Symbol("noteheadBlack", (100.0, 60.0, 124.0, 80.0), 1)])
    ((small, scaled_page),) = dp.at_working_scale([(image, page)], 0.5)
    # interline 20 -> the detector's 10 px x 0.5 = 5 px: a factor of 1/4
    assert small.shape == (round(image.shape[0] / 4), round(image.shape[1] / 4))
    assert scaled_page.symbols[0].bbox == pytest.approx((25.0, 15.0, 31.0, 20.0))


def test_corpus_record_carries_a_checksum_of_the_engraved_data(tiny_dataset):
    record = dp.corpus_record(tiny_dataset).record()
    digest = record["sha256"]
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert dp.dataset_sha256(tiny_dataset) == digest  # same pages, same value
    # Any change of a page's pixels, its annotations or the split changes it.
    first = tiny_dataset.test[0]
    inked = first._replace(image=first.image.copy())
    inked.image[0, 0] ^= 1
    assert dp.dataset_sha256(replace(tiny_dataset, test=[inked, *tiny_dataset.test[1:]])) != digest
    moved = replace(first.page, symbols=first.page.symbols[1:])
    assert dp.dataset_sha256(replace(tiny_dataset, test=[first._replace(page=moved),
                                                         *tiny_dataset.test[1:]])) != digest
    swapped = replace(tiny_dataset, train=tiny_dataset.test, test=tiny_dataset.train)
    assert dp.dataset_sha256(swapped) != digest


def test_detection_figure_has_a_key_with_three_distinct_colours():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    truth = [Symbol("a", (0, 0, 10, 10), 1), Symbol("a", (20, 0, 30, 10), 2)]
    dets = [Detection("a", (0, 0, 10, 10), 0.9), Detection("a", (40, 0, 50, 10), 0.5)]
    fig, ax = plt.subplots()
    counts = figures.show_detections(ax, np.full((20, 60), 255, np.uint8), truth, dets,
                                     legend=True)
    assert counts == {"true positives": 1, "false positives": 1, "missed": 1}
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["correct detection", "false detection", "missed symbol"]
    edges = {to_rgb(p.get_edgecolor()) for p in ax.patches}
    assert len(edges) == 3  # one colour per kind of box, as the key says
    red, missed = (to_rgb(figures.DETECTION_STYLE[k]["ec"])
                   for k in ("false detection", "missed symbol"))
    assert red[0] > 0.8 and red[1] < 0.2 and missed[2] > missed[0]  # red vs blue, not orange
    plt.close(fig)


def test_confusion_figure_numbers_every_nonzero_cell_and_colours_row_shares():
    import matplotlib.pyplot as plt
    import pandas as pd

    counts = pd.DataFrame([[3, 1, 0], [0, 0, 4]], index=["a", "b"], columns=["a", "b", "missed"])
    fig, ax = plt.subplots()
    figures.show_confusions(ax, counts)
    assert sorted(t.get_text() for t in ax.texts) == ["1", "3", "4"]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25, 0], [0, 0, 1]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "missed"]
    plt.close(fig)


def test_target_figure_keys_the_classes_in_view_and_has_colour_bars():
    import matplotlib.pyplot as plt

    cls = np.zeros((20, 40), np.int64)
    cls[2:5, 2:5], cls[2:5, 30:33] = 1, 3
    energy = (cls > 0).astype(np.int64) * 4
    box = (cls > 0) * 6.0
    fig, axes = plt.subplots(1, 4)
    figures.show_targets(axes, np.full((20, 40), 255, np.uint8), energy, cls, box,
                         ["noteheadBlack", "gClef", "keySharp"], 10, region=(0, 0, 20, 20))
    key = [t.get_text() for t in axes[2].get_legend().get_texts()]
    assert key == ["noteheadBlack"]  # keySharp lies outside the zoom, gClef is absent
    bars = [child for ax in axes for child in ax.child_axes]  # under energy and box map
    assert [b.get_xlabel() for b in bars] == ["energy level", "box height (px)"]
    plt.close(fig)


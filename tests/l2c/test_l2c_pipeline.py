"""The chapter's experiment end to end on tiny settings: 2-D points and the bundled digits
(the images' stand-in), trained, tested on the same seeded test sets, tabled, swept, and
compared with the paper."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from dlwild.core import cache
from dlwild.core.claims import compare
from dlwild.l2c import pipeline as lp
from dlwild.l2c.claims import CLAIMS
from dlwild.l2c.settings import QUICK, Net

TINY_NET = Net(n=12, m=1, sets_per_batch=8, batches=10, batches_per_epoch=5, width=16,
               count_units=4, cnn_scale=0.25, optimizer="adam", lr=5e-3, val_sets=8)
TINY = replace(QUICK, nets={"points": TINY_NET, "speech": TINY_NET, "images": TINY_NET},
               test_sets=12, baseline_sets=6, class_sweep=(5,), sweep_batches=5,
               large_n=(12, 30))


def test_the_experiment_end_to_end(tmp_path):
    store = cache.ArtifactCache(tmp_path)
    datas = lp.load_data("synthetic", TINY, 0, which=("points", "images"))
    assert datas["images"].source == "synthetic"
    trained = lp.train_all(datas, TINY, seed=0, progress=False, store=store)
    results = lp.evaluate_all(trained, datas, TINY, seed=0)
    again = lp.test_sets(datas["points"], TINY, 0)
    assert np.array_equal(again.x, results["points"].sets.x)      # the same test sets
    table = lp.results_table(results)
    assert {"L2C", "k-means (true k)", "HDBSCAN", "random partition (true k)"} <= set(
        table["method"])
    assert results["points"].confusion.sum() == TINY.test_sets
    sweep = lp.class_sweep(datas["images"], TINY, seed=0, progress=False, store=store)
    large = lp.large_n(trained["points"], datas["points"], TINY, 0, sets=4)
    assert set(sweep) == {5} and set(large) == {12, 30}
    # the metric-learning ablation (full scale only): each block trained and scored
    ablation = lp.metric_ablation(
        datas["points"], replace(TINY, ablations=("euclidean", "mahalanobis", "full"),
                                 ablation_batches=5, ablation_sets_per_batch=4),
        seed=0, progress=False, store=store)
    assert list(ablation) == ["euclidean", "mahalanobis", "full"]
    assert all(0.0 <= mr <= 1.0 for mr in ablation.values())
    results["speech"] = results["images"]
    datas["speech"] = datas["images"]
    numbers, measured = lp.measurements(results, sweep, large, ablation, TINY, datas,
                                        "quick")
    rows = compare(CLAIMS, measured)
    assert len(rows) == len(CLAIMS)
    assert {r["id"] for r in rows if r["verdict"] == "not comparable"} >= {
        "speech_mr", "images_nmi", "more_classes_help"}
    metric = next(r for r in rows if r["id"] == "metric_no_help")  # read from the ablation
    assert metric["ours"] == (numbers["points"]["l2c"]["mr"] <= min(ablation.values()))
    assert metric["verdict"] == ("holds" if metric["ours"] else "differs")
    values = lp.headline(results, sweep, large, TINY, datas)
    assert values["l2c_points_mr"][0] == numbers["points"]["l2c"]["mr"]
    assert list(lp.networks_table(trained)["data"]) == ["points", "images"]


def test_the_scale_contrast_reads_the_settings():
    """The page's quick/full/paper comparison is the settings as declared, not typed text."""
    from dlwild.l2c.settings import FULL, PAPER_TRAINING

    values = {name: value for name, (value, _) in lp.scale_contrast().items()}
    steps = sorted(n.batches for n in QUICK.nets.values())
    assert values["l2c_quick_steps"] == f"{steps[0]:,}–{steps[-1]:,}"
    assert values["l2c_full_m"] == str(FULL.nets["points"].m)
    assert values["l2c_full_lr"] == "3e-4" and values["l2c_paper_lr"] == "5"
    assert values["l2c_paper_sets"] == PAPER_TRAINING["sets_per_batch"]
    assert values["l2c_quick_optimizer"] == "Adam"

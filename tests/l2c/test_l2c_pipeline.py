"""The chapter's experiment end to end on tiny settings: 2-D points and the bundled digits
(the images' stand-in), trained, tested on the same seeded test sets, tabled, swept, and
compared with the paper."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dlwild.core import cache
from dlwild.core.claims import compare
from dlwild.l2c import pipeline as lp
from dlwild.l2c import record
from dlwild.l2c.claims import CLAIMS
from dlwild.l2c.settings import QUICK, Net

TINY_NET = Net(n=12, m=1, sets_per_batch=8, batches=10, batches_per_epoch=5, width=16,
               count_units=4, cnn_scale=0.25, optimizer="adam", lr=5e-3, val_sets=8)
TINY = replace(QUICK, nets={"points": TINY_NET, "speech": TINY_NET, "images": TINY_NET},
               test_sets=12, baseline_sets=6, class_sweep=(5,), sweep_batches=5,
               large_n=(12, 30))


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """The tiny experiment run once: its parts, numbers and claim rows."""
    store = cache.ArtifactCache(tmp_path_factory.mktemp("artifacts"))
    datas = lp.load_data("synthetic", TINY, 0, which=("points", "images"))
    trained = lp.train_all(datas, TINY, seed=0, progress=False, store=store)
    results = lp.evaluate_all(trained, datas, TINY, seed=0)
    sweep = lp.class_sweep(datas["images"], TINY, seed=0, progress=False, store=store)
    large = lp.large_n(trained["points"], datas["points"], TINY, 0, sets=4)
    # the metric-learning ablation (full scale only): each block trained and scored
    ablation = lp.metric_ablation(
        datas["points"], replace(TINY, ablations=("euclidean", "mahalanobis", "full"),
                                 ablation_batches=5, ablation_sets_per_batch=4),
        seed=0, progress=False, store=store)
    results["speech"] = results["images"]
    datas["speech"] = datas["images"]
    numbers, measured = lp.measurements(results, sweep, large, ablation, TINY, datas,
                                        "quick")
    return SimpleNamespace(datas=datas, trained=trained, results=results, sweep=sweep,
                           large=large, ablation=ablation, numbers=numbers,
                           rows=compare(CLAIMS, measured))


def test_the_experiment_end_to_end(experiment):
    e = experiment
    assert e.datas["images"].source == "synthetic"
    again = lp.test_sets(e.datas["points"], TINY, 0)
    assert np.array_equal(again.x, e.results["points"].sets.x)      # the same test sets
    table = lp.results_table(e.results)
    assert {"L2C", "k-means (true k)", "HDBSCAN", "random partition (true k)"} <= set(
        table["method"])
    assert e.results["points"].confusion.sum() == TINY.test_sets
    assert set(e.sweep) == {5} and set(e.large) == {12, 30}
    assert list(e.ablation) == ["plain", "euclidean", "mahalanobis", "full"]  # plain: alike
    assert all(0.0 <= mr <= 1.0 for mr in e.ablation.values())
    assert len(e.rows) == len(CLAIMS)
    assert {r["id"] for r in e.rows if r["verdict"] == "not comparable"} >= {
        "speech_mr", "images_nmi", "more_classes_help"}
    metric = next(r for r in e.rows if r["id"] == "metric_no_help")  # read from the ablation
    blocks = [mr for name, mr in e.ablation.items() if name != "plain"]
    assert metric["ours"] == (e.ablation["plain"] <= min(blocks))
    assert metric["verdict"] == ("holds" if metric["ours"] else "differs")
    values = lp.headline(e.results, e.sweep, e.large, TINY, e.datas)
    assert values["l2c_points_mr"][0] == e.numbers["points"]["l2c"]["mr"]
    assert list(lp.networks_table(e.trained)["data"]) == ["points", "images"]


def test_the_record_is_drawn_from_its_file_alone(experiment):
    """A record's tables, figures and paragraph come from its JSON: the MR/NMI table equals
    the live run's, the ablation sits beside Table 1, every number in the text is the
    record's."""
    e = experiment
    full = json.loads(json.dumps({
        "scale": "full", "metrics": e.numbers, "claims": e.rows,
        "provenance": {"training_s": 5400.0, "wall_s": 7200.0, "started": "2026-12-03T01:20",
                       "hardware": {"name": "x86_64 CPU (2 threads)"}}}))
    live = lp.results_table(e.results)
    tables = record.record_tables(full)
    pd.testing.assert_frame_equal(tables[0], live)
    ablation = tables[1]
    assert list(ablation["network"]) == [
        "L2C (the chapter's network)", "L2C, trained as the blocks are", "L2C + Euclidean",
        "L2C + Mahalanobis", "L2C + Metric Learning"]
    assert list(ablation["MR (paper)"]) == ["0.004", "0.004", "0.177", "0.185", "0.165"]
    assert ablation["MR (ours)"][1] == f"{e.ablation['plain']:.3f}"
    assert ablation["MR (ours)"][2] == f"{e.ablation['euclidean']:.3f}"
    assert len(record.record_figures(full)) == 2
    text = record.record_text(full)
    points = e.numbers["points"]["l2c"]
    assert f"points MR {points['mr']:.3f} ± {points['mr_std']:.3f}" in text
    assert "trained for 1.5 h (2.0 h in all) on x86_64 CPU (2 threads)" in text
    resumed = dict(full, provenance=dict(full["provenance"], training_s=12600.0))
    assert ("Its networks trained for 3.5 h, part of it in an earlier sitting whose networks "
            "this run loaded from the cache; the run that finished the record took 2.0 h on "
            "x86_64 CPU (2 threads), started 2026-12-03.") in record.record_text(resumed)
    assert f"(n = {max(e.large)})" in text and "metric-learning block" in text
    assert f"against {e.ablation['plain']:.3f} for plain L2C trained the same way" in text
    quick = dict(full, metrics={k: v for k, v in full["metrics"].items()
                                if k != "metric_ablation"})
    assert len(record.record_tables(quick)) == 1     # no ablation at quick scale

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
    patience = sorted(n.patience for n in FULL.nets.values())
    assert values["l2c_full_patience"] == f"{patience[0]}–{patience[-1]}"
    assert values["l2c_quick_patience"] == "no"

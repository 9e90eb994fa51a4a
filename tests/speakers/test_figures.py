"""The chapter's pictures, drawn from a live run and from a results file alike."""

import json

import matplotlib.pyplot as plt
import pytest

from dlwild.core.train import History
from dlwild.speakers import claims, figures


def _history(epochs: int, accuracy: bool = False) -> History:
    rows = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e, "lr": 1e-3, "seconds": 1.0,
             **({"val_accuracy": 0.1 * e} if accuracy else {})} for e in range(1, epochs + 1)]
    return History(epochs=rows)


def _record(scale: str = "full") -> dict:
    """A record shaped like the one the chapter writes, read back from JSON (string keys)."""
    params = {"cnn2016": (1000, 10_000), "cnn2017": (1000, 30_000), "bilstm2018": (400, 6_000)}
    metrics = {
        "networks": {kind: {"params": {"kind": kind, "segment_ms": ms, "batches": batches},
                            "history": _history(3, kind == "cnn2016").to_dict()}
                     for kind, (ms, batches) in params.items()},
        "clustering": {"sweep": {200: 0.1, 20: 0.5, 1000: 0.3, 400: 0.05}},
        "protocol": {"train_speakers": 100, "test_speakers": 80, "test_utterances": 160},
        "settings": {"n_test_speakers": [40, 80], "sweep_batches": 5000},
    }
    return {"scale": scale, "metrics": json.loads(json.dumps(metrics))}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_sweep_curve_sorts_lengths_and_marks_the_papers_sweet_spot():
    fig = figures.sweep_curve({"400": 0.05, "20": 0.5, "1000": 0.3}, n_speakers=40,
                              batches=5000, paper_best_ms=400)
    ax = fig.axes[0]
    ours, paper = ax.lines
    assert list(ours.get_xdata()) == [20, 400, 1000]
    assert list(ours.get_ydata()) == [0.5, 0.05, 0.3]
    assert list(paper.get_xdata()) == [400, 400]
    assert "40 speakers, 5,000 minibatches per length" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["20", "400", "1000"]


def test_a_committed_sweep_over_seeds_draws_error_bars_beside_the_run(tmp_path):
    """The sweep record's per-length spread (dlwild sweep) becomes mean ± std error bars."""
    import json

    from dlwild.speakers.claims import seed_spread

    assert seed_spread(tmp_path) is None  # no sweep committed: the figure has one curve
    metrics = {f"clustering/sweep/{ms}": {"values": [m - 0.02, m + 0.02], "mean": m,
                                          "std": 0.028} for ms, m in ((20, 0.4), (400, 0.1))}
    metrics["clustering/other"] = {"values": [1, 1], "mean": 1.0, "std": 0.0}
    (tmp_path / "speakers.sweep.json").write_text(json.dumps(
        {"format": 1, "chapter": "speakers", "scale": "quick", "seeds": [0, 1],
         "claims": [], "metrics": metrics}))
    spread = seed_spread(tmp_path)
    assert set(spread["mr"]) == {"20", "400"} and spread["seeds"] == 2
    fig = figures.sweep_curve({"400": 0.05, "20": 0.5}, n_speakers=40, batches=5000,
                              seeds=spread)
    ax = fig.axes[0]
    bars = ax.containers[0]
    assert list(bars.lines[0].get_xdata()) == [20, 400]
    assert list(bars.lines[0].get_ydata()) == [0.4, 0.1]
    assert any("mean ± std over 2 seeds (quick sweep)" in t.get_text()
               for t in ax.get_legend().get_texts())


def test_learning_curves_name_the_network_and_its_training():
    fig = figures.learning_curves("bilstm2018", _history(4), {"segment_ms": 400, "batches": 1200})
    title = fig.axes[0].get_title() or fig.get_suptitle()
    assert "ANNPR 2018 BiLSTM" in title and "(400 ms)" in title and "1,200 minibatches" in title
    assert "scale" not in title and " on " not in title  # no hardware: an older record
    trained = History(epochs=_history(4).epochs, hardware="NVIDIA H200")
    fig = figures.learning_curves("cnn2017", trained.to_dict(), {"segment_ms": 1000,
                                                                 "batches": 400})
    title = fig.axes[0].get_title() or fig.get_suptitle()
    assert "400 minibatches\n4 s on NVIDIA H200" in title  # 4 epochs of 1 s
    with pytest.raises(KeyError):
        figures.learning_curves("resnet", _history(2), {"segment_ms": 1, "batches": 1})


def test_a_full_record_draws_every_networks_curves_then_the_sweep():
    figs = figures.record_figures(_record())
    assert len(figs) == 4
    titles = [f.axes[0].get_title() or f.get_suptitle() for f in figs]
    for title, (kind, batches) in zip(titles, [("MLSP 2016", "10,000"), ("MLSP 2017", "30,000"),
                                               ("BiLSTM", "6,000")], strict=False):
        assert kind in title and f"{batches} minibatches, full scale" in title
    assert len(figs[0].axes) == 2  # identification net: loss and validation accuracy panels
    sweep = figs[3].axes[0]
    assert list(sweep.lines[0].get_xdata()) == [20, 200, 400, 1000]
    assert sweep.lines[1].get_xdata()[0] == claims.ANNPR2018_FIG4["best_ms"]
    assert "40 speakers, 5,000 minibatches per length" in sweep.get_title()


def test_the_committed_full_scale_record_is_drawn_whole():
    """The page draws the committed record (made by older code) with today's functions."""
    from conftest import ROOT

    record = json.loads((ROOT / "book/records/speakers.full.json").read_text())
    figs = figures.record_figures(record)
    assert len(figs) == 4
    titles = [f.axes[0].get_title() or f.get_suptitle() for f in figs]
    assert "10,000 minibatches, full scale" in titles[0] and "30,000" in titles[1]
    sweep = figs[3].axes[0]
    assert list(sweep.lines[0].get_xdata()) == [20, 50, 100, 200, 300, 400, 600, 800, 1000]
    assert "40 speakers, 5,000 minibatches per length" in sweep.get_title()


def test_the_mr_bars_show_each_size_with_its_dominant_sets():
    import pandas as pd

    rows = [{"system": s, "speakers": n, "clustering": m, "MR legacy": v, "MR Hungarian": v / 2}
            for n in (40, 80) for s, v in (("A", 0.5), ("B", 0.25))
            for m in ("ahc_best_cut", "dominant_sets")]
    table = pd.DataFrame(rows).set_index(["system", "speakers", "clustering"])
    fig = figures.mr_bars(table)
    assert [ax.get_title() for ax in fig.axes] == ["40 unseen speakers", "80 unseen speakers"]
    bars = [p.get_width() for p in fig.axes[0].patches]
    assert bars == [0.5, 0.25]
    assert fig.axes[0].collections[0].get_offsets()[:, 0].tolist() == [0.25, 0.125]


def test_the_dendrogram_dashes_its_best_cut():
    import numpy as np

    from dlwild.speakers.evaluation import evaluate_clustering

    X = np.array([[1, 0, 0], [0.99, 0.05, 0], [0, 1, 0], [0.05, 0.99, 0], [0, 0, 1],
                  [0, 0.05, 0.99]], dtype=float)
    evaluation = evaluate_clustering(X, list("aabbcc"), device="cpu")
    fig = figures.dendrogram(evaluation, list("aabbcc"), title="three pairs")
    ax = fig.axes[0]
    cut = [line for line in ax.lines if line.get_linestyle() == "--"][0].get_ydata()[0]
    heights = evaluation.linkage[:, 2]
    assert heights[2] < cut < heights[3]  # three clusters: after 3 merges, before the 4th
    assert ax.get_title() == "three pairs"


def test_example_spectrograms_and_segment_map(tmp_path):
    import dataclasses

    import torch
    from speaker_fixtures import TINY, tone_corpus

    from dlwild.core import cache
    from dlwild.speakers import embeddings, pipeline

    utts = tone_corpus(tmp_path / "tones", 8)
    protocol = pipeline.build_protocol(utts, None, TINY, 0, source="real", corpus="tones")
    fig = figures.example_spectrograms(protocol, seconds=2.0)
    assert len(fig.axes) == 1  # every tone speaker is 'f' here: one example
    assert fig.axes[0].get_title().endswith("first 2 s")
    trained = embeddings.train_network("bilstm2018", protocol.training,
                                       dataclasses.replace(TINY, batches_per_epoch=1),
                                       seed=0, device=torch.device("cpu"),
                                       store=cache.ArtifactCache(tmp_path / "a"), progress=False)
    fig = figures.segment_map(trained, protocol.test_specs, protocol.test_labels, layer="L3",
                              device=torch.device("cpu"), seed=0, speakers=2)
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # one scatter per speaker
    assert "(2 test speakers)" in ax.get_title()

"""The speaker chapter's pictures: example spectrograms, each network's learning curves and
MR over segment length (drawn the same way from a live run and from a committed full-scale
record), MRs per system, a dendrogram with its best cut, a map of segment embeddings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from dlwild.core import plots
from dlwild.core.provenance import duration, training_seconds
from dlwild.core.train import History
from dlwild.speakers import claims
from dlwild.speakers.settings import NETWORKS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import torch

    from dlwild.speakers.embeddings import Trained
    from dlwild.speakers.evaluation import Evaluation
    from dlwild.speakers.pipeline import Protocol



def learning_curves(kind: str, history: History | Mapping[str, Any],
                    params: Mapping[str, Any], *, scale: str | None = None) -> Figure:
    """One network's learning curves, titled with the network, its segment length (BiLSTM),
    the minibatches it trained, for a record the scale, and what it trained on and for how
    long; ``history`` may be a History or its ``to_dict()`` from a results file."""
    if not isinstance(history, History):
        history = History.from_dict(history)
    title = NETWORKS[kind].title
    if kind == "bilstm2018":
        title += f" ({params['segment_ms']} ms)"
    title += f"\n{params['batches']:,} minibatches" + (f", {scale} scale" if scale else "")
    if history.hardware:  # on a line of its own: the panel is narrower than the three
        title += f"\n{duration(training_seconds(history))} on {history.hardware}"
    return plots.learning_curves(history, title=title)


def sweep_curve(sweep: Mapping[Any, float], *, n_speakers: int, batches: int,
                paper_best_ms: int | None = None,
                seeds: Mapping[str, Any] | None = None) -> Figure:
    """MR (a+b) at the best cut over the BiLSTM's segment length (ANNPR 2018, Fig. 4), with
    the paper's sweet spot marked; ``sweep`` maps milliseconds (int, or str from JSON) to MR.
    ``seeds``: a committed sweep over seeds (:func:`dlwild.speakers.claims.seed_spread`),
    drawn as mean ± standard deviation beside this run."""
    points = sorted((int(ms), float(mr)) for ms, mr in sweep.items())
    lengths = [ms for ms, _ in points]
    fig, ax = plots.figure(figsize=(7, 3.8))
    ax.plot(lengths, [mr for _, mr in points], marker="o", label="ours (this run)")
    if seeds:
        spread = sorted((int(ms), v["mean"], v["std"] or 0.0) for ms, v in seeds["mr"].items())
        ax.errorbar([ms for ms, _, _ in spread], [m for _, m, _ in spread],
                    yerr=[s for _, _, s in spread], fmt="s--", capsize=4, color="0.35",
                    label=f"mean ± std over {seeds['seeds']} seeds ({seeds['scale']} sweep)")
    if paper_best_ms is not None:
        ax.axvline(paper_best_ms, ls="--", color="0.45",
                   label=f"paper's sweet spot ({paper_best_ms} ms)")
    ax.set(xscale="log", xticks=lengths, xticklabels=[str(ms) for ms in lengths],
           xlabel="segment length (ms)", ylabel="MR (a+b), best cut",
           title=f"BiLSTM: MR over segment length\n{n_speakers} speakers, "
                 f"{batches:,} minibatches per length")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", labelrotation=45)  # 800 and 1000 sit close on the log axis
    ax.legend()
    return fig


def record_figures(record: Mapping[str, Any]) -> list[Figure]:
    """A chapter record's learning curves of every network, then its segment-length sweep."""
    metrics = record["metrics"]
    figures = [learning_curves(kind, net["history"], net["params"], scale=record["scale"])
               for kind, net in metrics["networks"].items()]
    figures.append(sweep_curve(metrics["clustering"]["sweep"],
                               n_speakers=min(claims.clustered_sizes(metrics)),
                               batches=metrics["settings"]["sweep_batches"],
                               paper_best_ms=claims.ANNPR2018_FIG4["best_ms"]))
    return figures


def example_spectrograms(protocol: Protocol, *, seconds: float = 3.0) -> Figure:
    """The first ``seconds`` of the model input (mel spectrogram) of two test speakers, the
    first of each sex where both are there."""
    from dlwild.speakers.audio import load_audio
    from dlwild.speakers.features import SR, mel_spectrogram

    by_sex: dict[Any, Any] = {}
    for group in protocol.test_groups:
        by_sex.setdefault(group[0].sex, group[0])
    examples = list(by_sex.values())[:2]
    fig, axes = plots.figure(1, len(examples), figsize=(11, 3.2), squeeze=False)
    for ax, utt in zip(axes[0], examples, strict=False):
        spec = mel_spectrogram(load_audio(utt, SR))[:, :int(seconds * 100)]
        ax.imshow(spec, origin="lower", aspect="auto", cmap="magma",
                  extent=[0, spec.shape[1] / 100, 0, spec.shape[0]])
        ax.set(title=f"speaker {utt.speaker} ({utt.sex or '?'}), first {seconds:g} s",
               xlabel="seconds", ylabel="mel band")
    return fig


def mr_bars(table: pd.DataFrame) -> Figure:
    """Per test-set size, each system's legacy MR at the best cut (bars) and its Hungarian MR
    with dominant sets (dots); ``table`` from :func:`dlwild.speakers.tables.clustering_table`."""
    sizes = sorted(set(table.index.get_level_values("speakers")))
    fig, axes = plots.figure(1, len(sizes), figsize=(11, 3.6), squeeze=False, sharey=True)
    for ax, n in zip(axes[0], sizes, strict=True):
        rows = table.xs(n, level="speakers")
        best = rows.xs("ahc_best_cut", level="clustering")["MR legacy"]
        ax.barh(best.index, best.values, color="#4c72b0", label="AHC, best cut (legacy MR)")
        if "dominant_sets" in rows.index.get_level_values("clustering"):
            ds = rows.xs("dominant_sets", level="clustering")["MR Hungarian"]
            ax.scatter(ds.values, ds.index, color="#dd8452", zorder=3,
                       label="dominant sets (Hungarian MR)")
        ax.set(xlim=(0, 1), xlabel="misclassification rate", title=f"{n} unseen speakers")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=2)
    return fig


def dendrogram(evaluation: Evaluation, labels: Sequence[str], *, title: str) -> Figure:
    """An AHC dendrogram (leaves: speaker ids), coloured below its best cut, which is dashed."""
    from scipy.cluster.hierarchy import dendrogram as draw

    from dlwild.speakers.cluster import cut_height

    cut = cut_height(evaluation.linkage, int(evaluation.scores["ahc_best_cut"]["k"]))
    fig, ax = plots.figure(figsize=(12, 4))
    draw(evaluation.linkage, labels=[str(s) for s in labels], ax=ax, leaf_font_size=6,
         color_threshold=cut, above_threshold_color="#999999")
    ax.axhline(cut, color="#333333", ls="--", lw=1)
    ax.set(ylabel="cosine distance (complete linkage)", title=title)
    return fig


def segment_map(trained: Trained, specs: Sequence[np.ndarray], labels: Sequence[str], *,
                layer: str, device: torch.device, seed: int, speakers: int = 12) -> Figure:
    """t-SNE of the segment embeddings (one dot per segment) of the first ``speakers`` test
    speakers: segments of one voice gather before any averaging over the utterance."""
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    from dlwild.speakers.embeddings import segment_embeddings

    show = list(dict.fromkeys(labels))[:speakers]
    pick = [i for i, s in enumerate(labels) if s in show]
    segs = segment_embeddings(trained, [specs[i] for i in pick], layer, device)
    points = np.concatenate(segs)
    who = np.concatenate([[labels[i]] * len(e) for i, e in zip(pick, segs, strict=True)])
    xy = TSNE(n_components=2, perplexity=min(30, len(points) // 4), init="pca",
              random_state=seed).fit_transform(points)
    fig, ax = plots.figure(figsize=(7, 5.5))
    colours = plt.get_cmap("tab20").colors  # 12 speakers need 12 distinct colours
    for i, speaker in enumerate(show):
        mask = who == speaker
        ax.scatter(xy[mask, 0], xy[mask, 1], s=12, color=colours[(2 * i) % 20 + (2 * i) // 20],
                   marker="os^D"[i % 4], label=str(speaker))
    ax.set(xticks=[], yticks=[], title=f"t-SNE of {NETWORKS[trained.kind].name} segment "
                                       f"embeddings ({len(show)} test speakers)")
    ax.legend(title="speaker", fontsize=7, ncols=2, loc="best")
    return fig

"""The speaker chapter's pictures that are drawn from a live run and, the same way, from a
committed full-scale record: each network's learning curves and MR over segment length."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from dlwild.core import plots
from dlwild.core.report import duration, training_seconds
from dlwild.core.train import History
from dlwild.speakers import claims

TITLES = {
    "cnn2016": "MLSP 2016 CNN, speaker identification (cross-entropy)",
    "cnn2017": "MLSP 2017 CNN, pairwise KL loss",
    "bilstm2018": "ANNPR 2018 BiLSTM, pairwise KL loss",
}


def learning_curves(kind: str, history: History | Mapping[str, Any],
                    params: Mapping[str, Any], *, scale: str | None = None) -> Figure:
    """One network's learning curves, titled with the network, its segment length (BiLSTM),
    the minibatches it trained, for a record the scale, and what it trained on and for how
    long; ``history`` may be a History or its ``to_dict()`` from a results file."""
    if not isinstance(history, History):
        history = History.from_dict(history)
    title = TITLES[kind]
    if kind == "bilstm2018":
        title += f" ({params['segment_ms']} ms)"
    title += f"\n{params['batches']:,} minibatches" + (f", {scale} scale" if scale else "")
    if history.hardware:  # on a line of its own: the panel is narrower than the three
        title += f"\n{duration(training_seconds(history))} on {history.hardware}"
    return plots.learning_curves(history, title=title)


def sweep_curve(sweep: Mapping[Any, float], *, n_speakers: int, batches: int,
                paper_best_ms: int | None = None) -> Figure:
    """MR (a+b) at the best cut over the BiLSTM's segment length (ANNPR 2018, Fig. 4), with
    the paper's sweet spot marked; ``sweep`` maps milliseconds (int, or str from JSON) to MR."""
    points = sorted((int(ms), float(mr)) for ms, mr in sweep.items())
    lengths = [ms for ms, _ in points]
    fig, ax = plots.figure(figsize=(7, 3.8))
    ax.plot(lengths, [mr for _, mr in points], marker="o", label="ours")
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

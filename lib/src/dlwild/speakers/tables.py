"""The speaker chapter's tables, as data frames: the test utterances' lengths, the MR
definitions, the networks trained, how a run is scaled against the papers, every clustering."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from dlwild.speakers import claims, metrics
from dlwild.speakers.embeddings import Trained, embedding_width
from dlwild.speakers.evaluation import Clustering
from dlwild.speakers.pipeline import Protocol
from dlwild.speakers.settings import NETWORKS, SETTINGS, Settings

#: The mean/min/max rows of :func:`utterance_lengths`.
PARTS = ("utterance 1 (first part)", "utterance 2 (last part)")
#: The clustering table's score columns and the metric each shows.
SCORES = {"k": "k", "MR legacy": "mr_legacy", "MR (a+b)": "mr_annpr2018",
          "MR ACM 2009": "mr_acm2009", "MR Hungarian": "mr_hungarian", "ARI": "ari",
          "ACP": "acp"}


def utterance_lengths(protocol: Protocol) -> pd.DataFrame:
    """Seconds of the test speakers' two utterances: mean, min and max of each part."""
    parts = [[sum(u.duration_s for u in group) for group in protocol.test_groups[i::2]]
             for i in (0, 1)]
    return pd.DataFrame([{"mean": sum(p) / len(p), "min": min(p), "max": max(p)}
                         for p in parts], index=list(PARTS)).round(1)


def mr_definitions() -> pd.DataFrame:
    """Every MR definition of :data:`metrics.MR_DEFINITIONS`: its name, paper and wording."""
    return pd.DataFrame([{"name": name, "used by": paper, "definition": text}
                         for name, (_, paper, text) in metrics.MR_DEFINITIONS.items()])


def networks(nets: Mapping[str, Trained]) -> pd.DataFrame:
    """One row per trained network: loss, optimiser, minibatches and epochs, batch, segment,
    the width of the clustered layer, and its parameter count."""
    return pd.DataFrame({kind: {
        "loss": NETWORKS[kind].loss, "optimiser": t.params["optimizer"],
        "minibatches": t.params["batches"], "epochs": t.params["epochs"],
        "batch size": t.params["batch_size"],
        "snippets per speaker in a batch": t.params["per_speaker"],
        "segment (ms)": t.segment_ms,
        "embedding units (the clustered layer)": embedding_width(t, NETWORKS[kind].embedding_layer),
        "parameters": t.n_parameters} for kind, t in nets.items()}).T


def scaled_down(settings: Settings, nets: Mapping[str, Trained]) -> pd.DataFrame:
    """How this run's protocol differs from the papers' (the ``full`` settings)."""
    paper = SETTINGS["full"]
    kinds = list(NETWORKS)

    def joined(values: Mapping[str, object], fmt: str = "") -> str:
        return " / ".join(format(values[k], fmt) for k in kinds)

    rows = [
        ("width of the dense layers (share of the papers')", f"{paper.hidden_scale:.0%}",
         f"{settings.hidden_scale:.0%}"),
        ("LSTM units per direction", paper.lstm_units, settings.lstm_units),
        ("minibatches (2016 CNN / 2017 CNN / BiLSTM)", joined(paper.batches, ","),
         joined({k: t.params["batches"] for k, t in nets.items()}, ",")),
        ("optimisers", joined(paper.optimizer), joined(settings.optimizer)),
        ("snippets per speaker in a pairwise batch", paper.per_speaker["bilstm2018"],
         settings.per_speaker["bilstm2018"]),
        ("validation snippets per epoch", paper.val_snippets, settings.val_snippets),
        ("GMM components of the MFCC baseline", paper.gmm_components, settings.gmm_components),
        ("segment lengths swept", ", ".join(map(str, paper.sweep_ms)),
         ", ".join(map(str, settings.sweep_ms))),
        ("minibatches per swept length", f"{paper.sweep_batches:,}",
         f"{settings.sweep_batches:,}"),
    ]
    return pd.DataFrame(rows, columns=["what", "papers (full)", "this run"]).set_index("what")


def clustering_table(clustering: Clustering) -> pd.DataFrame:
    """Every clustering's scores, indexed by system, speakers and clustering method."""
    rows = [{"system": key.name, "speakers": key.speakers, "clustering": method,
             **{column: scores[metric] for column, metric in SCORES.items()}}
            for key, evaluation in clustering.items()
            for method, scores in evaluation.scores.items()]
    return pd.DataFrame(rows).set_index(["system", "speakers", "clustering"])


def styled(table: pd.DataFrame):
    """The clustering table for the page: MRs at the chapter's one MR precision, shaded from
    0 (white) to 1; the other scores at three decimals."""
    mrs = ["MR legacy", "MR Hungarian"]
    return (table.style.format(precision=3).format(f"{{:{claims.MR_FMT}}}", subset=mrs)
            .background_gradient(subset=mrs, cmap="Reds", vmin=0, vmax=1))

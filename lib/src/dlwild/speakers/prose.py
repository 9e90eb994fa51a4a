"""Every value the speaker chapter's prose quotes, as text ready to glue (``{glue:text}``):
computed and worded here, tested, so the notebook only glues (:func:`glue`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlwild.core.claims import format_value
from dlwild.core.provenance import training_seconds
from dlwild.speakers import claims
from dlwild.speakers.embeddings import Trained
from dlwild.speakers.evaluation import Clustering, ClusterKey, sizes
from dlwild.speakers.pipeline import Corpora, Protocol, Sweep
from dlwild.speakers.settings import GMM, NETWORKS, SETTINGS, Settings

#: How the test voices differ from TIMIT's, by corpus (the first lesson of the page).
TEST_VOICES = {
    "librispeech": "LibriSpeech speakers read audiobooks in different rooms and microphones",
    "timit": "TIMIT speakers read their sentences in one studio session",
    "fsdd": "FSDD speakers read single digits into their own microphones",
    "synthetic": "synthetic espeak-ng voices have no room and no microphone at all",
}
#: Where a sweep's lowest MR lies (:func:`claims.sweep_shape`), for this run and a record.
SWEEP_SHAPE = {
    "inside": "inside the range, higher at both ends: the U-shape of the paper's Fig. 4",
    "shortest": "at the shortest length tried, so this sweep shows no minimum inside its range",
    "longest": "at the longest length tried, so this sweep shows no minimum inside its range",
    "flat": "tied between the two ends of the range, so this sweep shows no clear minimum",
}
RECORD_SWEEP_SHAPE = {
    "inside": "inside the range, as the paper's sweet spot is",
    "shortest": "at the shortest length tried, unlike the paper's sweet spot",
    "longest": "at the longest length tried, unlike the paper's sweet spot",
    "flat": "tied with an end of the range, unlike the paper's sweet spot",
}


def glue(values: Mapping[str, str]) -> None:
    """Glue each text under its name for the prose (a no-op outside a kernel)."""
    from dlwild.core.report import glue_value

    for name, text in values.items():
        glue_value(name, text)


def _mr(value: float) -> str:
    return format_value(value, claims.MR_FMT)


def _n(value: int) -> str:
    return format_value(value, ",d")


def paper_values() -> dict[str, str]:
    """The papers' values the opening prose quotes beside the claims' own: the MLSP 2016
    590-speaker net and the sweep of ANNPR 2018 Fig. 4."""
    fig4 = claims.ANNPR2018_FIG4
    return {**{f"paper_net590_{layer.lower()}": _mr(v)
               for layer, v in claims.MLSP2016_NET590_40.items()},
            "paper_sweep_range": f"{fig4['from_ms']}–{fig4['to_ms']}",
            "paper_sweep_best": str(fig4["best_ms"])}


def data_values(protocol: Protocol, corpora: Corpora) -> dict[str, str]:
    """The protocol's numbers: speakers, minutes of training speech and per speaker, corpus."""
    n_train, seconds = len(protocol.train_speakers), protocol.train_seconds
    return {"spk_n_train": str(n_train), "spk_n_test": str(len(protocol.test_speakers)),
            "spk_train_min": f"{seconds / 60:.1f}", "spk_train_s": f"{seconds / n_train:.0f}",
            "spk_corpus": corpora.train_name}


def training_values(settings: Settings) -> dict[str, str]:
    """What an epoch is at this run's scale."""
    return {"spk_batches_per_epoch": _n(settings.batches_per_epoch)}


def utterance_caveat(protocol: Protocol) -> str:
    """What the two "utterances" of a test speaker are, said where the MRs are shown: parts
    cut from one recording share its room, microphone and session, which makes a pair easier
    to find than TIMIT's distinct sentences; a reader with TIMIT can point the chapter at it."""
    cut = sum(all(u.is_part for u in group) for group in protocol.test_groups)
    total = len(protocol.test_groups)
    if cut == 0:
        return (f"All {total} test utterances are distinct recordings (sentences), as in the "
                "papers' TIMIT protocol.")
    return (f"{cut} of the {total} test utterances are the two parts (first ~80 % and last "
            "~20 %) of one recording per speaker, because this corpus has one long recording "
            "of each speaker: the two parts share room, microphone and session, which "
            "flatters these MRs compared with TIMIT's distinct sentences. With a TIMIT copy, "
            "run `dlwild run speakers -p test_corpus=timit:/path/to/TIMIT` (and "
            "`train_corpus` alike) for the papers' protocol.")


def clustering_notes(clustering: Clustering) -> str:
    """Two remarks under the clustering table: what dominant sets made of the MLSP 2016
    softmax outputs, and in which clusterings the replicator dynamics did not converge."""
    n40 = min(sizes(clustering))
    l8 = clustering[ClusterKey("cnn2016", "L8", n40)].scores["dominant_sets"]
    if l8["k"] == 2 * n40:
        notes = [f"On the softmax outputs (L8) of the MLSP 2016 net, dominant sets put every one "
                 f"of the {2 * n40} utterances in a cluster of its own: no group of these outputs "
                 "is coherent enough to be dominant. Singletons are pure, which is why ACP, "
                 "unlike MR and ARI, looks perfect there."]
    else:
        notes = [f"On the softmax outputs (L8) of the MLSP 2016 net, dominant sets find "
                 f"{l8['k']} clusters for {n40} speakers."]
    ds = {key: e for key, e in clustering.items() if e.ds_converged is not None}
    stuck = [key for key, e in ds.items() if not e.ds_converged]
    if stuck:
        which = ", ".join(f"{key.name} ({key.speakers} speakers)" for key in stuck)
        notes.append(f"In {len(stuck)} of the {len(ds)} dominant-sets clusterings ({which}) the "
                     "replicator dynamics of some peel stopped at their iteration limit before "
                     "converging; that peel then takes the state reached.")
    else:
        notes.append(f"In all {len(ds)} dominant-sets clusterings the replicator dynamics "
                     "converged within their iteration limit.")
    return " ".join(notes)


def mr_ratio(clustering: Clustering) -> float:
    """The largest legacy MR / Hungarian MR over every clustering of the smallest test set
    (how much the MR definition alone changes a number); 1 if no Hungarian MR is above 0."""
    n40 = min(sizes(clustering))
    ratios = [s["mr_legacy"] / s["mr_hungarian"] for key, e in clustering.items()
              if key.speakers == n40 for s in e.scores.values() if s["mr_hungarian"] > 0]
    return max(ratios, default=1.0)


def step_share(net: Trained, other: Trained) -> str:
    """How long one of ``net``'s minibatches trained (validation included) as a share of one of
    ``other``'s, from their learning curves' epoch times."""
    mine, theirs = (training_seconds(t.history) / t.params["batches"] for t in (net, other))
    return f"{mine / theirs:.0%}" if theirs > 0 else "–"


def sweep_values(sweep: Sweep, settings: Settings) -> dict[str, str]:
    """The sweep's range, misclustered utterances per length, their spread and where the MR is
    lowest; the full run's sweep for comparison."""
    full = SETTINGS["full"]
    wrong = {ms: round(v * 2 * sweep.speakers) for ms, v in sorted(sweep.mr.items())}
    return {
        "spk_sweep_range": f"{min(sweep.mr)}–{max(sweep.mr)}",
        "spk_sweep_profile": ", ".join(f"{n} at {ms} ms" for ms, n in wrong.items()),
        "spk_sweep_spread": str(max(wrong.values()) - min(wrong.values())),
        "spk_sweep_shape": SWEEP_SHAPE[claims.sweep_shape(sweep.mr)],
        "spk_sweep_batches": _n(sweep.batches),
        "spk_one_utt": _mr(1 / (2 * sweep.speakers)),
        "spk_full_sweep_batches": _n(full.sweep_batches),
        "spk_full_sweep_range": f"{min(full.sweep_ms)}–{max(full.sweep_ms)}",
        "spk_full_max_speakers": str(max(full.n_test_speakers)),
    }


def findings(clustering: Clustering, sweep: Sweep, nets: Mapping[str, Trained],
             protocol: Protocol, settings: Settings, *, scale: str,
             test_kind: str) -> dict[str, str]:
    """The values of *What we learned*: MRs of the 40-speaker set, how long the networks
    trained and how big they are, which MR says what, and the sweep."""
    n40 = min(sizes(clustering))

    def mr(system: str, layer: str | None, method: str = "ahc_best_cut",
           definition: str = "mr_legacy") -> float:
        return clustering[ClusterKey(system, layer, n40)].mr(method, definition)

    full = SETTINGS["full"]
    rnn, gmm = mr("bilstm2018", "L3"), mr(GMM, None)
    values = {
        "spk_l7": mr("cnn2016", "L7"), "spk_l8": mr("cnn2016", "L8"),
        "spk_pkld": mr("cnn2017", "L7"),
        "spk_rnn": mr("bilstm2018", "L3", definition="mr_annpr2018"),
        "spk_rnn_ds": mr("bilstm2018", "L3", "dominant_sets", "mr_hungarian"),
        "spk_rnn_legacy": rnn, "spk_gmm": mr(GMM, None, definition="mr_acm2009"),
        "spk_gmm_legacy": gmm, "spk_gmm_hungarian": mr(GMM, None, definition="mr_hungarian"),
    }
    texts = {name: _mr(value) for name, value in values.items()}
    texts["spk_cnn_acc"] = f"{nets['cnn2016'].history.final('val_accuracy'):.3f}"
    texts["spk_chance"] = f"{1 / len(protocol.train_speakers):.3f}"
    texts.update({f"spk_{kind}_batches": _n(t.params["batches"]) for kind, t in nets.items()})
    texts.update({f"spk_{kind}_params": _n(t.n_parameters) for kind, t in nets.items()})
    texts.update(sweep_values(sweep, settings))
    texts["spk_step_share"] = step_share(nets["bilstm2018"], nets["cnn2016"])
    texts.update({
        "spk_n40": str(n40), "spk_scale": scale, "spk_mr_ratio": f"{mr_ratio(clustering):.1f}",
        "spk_rnn_vs_gmm": "beats" if rnn < gmm else "does not beat",
        "spk_paper_batches": (f"{_n(min(full.batches.values()))}–"
                              f"{_n(max(full.batches.values()))}"),
        "spk_width_pct": f"{settings.hidden_scale:.0%}",
        "spk_flat_features": _n(nets["cnn2016"].model.flat_features),
        "spk_training_state": ("networks trained as long as the papers'" if scale == "full"
                               else "barely trained networks, not the papers' method"),
        "spk_cnn_claims": "judged" if scale == "full" else "marked not comparable",
        "spk_test_voices": TEST_VOICES[test_kind],
        "spk_segment_ms": str(nets["bilstm2018"].segment_ms),
    })
    return texts


def record_values(record: Mapping[str, Any]) -> dict[str, str]:
    """What *The committed full-scale record* quotes from a record (:func:`claims.
    record_summary`), as text: ``full_<name>``, plus where its sweep's minimum lies."""
    summary = claims.record_summary(record)
    texts = {f"full_{name}": _mr(value) if isinstance(value, float) else str(value)
             for name, value in summary.items()}  # the record's floats are all MRs
    texts["full_sweep_where"] = RECORD_SWEEP_SHAPE[summary["sweep_shape"]]
    same = summary["sweep_best_ms"] == claims.ANNPR2018_FIG4["best_ms"]
    texts["full_sweep_same"] = "at the same length" if same else "though not at the same length"
    return texts


def network_names() -> dict[str, str]:
    """The catalogue's short names by kind (for captions)."""
    return {kind: network.name for kind, network in NETWORKS.items()}

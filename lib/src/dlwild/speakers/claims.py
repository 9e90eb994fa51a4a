"""The speaker-clustering papers' published claims, each beside its source (paper, table).

Values are from the digest ``shared/papers/speakers.md`` (checked against the rendered
PDFs there). Absolute numbers were measured on TIMIT; a run on other data marks them
``not comparable``. Tolerances for a misclassification rate (MR) on 40 speakers are
0.05 = 4 of 80 utterances, about the half-width of the Wilson interval the MLSP 2017
paper prints for MR 0.05 at n = 80; relative claims (``kind="holds"``) have none."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlwild.core.claims import Claim, Measured
from dlwild.speakers.evaluation import ClusterKey, Evaluation, sizes
from dlwild.speakers.settings import GMM

MR_TOLERANCE_40 = 0.05  # 4 of 80 utterances
#: One precision for every MR the chapter shows (claims, notes, prose, tables): on 40 speakers
#: an MR moves in steps of 1/80 = 0.0125, which three decimals would round to 0.012 or 0.013.
MR_FMT = ".4f"

#: MLSP 2016, Table 1, 40 speakers, for the net trained on 590 TIMIT speakers (the paper's
#: headline). Our networks train on 100 speakers, so the claims quote the net-100 column.
MLSP2016_NET590_40 = {"L7": 0.050, "L8": 0.450}
#: ANNPR 2018, Fig. 4: the segment lengths swept (ms) and where the MR was lowest.
ANNPR2018_FIG4 = {"from_ms": 20, "to_ms": 1000, "best_ms": 400}

ABSOLUTE = [
    Claim("mlsp2016_l7_40", paper="lukic2016speaker", source="MLSP 2016, Table 1",
          metric="MR (legacy, best cut), 40 speakers, L7, net-100", paper_value=0.325,
          fmt=MR_FMT, tolerance=MR_TOLERANCE_40,
          statement="CNN identification net: L7 embeddings cluster 40 unseen speakers"),
    Claim("mlsp2016_l8_40", paper="lukic2016speaker", source="MLSP 2016, Table 1",
          metric="MR (legacy, best cut), 40 speakers, L8 softmax, net-100", paper_value=0.700,
          fmt=MR_FMT, tolerance=MR_TOLERANCE_40,
          statement="CNN identification net: softmax outputs cluster 40 unseen speakers"),
    Claim("mlsp2017_pkld_40", paper="lukic2017learning", source="MLSP 2017, Table 2",
          metric="MR (legacy, best cut), 40 speakers, L7, Adadelta 30K", paper_value=0.050,
          fmt=MR_FMT, tolerance=MR_TOLERANCE_40,
          statement="CNN with the pairwise KL loss, 100 training speakers, 40 test speakers"),
    Claim("mlsp2017_pkld_80", paper="lukic2017learning", source="MLSP 2017, Table 2",
          metric="MR (legacy, best cut), 80 speakers, L7, Adadelta 30K", paper_value=0.14,
          fmt=MR_FMT, tolerance=0.05,
          statement="CNN with the pairwise KL loss on 80 test speakers"),
    Claim("annpr2018_rnn_40", paper="stadelmann2018capturing", source="ANNPR 2018, Table 1",
          metric="MR (conditions a+b, best cut), 40 speakers, L3, 400 ms", paper_value=0.0219,
          fmt=MR_FMT, tolerance=MR_TOLERANCE_40,
          statement="BiLSTM with the pairwise KL loss on 40 test speakers"),
    Claim("acm2009_gmm_40", paper="stadelmann2009unfolding", source="ACM MM 2009, Table 4",
          metric="MR, 40 speakers, MFCC/GMM baseline", paper_value=0.125,
          fmt=MR_FMT, tolerance=MR_TOLERANCE_40, statement="MFCC/GMM baseline on 40 speakers"),
    Claim("icpr2018_scds_40", paper="hibraj2018speaker", source="ICPR 2018, Table II",
          metric="MR (Hungarian), 40 speakers, CNN-T embeddings, dominant sets",
          paper_value=0.0, fmt=MR_FMT, tolerance=MR_TOLERANCE_40,
          statement="Dominant sets cluster the 40-speaker set without knowing k"),
]

RELATIVE = [
    Claim("rel_hidden_beats_softmax", paper="lukic2016speaker", source="MLSP 2016, Table 1",
          metric="MR(L7) < MR(L8 softmax)", paper_value=True, kind="holds",
          statement="Hidden-layer embeddings cluster better than softmax outputs"),
    Claim("rel_pkld_matches_identification", paper="lukic2017learning",
          source="MLSP 2017, Table 2", metric="MR(PKLD CNN) <= MR(identification CNN)",
          paper_value=True, kind="holds",
          statement="Pairwise KL training is at least as good as identification training"),
    Claim("rel_segment_sweet_spot", paper="stadelmann2018capturing",
          source="ANNPR 2018, Fig. 4", metric="MR over segment length is U-shaped",
          paper_value=True, kind="holds",
          statement="The BiLSTM has a sweet spot of segment length (paper: ~400 ms)"),
    Claim("rel_mr_definitions_ordered", paper="stadelmann2018capturing",
          source="our property check of the MR conditions of ANNPR 2018, Sect. 4",
          metric="MR legacy >= MR (a+b) >= MR Hungarian", paper_value=True, kind="holds",
          statement="The stricter MR definitions never report a lower error"),
    Claim("rel_ds_without_k", paper="hibraj2018speaker", source="ICPR 2018, Table II",
          metric="MR(dominant sets, no k) <= MR(AHC, true k), CNN L7 and BiLSTM L3 embeddings",
          paper_value=True, kind="holds",
          statement="Dominant sets without k match agglomerative clustering given k"),
    Claim("rel_learned_beats_gmm", paper="lukic2017learning", source="MLSP 2017, Table 2",
          metric="MR(learned embeddings) < MR(MFCC/GMM)", paper_value=True, kind="holds",
          statement="Learned embeddings beat the MFCC/GMM baseline"),
]

CLAIMS = ABSOLUTE + RELATIVE


def _trained(batches: Mapping[str, int]) -> str:
    return ", ".join(f"{net} {n:,}" for net, n in batches.items())


def absolute_comparable(test_corpus: str, scale: str, batches: Mapping[str, int]) -> str | None:
    """Why the absolute numbers cannot be compared with the papers' (None when they can:
    a full-scale run clustering TIMIT speakers); ``batches``: minibatches each net trained."""
    if not test_corpus.lower().startswith("timit"):
        return (f"measured on {test_corpus.split(':')[0]}, not TIMIT (the papers' 40/80-speaker "
                "sets); only the relations carry over")
    if scale != "full":
        return (f"{scale} scale: minibatches trained {_trained(batches)}, against the papers' "
                "10k-30k")
    return None


def sweep_shape(sweep: Mapping[int, float]) -> str:
    """Where the lowest MR of a segment-length sweep lies: ``"inside"`` (a U-shape: higher at
    both ends), ``"shortest"`` or ``"longest"`` (at an end of the range: a minimum beyond
    it cannot be seen), or ``"flat"`` (an end ties with the lowest)."""
    lengths = sorted(sweep)
    low = min(sweep.values())
    if sweep[lengths[0]] > low and sweep[lengths[-1]] > low:
        return "inside"
    if sweep[lengths[0]] == low and sweep[lengths[-1]] == low:
        return "flat"
    return "shortest" if sweep[lengths[0]] == low else "longest"


def measured_from(clustering: Mapping[ClusterKey, Evaluation], sweep: Mapping[int, float], *,
                  data: str, scale: str, test_corpus: str, batches: Mapping[str, int]
                  ) -> dict[str, Measured]:
    """Our value for every claim in :data:`CLAIMS`, from the typed clusterings, the sweep
    (``{ms: MR (a+b)}``) and the minibatches each network trained (``batches``)."""
    why = absolute_comparable(test_corpus, scale, batches)
    n40, n80 = min(sizes(clustering)), max(sizes(clustering))

    def mr(system: str, layer: str | None, method: str = "ahc_best_cut",
           definition: str = "mr_legacy", n: int = n40) -> float:
        return clustering[ClusterKey(system, layer, n)].mr(method, definition)

    where = f"{data}, {n40} test speakers"
    both = f"{data}, {n40} and {n80} test speakers" if n80 != n40 else where

    def absolute(value: float) -> Measured:
        return Measured(value, data=where, scale=scale, not_comparable=why)

    sweep = {int(ms): float(v) for ms, v in sweep.items()}
    shape = sweep_shape(sweep)
    n_items = 2 * n40
    profile = ", ".join(f"{ms} ms {round(v * n_items)}" for ms, v in sorted(sweep.items()))
    where_low = {"inside": "lowest inside the range",
                 "shortest": "lowest at the shortest length tried, so a minimum below it "
                             "cannot be seen",
                 "longest": "lowest at the longest length tried",
                 "flat": "an end of the range ties with the lowest"}[shape]
    evaluations = [m for e in clustering.values() for m in e.scores.values()]
    ordered = all(e["mr_legacy"] >= e["mr_annpr2018"] - 1e-12 and
                  e["mr_annpr2018"] >= e["mr_hungarian"] - 1e-12 for e in evaluations)
    l7, l8 = mr("cnn2016", "L7"), mr("cnn2016", "L8")
    pkld, rnn = mr("cnn2017", "L7"), mr("bilstm2018", "L3")
    pairs = {f"{net}/{layer}": (mr(net, layer, "dominant_sets", "mr_hungarian"),
                                mr(net, layer, "ahc_true_k", "mr_hungarian"))
             for net, layer in (("cnn2016", "L7"), ("bilstm2018", "L3"))}
    # at quick scale the CNNs see a few hundred minibatches (the papers: 10k-30k): comparing
    # two barely trained nets with each other tests nothing about the papers' relation
    cnn_untrained = None if scale == "full" else (
        f"{scale} scale: the CNNs get {batches['cnn2016']:,} and {batches['cnn2017']:,} "
        f"minibatches instead of the papers' 10k-30k and cluster near chance "
        f"(L7 MR {l7:{MR_FMT}}); the full-scale run tests this")
    learned, gmm = min(l7, pkld, rnn), mr(GMM, None)
    return {
        "mlsp2016_l7_40": absolute(l7),
        "mlsp2016_l8_40": absolute(l8),
        "mlsp2017_pkld_40": absolute(pkld),
        "mlsp2017_pkld_80": Measured(mr("cnn2017", "L7", n=n80),
                                     data=f"{data}, {n80} test speakers", scale=scale,
                                     not_comparable=why),
        "annpr2018_rnn_40": absolute(mr("bilstm2018", "L3", definition="mr_annpr2018")),
        "acm2009_gmm_40": absolute(mr(GMM, None, definition="mr_acm2009")),
        "icpr2018_scds_40": absolute(mr("cnn2016", "L7", "dominant_sets", "mr_hungarian")),
        "rel_hidden_beats_softmax": Measured(l7 < l8, data=where, scale=scale,
                                             not_comparable=cnn_untrained,
                                             note=f"L7 {l7:{MR_FMT}} vs L8 {l8:{MR_FMT}}"),
        "rel_pkld_matches_identification": Measured(
            pkld <= l7, data=where, scale=scale, not_comparable=cnn_untrained,
            note=f"PKLD {pkld:{MR_FMT}} vs identification {l7:{MR_FMT}}"),
        "rel_segment_sweet_spot": Measured(
            shape == "inside", data=where, scale=scale,
            note=f"{where_low}; misclustered utterances of {n_items}: {profile}"),
        "rel_mr_definitions_ordered": Measured(
            ordered, data=both, scale=scale, note=f"checked on {len(evaluations)} clusterings"),
        "rel_ds_without_k": Measured(
            all(d <= a for d, a in pairs.values()), data=where, scale=scale,
            note="; ".join(f"{net}: dominant sets {d:{MR_FMT}} vs AHC at true k {a:{MR_FMT}}"
                           for net, (d, a) in pairs.items())),
        "rel_learned_beats_gmm": Measured(
            learned < gmm, data=where, scale=scale,
            note=f"best learned {learned:{MR_FMT}} vs MFCC/GMM {gmm:{MR_FMT}}"),
    }


def clustered_sizes(metrics: Mapping) -> list[int]:
    """The speaker counts a run's metrics were clustered at: the settings' sizes, clipped to
    the test speakers the corpus had."""
    available = metrics["protocol"]["test_speakers"]
    return [min(n, available) for n in metrics["settings"]["n_test_speakers"]]


def record_summary(record: Mapping) -> dict:
    """The values a chapter's prose quotes from a (committed full-scale) record: our value of
    every absolute claim by id, how many relations hold, the test-set sizes, and the sweep's
    lowest and highest segment length with their MR and :func:`sweep_shape`."""
    claims = record["claims"]
    relative = [c for c in claims if c["id"].startswith("rel_")]
    sizes = clustered_sizes(record["metrics"])
    sweep = {int(ms): float(mr) for ms, mr in record["metrics"]["clustering"]["sweep"].items()}
    best, worst = min(sweep, key=sweep.get), max(sweep, key=sweep.get)
    return {
        **{c["id"]: c["ours"] for c in claims if not c["id"].startswith("rel_")},
        "rel_holding": sum(c["verdict"] == "holds" for c in relative),
        "rel_total": len(relative),
        "corpus": ", ".join(d["name"] for d in record["data"]["datasets"]),
        "n40": min(sizes), "n80": max(sizes), "utterances": 2 * min(sizes),
        "step": 1 / (2 * min(sizes)),
        "sweep_best_ms": best, "sweep_best": sweep[best],
        "sweep_worst_ms": worst, "sweep_worst": sweep[worst],
        "sweep_shape": sweep_shape(sweep),
    }


def seed_spread(records_dir: Any = None) -> dict[str, Any] | None:
    """The committed sweep's segment-length MR over seeds (``dlwild sweep speakers``): per
    length its mean and standard deviation, the seeds and the scale; None without a sweep."""
    from dlwild.core.results import sweep_spread

    spread = sweep_spread("speakers", "clustering/sweep/", records_dir)
    if spread is None:
        return None
    return {"mr": spread["metrics"], "seeds": spread["seeds"], "scale": spread["scale"]}

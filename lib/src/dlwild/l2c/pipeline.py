"""The chapter's experiment, end to end, on a validated run (``CHAPTER.start``): the three
data types, their L2C networks, 300 test sets each scored against the baselines and the
random-partition row, the class-count sweep, the large-n test, and the measurements the
paper-vs-ours table compares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dlwild.l2c.baselines import BASELINES, baseline_scores, random_row
from dlwild.l2c.data import PointsData, Sets, load_images, load_speech
from dlwild.l2c.evaluation import Scores, count_confusion, predict, score_sets
from dlwild.l2c.settings import DATASETS, Settings, sweep_net
from dlwild.l2c.training import Trained, train_net

if TYPE_CHECKING:  # pragma: no cover
    from dlwild.core.run import Run

#: Baselines run on every test set of the 2-D points; the others' sets get the cheap ones
#: at quick scale (see Settings.baselines_other).
TEST_SEED = 20_18

#: How the page names each image set.
IMAGE_NAMES = {"coil20": "COIL-20", "mnist": "MNIST", "coil100": "COIL-100",
               "digits": "scikit-learn digits"}


def settings_for(settings: Settings, points_n: int) -> Settings:
    """The scale's settings with the points' set size ``points_n``."""
    nets = dict(settings.nets)
    nets["points"] = replace(nets["points"], n=points_n)
    large = tuple(sorted({points_n, *[n for n in settings.large_n if n > points_n]}))
    return replace(settings, nets=nets, large_n=large)


def load_data(mode: str, settings: Settings, seed: int, speech_corpus: str = "librispeech",
              image_set: str = "coil20", which: tuple[str, ...] = DATASETS) -> dict[str, Any]:
    """The data of each type in ``which``, resolved in ``mode`` (auto/real/synthetic)."""
    out: dict[str, Any] = {}
    for name in which:
        if name == "points":
            out[name] = PointsData()
        elif name == "speech":
            out[name] = load_speech(speech_corpus, mode, settings.speech_split,
                                    settings.snippets_per_speaker, settings.spectrogram_pool,
                                    seed)
        elif name == "images":
            out[name] = load_images(image_set, mode, settings.image_split, seed)
        else:
            raise ValueError(f"unknown data type {name!r}: expected one of {DATASETS}")
    return out


def data_of(run: Run) -> dict[str, Any]:
    """The run's data, each real data set recorded with ``run.use_data`` (a banner where a
    generator stands in)."""
    datas = load_data(run.data, run_settings(run), run.seed, run.params["speech_corpus"],
                      run.params["image_set"])
    from dlwild.speakers.corpora import CORPORA

    registered = {"coil20": "coil20_32x32_mat", "mnist": "mnist", **CORPORA}
    for name in ("speech", "images"):
        d = datas[name]
        asked = (run.params["speech_corpus"] if name == "speech"
                 else run.params["image_set"]).split(":")[0].lower()
        label = registered.get(asked) or asked
        fetched = d.fetched
        if d.source == "real" and fetched is None:  # the user's local COIL-100
            from dlwild.speakers.pipeline import LocalCopy

            fetched = LocalCopy(d.kind, "local copy", len(d.labels))
        run.use_data(label, fetched, generator=d.generator)
    return datas


def run_settings(run: Run) -> Settings:
    """The run's settings, with its ``points_n``."""
    return settings_for(run.settings, run.params["points_n"])


def train_all(datas: dict[str, Any], settings: Settings, *, seed: int, device: Any = "cpu",
              progress: bool = True, store: Any = None) -> dict[str, Trained]:
    """One L2C network per data type, trained once and then loaded from the artifact cache."""
    return {name: train_net(name, d, settings.nets[name], k_max=settings.k_max,
                            lam=settings.lam, max_n=settings.max_n, seed=seed, device=device,
                            progress=progress, store=store)
            for name, d in datas.items()}


def test_sets(data: Any, settings: Settings, seed: int, n: int | None = None) -> Sets:
    """The data type's test sets: the same seed gives the same sets."""
    n = n or settings.nets[data.name].n
    return data.sets("test", settings.test_sets, n, settings.k_max, seed=(seed, TEST_SEED))


@dataclass
class Result:
    """One data type's evaluation: its test sets, L2C's predictions and scores, the
    baselines' scores, the random row and the count confusion matrix."""

    name: str
    sets: Sets
    labels: np.ndarray
    k_pred: np.ndarray
    l2c: Scores
    baselines: dict[str, Scores]
    random: dict[str, float]
    confusion: np.ndarray
    kmeans_labels: list[np.ndarray] = field(default_factory=list)


def evaluate(trained: Trained, data: Any, settings: Settings, seed: int,
             random_draws: int = 200) -> Result:
    """L2C and the baselines on the data type's test sets."""
    sets = test_sets(data, settings, seed)
    labels, k_pred, _ = predict(trained.model, sets.x)
    l2c = score_sets(sets.labels, list(labels), sets.k, k_pred)
    methods = tuple(BASELINES) if data.name == "points" else settings.baselines_other
    few = sets.take(settings.baseline_sets)
    base = baseline_scores(few.x, few.labels, few.k, settings.k_max, methods)
    from dlwild.l2c.baselines import kmeans

    shown = [kmeans(x, int(k)) for x, k in zip(sets.x[:8], sets.k[:8], strict=True)]
    return Result(data.name, sets, labels, k_pred, l2c, base,
                  random_row(sets.x.shape[1], settings.k_max, random_draws, seed),
                  count_confusion(sets.k, k_pred, settings.k_max), shown)


def evaluate_all(trained: dict[str, Trained], datas: dict[str, Any], settings: Settings,
                 seed: int) -> dict[str, Result]:
    """:func:`evaluate` for every data type."""
    return {name: evaluate(trained[name], datas[name], settings, seed) for name in trained}


def results_table(results: dict[str, Result]) -> pd.DataFrame:
    """MR and NMI (mean and standard deviation over the test sets) and the count accuracy of
    L2C, the baselines and the random row, per data type."""
    return summary_table({name: _scores(r) for name, r in results.items()})


def summary_table(numbers: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`results_table` from a run's numbers (:func:`summary`), so that a committed
    record's table is drawn from its file the same way as the live run's."""
    rows = []
    for name in (d for d in DATASETS if d in numbers):
        entry = numbers[name]
        for method, s in {"L2C": entry["l2c"], **entry["baselines"]}.items():
            rows.append({"data": name, "method": method, "sets": s["sets"],
                         "MR": f"{s['mr']:.3f} ± {s['mr_std']:.3f}",
                         "NMI": f"{s['nmi']:.3f} ± {s['nmi_std']:.3f}",
                         "k correct": f"{s['count_acc']:.2f}"})
        rand = entry["random"]
        rows.append({"data": name, "method": "random partition (true k)",
                     "sets": rand["draws"], "MR": f"{rand['mr']:.3f}",
                     "NMI": f"{rand['nmi']:.3f}", "k correct": "(given)"})
    return pd.DataFrame(rows)


def class_sweep(data: Any, settings: Settings, *, seed: int, device: Any = "cpu",
                progress: bool = True, store: Any = None) -> dict[int, dict[str, float]]:
    """The images network trained on the first c training classes for each c of the
    settings' sweep, tested on the same test sets: MR and NMI per c (paper §4: accuracy
    depends on having many classes in training)."""
    net = sweep_net(settings)
    sets = test_sets(data, settings, seed)
    out = {}
    train_classes = data.split["train"]
    for count in settings.class_sweep:
        if count > len(train_classes) or count < settings.k_max:
            continue
        trained = train_net(f"images-{count}-classes", data, net, k_max=settings.k_max,
                            lam=settings.lam, max_n=settings.max_n, seed=seed, device=device,
                            classes=train_classes[:count], progress=progress, store=store)
        labels, k_pred, _ = predict(trained.model, sets.x)
        out[count] = score_sets(sets.labels, list(labels), sets.k, k_pred).summary()
    return out


def large_n(trained: Trained, data: Any, settings: Settings, seed: int,
            sets: int = 60) -> dict[int, dict[str, float]]:
    """The points network (trained at n) on sets of each n of ``settings.large_n``."""
    out = {}
    for n in settings.large_n:
        s = data.sets("test", sets, n, settings.k_max, seed=(seed, TEST_SEED, n))
        labels, k_pred, _ = predict(trained.model, s.x)
        out[n] = score_sets(s.labels, list(labels), s.k, k_pred).summary()
    return out


def _scores(r: Result) -> dict[str, Any]:
    """One data type's scores as plain data: L2C's, the baselines' and the random row."""
    return {"l2c": r.l2c.summary(),
            "baselines": {m: s.summary() for m, s in r.baselines.items()},
            "random": r.random}


def summary(results: dict[str, Result], sweep: dict[int, dict[str, float]],
            large: dict[int, dict[str, float]], k_max: int) -> dict[str, Any]:
    """The run's numbers for ``results/<chapter>.json``."""
    out: dict[str, Any] = {}
    for name, r in results.items():
        out[name] = {**_scores(r),
                     "count_acc_by_k": {str(k): v for k, v in
                                        r.l2c.accuracy_by_k(k_max).items()},
                     "confusion": r.confusion.tolist()}
    out["class_sweep"] = {str(c): v for c, v in sweep.items()}
    out["large_n"] = {str(n): v for n, v in large.items()}
    return out


def metric_ablation(data: Any, settings: Settings, *, seed: int, device: Any = "cpu",
                    progress: bool = True, store: Any = None) -> dict[str, float]:
    """The points network with each metric-learning block of ``settings.ablations`` (paper
    Table 1's L2C + Euclidean / Mahalanobis / metric learning) and, first, without one
    ("plain"), all trained alike: MR on the test sets. Empty at quick scale."""
    from dlwild.l2c.settings import ablation_net

    if not settings.ablations:
        return {}
    sets = test_sets(data, settings, seed)
    out = {}
    for metric in (None, *settings.ablations):
        name = metric or "plain"
        trained = train_net(f"points-{name}", data, ablation_net(settings, metric),
                            k_max=settings.k_max, lam=settings.lam, max_n=settings.max_n,
                            seed=seed, device=device, progress=progress, store=store)
        labels, k_pred, _ = predict(trained.model, sets.x)
        out[name] = score_sets(sets.labels, list(labels), sets.k, k_pred).summary()["mr"]
    return out


PAPER_NETS = {"points": "m = 14, FC 288, count BiLSTM 128, N = 200 sets of n = 72, "
                        "Adadelta lr 5, steps not stated",
              "speech": "CNN 32/64/128 on 128 x 128, m = 14, N = 25 (code) sets of n = 20",
              "images": "CNN 32/64/128 on 128 x 128 x 3, m = 14, sets of n = 20"}


def networks_table(trained: dict[str, Trained]) -> pd.DataFrame:
    """Each network as this run trained it, beside the paper's."""
    rows = []
    for name, t in trained.items():
        net = t.net
        rows.append({"data": name, "input": "x".join(map(str, t.model.input_shape)),
                     "m": net.m, "FC width": net.width, "count BiLSTM": net.count_units,
                     "CNN width": "–" if name == "points" else f"{net.cnn_scale:g} x",
                     "sets x n per step": f"{net.sets_per_batch} x {net.n}",
                     "steps": net.batches, "optimiser": f"{net.optimizer} {net.lr:g}",
                     "parameters": f"{t.model.describe()['parameters']:,}",
                     "paper": PAPER_NETS[name]})
    return pd.DataFrame(rows)


def headline(results: dict[str, Result], sweep: dict[int, dict[str, float]],
             large: dict[int, dict[str, float]], settings: Settings,
             datas: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """The numbers the page's prose states: name -> (value, format)."""
    from dlwild.l2c.loss import weights_for

    out: dict[str, tuple[Any, str]] = {}
    for name, r in results.items():
        s = r.l2c.summary()
        for key in ("mr", "mr_std", "nmi", "nmi_std"):
            out[f"l2c_{name}_{key}"] = (s[key], ".3f")
        out[f"l2c_{name}_count_acc"] = (s["count_acc"], ".2f")  # as the results table has it
        out[f"l2c_{name}_random_mr"] = (r.random["mr"], ".3f")
        for method in ("k-means (true k)", "DBSCAN"):
            if method in r.baselines:
                tag = "kmeans" if method.startswith("k-means") else "dbscan"
                out[f"l2c_{name}_{tag}_mr"] = (r.baselines[method].summary()["mr"], ".3f")
    w72 = weights_for(settings.nets["points"].n, settings.k_max)
    w20 = weights_for(settings.nets["images"].n, settings.k_max)
    out.update({"l2c_phi_points": (w72.phi, ".3f"), "l2c_phi1_points": (w72.same, ".3f"),
                "l2c_phi2_points": (w72.different, ".3f"), "l2c_phi_20": (w20.phi, ".3f"),
                "l2c_n_points": (settings.nets["points"].n, "d"),
                "l2c_test_sets": (settings.test_sets, "d"),
                "l2c_baseline_sets": (settings.baseline_sets, "d")})
    if "speech" in datas:
        split = datas["speech"].split
        out["l2c_speech_split"] = (" / ".join(str(len(split[k])) for k in
                                              ("train", "val", "test")), "")
        out["l2c_speech_input"] = (" × ".join(map(str, datas["speech"].input_shape)), "")
    if "images" in datas:
        split = datas["images"].split
        out["l2c_image_kind"] = (IMAGE_NAMES.get(datas["images"].kind,
                                                 datas["images"].kind), "")
        out["l2c_image_split"] = (" / ".join(str(len(split[k])) for k in
                                             ("train", "val", "test")), "")
    ns = sorted(large)
    out["l2c_large_n"] = (ns[-1], "d")
    out["l2c_large_n_mr"] = (large[ns[-1]]["mr"], ".3f")
    out["l2c_small_n_mr"] = (large[ns[0]]["mr"], ".3f")
    if sweep:
        cs = sorted(sweep)
        out["l2c_sweep_few"] = (cs[0], "d")
        out["l2c_sweep_most"] = (cs[-1], "d")
        out["l2c_sweep_few_mr"] = (sweep[cs[0]]["mr"], ".3f")
        out["l2c_sweep_most_mr"] = (sweep[cs[-1]]["mr"], ".3f")
    out.update(scale_contrast())
    return out


def _span(values: list[int]) -> str:
    """``"75-350"`` for a range of settings, ``"8"`` for one value."""
    lo, hi = min(values), max(values)
    return f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"


def _rate(lr: float) -> str:
    """A learning rate as written in papers: ``3e-4``, ``5``."""
    return f"{lr:g}" if lr >= 0.1 else f"{lr:.0e}".replace("e-0", "e-")


def scale_contrast() -> dict[str, tuple[Any, str]]:
    """The quick and full scales' networks and training beside the paper's, for the
    page's "what the quick scale cannot show" (the same text at either scale)."""
    from dlwild.l2c.settings import PAPER_TRAINING, SETTINGS

    out: dict[str, tuple[Any, str]] = {}
    for scale, s in SETTINGS.items():
        nets = list(s.nets.values())
        out[f"l2c_{scale}_steps"] = (_span([n.batches for n in nets]), "")
        patience = [n.patience for n in nets if n.patience]
        out[f"l2c_{scale}_patience"] = (_span(patience) if patience else "no", "")
        out[f"l2c_{scale}_sets"] = (_span([n.sets_per_batch for n in nets]), "")
        out[f"l2c_{scale}_m"] = (_span([n.m for n in nets]), "")
        out[f"l2c_{scale}_width"] = (_span([n.width for n in nets]), "")
        out[f"l2c_{scale}_optimizer"] = (" / ".join(sorted({n.optimizer.capitalize()
                                                            for n in nets})), "")
        lrs = sorted({n.lr for n in nets})
        out[f"l2c_{scale}_lr"] = ("–".join(_rate(r) for r in lrs[::max(len(lrs) - 1, 1)]), "")
    p = PAPER_TRAINING
    out.update({"l2c_paper_m": (p["m"], "d"), "l2c_paper_width": (p["width"], "d"),
                "l2c_paper_sets": (p["sets_per_batch"], "d"),
                "l2c_paper_optimizer": (p["optimizer"], ""), "l2c_paper_lr": (_rate(p["lr"]), ""),
                "l2c_paper_patience": (f"{p['patience']:,}", "")})
    return out


def glue(values: dict[str, tuple[Any, str]]) -> None:
    """Glue each value for the prose (``{glue:text}`name```)."""
    from dlwild.core import report

    for name, (value, fmt) in values.items():
        report.glue_value(name, value, fmt)


def measurements(results: dict[str, Result], sweep: dict[int, dict[str, float]],
                 large: dict[int, dict[str, float]], ablation: dict[str, float],
                 settings: Settings, datas: dict[str, Any], scale: str) -> tuple[dict, dict]:
    """``(summary, measured)``: the run's numbers and our side of every claim."""
    from dlwild.l2c.claims import measured

    numbers = summary(results, sweep, large, settings.k_max)
    numbers["metric_ablation"] = ablation
    return numbers, measured(numbers, scale=scale,
                             speech_train=len(datas["speech"].split["train"]),
                             image_kind=IMAGE_NAMES.get(datas["images"].kind,
                                                        datas["images"].kind),
                             image_classes=len(datas["images"].split["train"]),
                             ablation=ablation)


def generator_examples(data: Any, settings: Settings, seed: int, count: int = 6) -> Sets:
    """A few 2-D sets to look at, one per k where possible (not the test sets)."""
    n = settings.nets["points"].n
    parts = [data.sets("val", 1, n, settings.k_max, seed=(seed, 5, k), k=k)
             for k in (2, 3, 4, 5, 3, 5)[:count]]
    return Sets(np.concatenate([p.x for p in parts]), np.concatenate([p.labels for p in parts]),
                np.concatenate([p.k for p in parts]))


def seed_spread(records_dir: Any = None) -> dict[str, Any] | None:
    """The committed sweep over seeds (``dlwild sweep learning_to_cluster``): every metric's
    mean and standard deviation, for the error bars of
    :func:`dlwild.l2c.figures.relative_claims`; None without a sweep."""
    from dlwild.core.results import sweep_spread

    return sweep_spread("learning_to_cluster", "", records_dir)

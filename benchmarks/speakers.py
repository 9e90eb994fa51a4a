"""Speed of the speaker-clustering chapter on the book machine (2-core CPU), as ratios.

Three things decide whether the speaker chapter runs in minutes or hours, so they are measured:

1. Feature extraction (``dlwild.speakers.features.mel_spectrogram``) on real LibriSpeech from the
   data mirror: seconds of audio per second of CPU wall time, audio decoded beforehand.  The
   first call pays librosa's import and numba's JIT compilation; it is timed and reported on
   its own (the "warm-up"), never mixed into the throughput.  Baseline: real time; target: 100x.
2. Training throughput: snippets per second of one optimiser step (Adam; forward, loss,
   backward, update) of CNN2016 (cross-entropy, batch 128 as in MLSP 2016; ``hidden_scale``
   1.0 = the paper and the smaller scale of a quick run), CNN2017 with the PKLD loss and
   BiLSTM2018 with PKLD on 400 ms segments (T = 40), batch 100; 100 training speakers.  Each
   model runs in its own subprocess so that ``resource.getrusage`` peak RSS (maxrss) is the
   model's own; the peak of a subprocess that only imports torch is reported as the floor.
   Target: the throughput a quick run needs, 300 batches within 60 s (5 batches/s).
3. The cost curve of the clustering back ends as the number of utterances n grows (80 ... 2560):
   dominant sets (ICPR 2018; affinity graph + peeling by replicator dynamics) against
   agglomerative clustering (complete linkage, cosine; SciPy) plus the oracle replay of
   ``best_cut`` over every merge level (MLSP 2016/2017, ANNPR 2018), on synthetic embeddings:
   n/2 speakers x 2 utterances, 512-d unit-norm centres plus Gaussian noise.  The empirical
   exponent is the least-squares slope of log(seconds) over log(n); the curve is drawn to
   ``_build/benchmarks/speakers_cost.png``.
4. The forecast of a full-scale run (not with ``--quick``): every network ``SETTINGS["full"]``
   trains (the two CNNs, the BiLSTM at 400 ms and the BiLSTM of each swept segment length),
   built by ``dlwild.speakers.embeddings`` with its optimiser, batch size and input length,
   timed per optimiser step in its own subprocess and multiplied by its minibatches.
   Optimiser steps only: the per-epoch validation and the clustering add a few per cent.  No
   target: it says whether a full run is a day-long job on this machine or one for a GPU.

Targets live here, never as timing assertions in tests.  Results go to
``_build/benchmarks/speakers.json``.  Run with
``DLWILD_MIRROR=/work/shared/data .venv/bin/python benchmarks/speakers.py [--quick]``;
``--quick`` shrinks every part so that the whole run takes under a minute."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from timing import timed

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "benchmarks"

#: Training configurations: name -> (model class, hidden_scale, batch, loss, input shape).
MODELS = {
    "CNN2016 (scale 1.0)": ("CNN2016", 1.0, 128, "ce", (128, 100)),
    "CNN2016 (scale 0.1)": ("CNN2016", 0.1, 128, "ce", (128, 100)),
    "CNN2017 PKLD": ("CNN2017", 1.0, 100, "pkld", (128, 100)),
    "BiLSTM2018 PKLD T=40": ("BiLSTM2018", 1.0, 100, "pkld", (40, 128)),
}
N_SPEAKERS = 100
#: A quick run's budget: this many batches within this many seconds.
QUICK_BATCHES, QUICK_SECONDS = 300, 60.0


def clock(fn, *args, repeat: int = 3, **kwargs):
    """``(median wall time, last result)`` of ``fn(*args, **kwargs)`` over ``repeat`` calls."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def maxrss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------ 1. features


def bench_features(n_utts: int) -> dict:
    """Warm-up and steady-state throughput of ``mel_spectrogram`` on real LibriSpeech."""
    mirror = os.environ.get("DLWILD_MIRROR")
    if not mirror or not (Path(mirror) / "librispeech_resemblyzer").is_dir():
        raise SystemExit(
            "benchmarks/speakers.py needs the LibriSpeech mirror: set DLWILD_MIRROR to a folder "
            "holding librispeech_resemblyzer/ (e.g. DLWILD_MIRROR=/work/shared/data); "
            f"got DLWILD_MIRROR={mirror!r}"
        )
    from dlwild.speakers.audio import SR, load_audio
    from dlwild.speakers.corpora import load_corpus
    from dlwild.speakers.features import mel_spectrogram

    utts = load_corpus("librispeech")[:n_utts]
    audio = [load_audio(u, SR) for u in utts]
    seconds = sum(len(y) for y in audio) / SR
    start = time.perf_counter()
    mel_spectrogram(audio[0], SR)  # librosa import + numba JIT + one utterance
    warmup_s = time.perf_counter() - start
    wall = timed(lambda: [mel_spectrogram(y, SR) for y in audio], repeat=3)
    return {"utterances": len(audio), "audio_s": round(seconds, 2),
            "warmup_s": round(warmup_s, 3), "wall_s": round(wall, 4),
            "audio_s_per_s": round(seconds / wall, 1),
            "first_utterance_s": round(len(audio[0]) / SR, 2)}


# ------------------------------------------------------------------------------ 2. training


def _cross_entropy(model, batch):
    import torch

    return torch.nn.functional.cross_entropy(model(batch[0]), batch[1])


def step_seconds(model, optimizer, loss_fn, x, steps: int) -> float:
    """Seconds per optimiser step (forward, loss, backward, update) on the batch ``x``, whose
    labels come in pairs of one speaker so that PKLD sees both kinds of pair.  Three warm-up
    steps are not timed: allocations, optimiser state and the heap growing to its peak (a
    full-width CNN's first steps take 2-4x its steady ~0.5 s on 2 cores)."""
    import torch

    y = torch.randint(0, N_SPEAKERS, (len(x),))
    y[1::2] = y[::2]

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model, (x, y)).backward()
        optimizer.step()

    for _ in range(3):
        step()
    return timed(step, repeat=steps)


def train_one(name: str, steps: int) -> dict:
    """One configuration of :data:`MODELS` (run in a subprocess): seconds per optimiser step and
    peak RSS.  ``name == "torch"`` only imports torch (the memory floor)."""
    import torch

    if name == "torch":
        return {"maxrss_mb": round(maxrss_mb(), 1)}
    from dlwild.speakers import models
    from dlwild.speakers.losses import pkld_loss_fn

    cls, scale, batch, loss, shape = MODELS[name]
    torch.manual_seed(0)
    model = getattr(models, cls)(N_SPEAKERS, hidden_scale=scale).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = (pkld_loss_fn(margin=3.0 if cls == "BiLSTM2018" else 2.0) if loss == "pkld"
               else _cross_entropy)
    step_s = step_seconds(model, opt, loss_fn, torch.randn(batch, *shape), steps)
    return {"batch": batch, "hidden_scale": scale, "loss": loss, "input": list(shape),
            "parameters": sum(p.numel() for p in model.parameters()),
            "step_s": round(step_s, 4), "snippets_per_s": round(batch / step_s, 1),
            "maxrss_mb": round(maxrss_mb(), 1), "threads": torch.get_num_threads()}


def full_jobs() -> list[tuple[str, int, int]]:
    """``(network, segment ms, minibatches)`` of every network a full-scale run trains."""
    from dlwild.speakers.settings import SETTINGS, chapter_networks, default_segment_ms

    full = SETTINGS["full"]
    return [(kind, ms or default_segment_ms(kind, full), batches or full.batches[kind])
            for kind, ms, batches in chapter_networks(full)]


def forecast_one(kind: str, segment_ms: int, steps: int) -> dict:
    """Seconds per optimiser step of one full-scale network (run in a subprocess), built and
    optimised exactly as the chapter does at full scale."""
    import torch

    from dlwild.speakers.embeddings import frames_for, make_network, make_optimizer
    from dlwild.speakers.losses import pkld_loss_fn
    from dlwild.speakers.settings import SETTINGS

    full = SETTINGS["full"]
    torch.manual_seed(0)
    model = make_network(kind, full.n_train_speakers, full).train()
    opt = make_optimizer(full.optimizer[kind])(model.parameters())
    batch, frames = full.batch_size[kind], frames_for(segment_ms)
    shape = (batch, frames, 128) if kind == "bilstm2018" else (batch, 128, frames)
    loss_fn = (_cross_entropy if kind == "cnn2016"
               else pkld_loss_fn(margin=3.0 if kind == "bilstm2018" else 2.0))
    step_s = step_seconds(model, opt, loss_fn, torch.randn(*shape), steps)
    return {"step_s": round(step_s, 4), "batch": batch,
            "optimizer": full.optimizer[kind], "threads": torch.get_num_threads()}


def bench_full_forecast(steps: int) -> list[dict]:
    rows = []
    for kind, ms, batches in full_jobs():
        done = subprocess.run([sys.executable, __file__, "--forecast-one", f"{kind}:{ms}",
                               "--steps", str(steps)], capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            raise SystemExit(f"forecast of {kind} ({ms} ms) failed:\n{done.stderr}")
        one = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append({"network": kind, "segment_ms": ms, "minibatches": batches, **one,
                     "hours": round(one["step_s"] * batches / 3600, 2)})
        print(f"  {kind:<11} {ms:5d} ms: {one['step_s']:.3f} s/step x {batches:6d} = "
              f"{rows[-1]['hours']:6.2f} h", flush=True)
    return rows


def bench_training(names: list[str], steps: int) -> dict:
    out = {}
    for name in ["torch", *names]:
        done = subprocess.run([sys.executable, __file__, "--train-one", name, "--steps",
                               str(steps)], capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            raise SystemExit(f"training benchmark {name!r} failed:\n{done.stderr}")
        out[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


# ------------------------------------------------------------------------------ 3. clustering


def embeddings(n: int, dims: int = 512, noise: float = 0.03, seed: int = 0):
    """n/2 speakers x 2 utterances: unit-norm random centres plus N(0, noise^2) per dimension
    (noise norm ~0.7 against centre distances ~1.4)."""
    rng = np.random.default_rng(seed)
    k = n // 2
    centres = rng.normal(size=(k, dims))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    X = np.repeat(centres, 2, axis=0) + rng.normal(scale=noise, size=(2 * k, dims))
    return X, np.repeat(np.arange(k), 2)


def bench_clustering(sizes: list[int], cap_s: float) -> list[dict]:
    import torch

    from dlwild.speakers.cluster import agglomerative, best_cut, dominant_sets
    from dlwild.speakers.metrics import mr_hungarian

    dominant_sets(*embeddings(20)[:1], device="cpu")  # torch warm-up
    rows: list[dict] = []
    for n in sizes:
        X, true = embeddings(n)
        repeat = 3 if n <= 320 else 1
        linkage_s, Z = clock(agglomerative, X, repeat=repeat)
        cut_s, (k_cut, _, mr_cut) = clock(best_cut, Z, true, repeat=repeat)
        guess = extrapolate(rows, "ds_s", n)
        if guess > cap_s:  # too slow for this run: record the extrapolation, mark it
            print(f"  n={n:5d}: dominant sets skipped (extrapolated {guess:.0f} s > "
                  f"cap {cap_s:.0f} s)", flush=True)
            rows.append({"n": n, "speakers": n // 2, "ahc_linkage_s": round(linkage_s, 4),
                         "best_cut_s": round(cut_s, 4),
                         "ahc_total_s": round(linkage_s + cut_s, 4),
                         "ds_s": None, "ds_s_extrapolated": round(guess, 1),
                         "ahc_best_k": k_cut, "ahc_mr": round(mr_cut, 4)})
            continue
        ds_s, ds = clock(dominant_sets, X, device="cpu", repeat=repeat)
        ds = ds.labels
        rows.append({"n": n, "speakers": n // 2, "ahc_linkage_s": round(linkage_s, 4),
                     "best_cut_s": round(cut_s, 4), "ahc_total_s": round(linkage_s + cut_s, 4),
                     "ds_s": round(ds_s, 4), "ahc_best_k": k_cut, "ahc_mr": round(mr_cut, 4),
                     "ds_clusters": int(ds.max()) + 1,
                     "ds_mr_hungarian": round(float(mr_hungarian(true, ds)), 4),
                     "torch_threads": torch.get_num_threads()})
        print(f"  n={n:5d}: linkage {linkage_s:8.3f} s  best_cut {cut_s:8.3f} s  "
              f"dominant sets {ds_s:8.3f} s", flush=True)
    return rows


def extrapolate(rows: list[dict], key: str, n: int) -> float:
    """Seconds of ``key`` at ``n`` predicted from the last two measured sizes (0 if < 2)."""
    done = [r for r in rows if r.get(key) is not None]
    if len(done) < 2:
        return 0.0
    a, b = done[-2], done[-1]
    p = np.log(b[key] / a[key]) / np.log(b["n"] / a["n"])
    return float(b[key] * (n / b["n"]) ** p)


def slope(ns, secs) -> float:
    """Least-squares slope of log(seconds) over log(n)."""
    return float(np.polyfit(np.log(ns), np.log(secs), 1)[0])


def plot_cost(rows: list[dict], exps: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = np.array([r["n"] for r in rows], dtype=float)
    nan = float("nan")
    fig, ax = plt.subplots(figsize=(7, 4.5), facecolor="white")
    ax.set_facecolor("white")
    series = [("ds_s", "dominant sets", "o-", "C3"),
              ("ahc_total_s", "AHC + best_cut (total)", "s-", "C0"),
              ("ahc_linkage_s", "AHC linkage only", "^--", "C2"),
              ("best_cut_s", "best_cut oracle replay", "v--", "C1")]
    for key, label, style, colour in series:
        ax.loglog(ns, [nan if r[key] is None else r[key] for r in rows], style,
                  color=colour, label=f"{label} (slope {exps[key]:.2f})")
    guessed = [(r["n"], r["ds_s_extrapolated"]) for r in rows if r["ds_s"] is None]
    if guessed:
        ax.loglog(*zip(*guessed, strict=True), "o", mfc="none", color="C3",
                  label="dominant sets, extrapolated (not run)")
    last = [r for r in rows if r["ds_s"] is not None][-1]
    ref, ns_ref = last["ds_s"], float(last["n"])
    for p, style in ((2, ":"), (3, "-.")):
        ax.loglog(ns, ref * (ns / ns_ref) ** p, style, color="grey", lw=0.8,
                  label=f"$n^{p}$ reference")
    ax.set_xlabel("utterances n (n/2 speakers x 2)")
    ax.set_ylabel("wall time [s] (2-core CPU)")
    ax.set_title("Clustering cost: dominant sets vs agglomerative")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120, facecolor="white")
    plt.close(fig)


# ------------------------------------------------------------------------------ report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shrink everything (< 1 min)")
    parser.add_argument("--train-one", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--cap", type=float, default=150.0,
                        help="skip dominant sets at an n extrapolated to take longer (s)")
    parser.add_argument("--forecast-one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_one:
        print(json.dumps(train_one(args.train_one, args.steps)))
        return 0
    if args.forecast_one:
        kind, ms = args.forecast_one.split(":")
        print(json.dumps(forecast_one(kind, int(ms), args.steps)))
        return 0

    quick = args.quick
    start = time.perf_counter()
    print("features ...", flush=True)
    feats = bench_features(3 if quick else 40)
    print("training ...", flush=True)
    names = ["CNN2016 (scale 0.1)", "BiLSTM2018 PKLD T=40"] if quick else list(MODELS)
    train = bench_training(names, steps=2 if quick else 5)
    print("clustering ...", flush=True)
    sizes = [80, 160, 320] if quick else [80, 160, 320, 640, 1280, 2560]
    clus = bench_clustering(sizes, cap_s=args.cap)
    forecast = []
    if not quick:
        print("full-scale forecast ...", flush=True)
        forecast = bench_full_forecast(steps=5)
    keys = ("ds_s", "ahc_total_s", "ahc_linkage_s", "best_cut_s")
    measured = {k: [(r["n"], r[k]) for r in clus if r.get(k) is not None] for k in keys}
    exps = {k: slope(*zip(*v, strict=True)) for k, v in measured.items()}
    tail = {k: slope(*zip(*v[-3:], strict=True)) for k, v in measured.items()}

    # rows: name, value, unit, baseline name, baseline value, target ratio, higher is better
    rows = [("features: warm-up call (JIT)", feats["warmup_s"], "s", "one-off", 1.0, None, False),
            ("features: mel spectrogram", feats["audio_s_per_s"], "audio s/s", "real time",
             1.0, 100.0, True)]
    floor = train["torch"]["maxrss_mb"]
    for name in names:
        t = train[name]
        need = t["batch"] * QUICK_BATCHES / QUICK_SECONDS
        rows.append((f"train: {name}", t["snippets_per_s"], "snip/s",
                     f"{QUICK_BATCHES} b/{QUICK_SECONDS:.0f}s", need, 1.0, True))
    largest = [r for r in clus if r["ds_s"] is not None][-1]
    rows.append((f"cluster n={largest['n']}: dominant sets", largest["ds_s"], "s",
                 "AHC+best_cut", largest["ahc_total_s"], None, False))

    print()
    print(f"{'benchmark':<38} {'value':>9} {'unit':<10} {'baseline':<14} {'base':>8} "
          f"{'ratio':>7}  ok")
    table = []
    for name, value, unit, base_name, base, target, higher in rows:
        ratio = value / base
        ok = None if target is None else (ratio >= target if higher else ratio <= target)
        verdict = "-" if ok is None else "yes" if ok else (
            f"NO (target {'>=' if higher else '<='} {target:g})")
        print(f"{name:<38} {value:9.2f} {unit:<10} {base_name:<14} {base:8.2f} {ratio:7.2f}  "
              f"{verdict}")
        table.append({"benchmark": name, "value": value, "unit": unit, "baseline": base_name,
                      "baseline_value": round(base, 3), "ratio": round(ratio, 3),
                      "target_ratio": target, "higher_is_better": higher, "met": ok})

    print(f"\ntraining detail (one optimiser step; peak RSS; torch-only floor {floor:.0f} MB)")
    print(f"{'model':<24} {'batch':>5} {'params':>11} {'s/step':>7} {'snip/s':>8} "
          f"{'maxrss MB':>10} {'over floor':>10}")
    for name in names:
        t = train[name]
        print(f"{name:<24} {t['batch']:5d} {t['parameters']:11,d} {t['step_s']:7.3f} "
              f"{t['snippets_per_s']:8.1f} {t['maxrss_mb']:10.0f} "
              f"{t['maxrss_mb'] - floor:10.0f}")

    print("\nclustering cost curve (seconds; synthetic 512-d, n/2 speakers x 2)")
    print(f"{'n':>6} {'linkage':>9} {'best_cut':>9} {'AHC total':>10} {'dom. sets':>10} "
          f"{'DS/AHC':>7} {'AHC k*':>7} {'AHC MR':>7} {'DS k':>6} {'DS MR':>6}")
    for r in clus:
        head = (f"{r['n']:6d} {r['ahc_linkage_s']:9.3f} {r['best_cut_s']:9.3f} "
                f"{r['ahc_total_s']:10.3f}")
        if r["ds_s"] is None:
            guess = r["ds_s_extrapolated"]
            print(f"{head} {'~' + format(guess, '.0f'):>10} {guess / r['ahc_total_s']:7.1f} "
                  f"{r['ahc_best_k']:7d} {r['ahc_mr']:7.3f}   (DS extrapolated, not run)")
            continue
        print(f"{head} {r['ds_s']:10.3f} "
              f"{r['ds_s'] / r['ahc_total_s']:7.2f} {r['ahc_best_k']:7d} {r['ahc_mr']:7.3f} "
              f"{r['ds_clusters']:6d} {r['ds_mr_hungarian']:6.3f}")
    print("empirical exponents (log-log slope over measured n: all | last three):")
    for k in keys:
        print(f"  {k:<14} {exps[k]:5.2f} | {tail[k]:5.2f}")

    if forecast:
        hours = sum(r["hours"] for r in forecast)
        print(f"\nfull-scale run forecast on this machine: {hours:.1f} h of optimiser steps "
              f"({len(forecast)} networks; validation and clustering add a few per cent)")
    OUT.mkdir(parents=True, exist_ok=True)
    figure = OUT / "speakers_cost.png"
    plot_cost(clus, exps, figure)
    total = time.perf_counter() - start
    print(f"\nfigure: {figure.relative_to(ROOT)}; total {total:.1f} s")
    result = {"quick": quick, "total_s": round(total, 1), "cpu_count": os.cpu_count(),
              "table": table, "features": feats, "training": train, "clustering": clus,
              "exponents": {k: round(v, 3) for k, v in exps.items()},
              "exponents_last3": {k: round(v, 3) for k, v in tail.items()},
              "full_forecast": {"networks": forecast,
                                "hours": round(sum(r["hours"] for r in forecast), 2)},
              "figure": str(figure.relative_to(ROOT))}
    (OUT / "speakers.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(r["met"] is not False for r in table) else 1


if __name__ == "__main__":
    sys.exit(main())

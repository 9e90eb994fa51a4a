"""Speed of the learning-to-cluster chapter on the book machine (2-core CPU), as ratios.

1. Training throughput: sets (episodes) per second of one optimiser step (forward, the L2C
   loss, backward, update) of each data type's network at quick and full scale, with the
   settings' sets per minibatch N and set size n (speech: 128 x 128 spectrogram windows, or
   the quick run's pooled 64 x 64; images 32 x 32). Baseline: the sets per second the
   quick run needs to train its minibatches within the quick budget (about a minute per
   data type).
2. Inference: seconds to cluster one set as n grows (20 ... 1000), the quick 2-D network
   against scikit-learn's k-means given k = 3 (4 restarts, as the baselines run it).
3. The forecast of a full-scale run (not with ``--quick``): every network
   ``SETTINGS["full"]`` trains (points, speech, images, the class sweep, the metric-block
   ablations), its measured seconds per step times its minibatches, plus 5 % for
   validation. Target: one CPU night (8 h).

Targets live here, never as timing assertions in tests. Results go to
``_build/benchmarks/l2c.json``. Run with ``.venv/bin/python benchmarks/l2c.py [--quick]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from timing import timed

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "benchmarks"
QUICK_SECONDS_PER_NET = 60.0
NIGHT_HOURS = 8.0


def _batch(shape, sets, n, k_max=5):
    from dlwild.l2c.episodes import cluster_sizes, shuffled_labels

    rng = np.random.default_rng(0)
    ks = rng.integers(1, k_max + 1, sets)
    labels = np.stack([shuffled_labels(cluster_sizes(n, int(k), rng), rng) for k in ks])
    x = torch.rand(sets, n, *shape)
    return x, torch.from_numpy(labels), torch.from_numpy(ks)


def step_seconds(net, shape, k_max=5, steps=2) -> float:
    """Median seconds of one optimiser step of the network ``net`` on items of ``shape``."""
    from dlwild.l2c.loss import l2c_loss, weights_for
    from dlwild.l2c.training import _optimizer, make_model

    model = make_model(shape, net, k_max, max_n=1000).train()
    opt = _optimizer(net)(model.parameters())
    x, labels, k = _batch(shape, net.sets_per_batch, net.n, k_max)
    weights = weights_for(net.n, k_max)

    def step():
        loss = l2c_loss(model(x), labels, k, weights)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # warm-up
    return timed(step, repeat=steps)


def shapes(settings):
    pool = settings.spectrogram_pool
    return {"points": (2,), "speech": (128 // pool, 128 // pool), "images": (32, 32)}


def bench_training(scales, steps):
    from dlwild.l2c.settings import SETTINGS

    rows = []
    for scale in scales:
        s = SETTINGS[scale]
        for name, net in s.nets.items():
            sec = step_seconds(net, shapes(s)[name], s.k_max, steps)
            rows.append({"scale": scale, "net": name, "step_s": sec,
                         "sets_per_s": net.sets_per_batch / sec, "batches": net.batches,
                         "hours": sec * net.batches * 1.05 / 3600})
            print(f"  {scale:5} {name:6} {sec:8.3f} s/step", flush=True)
    return rows


def bench_inference(sizes):
    from dlwild.l2c.baselines import kmeans
    from dlwild.l2c.evaluation import predict
    from dlwild.l2c.settings import QUICK
    from dlwild.l2c.training import make_model

    model = make_model((2,), QUICK.nets["points"], 5, 1000).eval()
    rows = []
    for n in sizes:
        x = np.random.default_rng(n).random((n, 2)).astype(np.float32)
        rows.append({"n": n, "l2c_s": timed(lambda x=x: predict(model, x[None])),
                     "kmeans_s": timed(lambda x=x: kmeans(x, 3))})
        print(f"  n={n:5d} L2C {rows[-1]['l2c_s']:.4f} s, k-means {rows[-1]['kmeans_s']:.4f} s",
              flush=True)
    return rows


def forecast(steps):
    """Hours of a full run: each full network's measured step time times its minibatches."""
    from dlwild.l2c.settings import FULL, ablation_net, sweep_net

    jobs = [(name, net, shapes(FULL)[name]) for name, net in FULL.nets.items()]
    jobs += [(f"images, {c} classes", sweep_net(FULL), (32, 32)) for c in FULL.class_sweep]
    jobs += [(f"points + {m}" if m else "points, plain (the ablation's)",
              ablation_net(FULL, m), (2,)) for m in (None, *FULL.ablations)]
    rows, cache = [], {}
    for name, net, shape in jobs:
        key = (replace(net, batches=0), shape)
        if key not in cache:
            cache[key] = step_seconds(net, shape, FULL.k_max, steps)
        sec = cache[key]
        rows.append({"net": name, "step_s": sec, "batches": net.batches,
                     "hours": sec * net.batches * 1.05 / 3600})
        print(f"  {name:22} {sec:7.2f} s/step x {net.batches:5d} = {rows[-1]['hours']:5.2f} h",
              flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of under a minute")
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    start = time.perf_counter()
    print("training throughput ...", flush=True)
    train = bench_training(["quick"] if args.quick else ["quick", "full"],
                           steps=1 if args.quick else 2)
    print("inference against k-means ...", flush=True)
    infer = bench_inference([20, 100, 300] if args.quick else [20, 50, 100, 200, 500, 1000])
    full = [] if args.quick else forecast(steps=1)

    from dlwild.l2c.settings import QUICK

    table = []
    print(f"\n{'benchmark':<34} {'value':>9} {'unit':<8} {'baseline':<16} {'base':>8} "
          f"{'ratio':>6}  ok")
    for r in (r for r in train if r["scale"] == "quick"):
        need = QUICK.nets[r["net"]].sets_per_batch * r["batches"] / QUICK_SECONDS_PER_NET
        ratio = r["sets_per_s"] / need
        table.append({"benchmark": f"train quick {r['net']}", "value": r["sets_per_s"],
                      "unit": "sets/s", "baseline_value": need, "ratio": ratio,
                      "met": ratio >= 1.0})
    largest = infer[-1]
    table.append({"benchmark": f"cluster one set, n={largest['n']}", "value": largest["l2c_s"],
                  "unit": "s", "baseline_value": largest["kmeans_s"],
                  "ratio": largest["l2c_s"] / largest["kmeans_s"], "met": None})
    if full:
        hours = sum(r["hours"] for r in full)
        table.append({"benchmark": "full-scale forecast", "value": hours, "unit": "h",
                      "baseline_value": NIGHT_HOURS, "ratio": hours / NIGHT_HOURS,
                      "met": hours <= NIGHT_HOURS})
    for row in table:
        ok = "-" if row["met"] is None else "yes" if row["met"] else "NO"
        print(f"{row['benchmark']:<34} {row['value']:9.3f} {row['unit']:<8} "
              f"{'needed/k-means/8h':<16} {row['baseline_value']:8.3f} {row['ratio']:6.2f}  {ok}")
    total = time.perf_counter() - start
    OUT.mkdir(parents=True, exist_ok=True)
    result = {"quick": args.quick, "total_s": round(total, 1), "cpu_count": os.cpu_count(),
              "table": table, "training": train, "inference": infer,
              "full_forecast": {"networks": full,
                                "hours": round(sum(r["hours"] for r in full), 2)}}
    (OUT / "l2c.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\ntotal {total:.1f} s; results in {(OUT / 'l2c.json').relative_to(ROOT)}")
    return 0 if all(r["met"] is not False for r in table) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Speed of ``dlwild sweep`` on the book machine, as ratios.

1. A 4-seed quick sweep of one chapter (``--chapter``, default the adversarial chapter, the
   shortest cold quick run), each seed with an empty artifact cache so that every seed
   trains its own networks: sequentially (one seed after another, in this process's Dask
   cluster of one worker) against the embedded LocalCluster of two worker processes. On 2
   cores a chapter that already uses both leaves little to gain: the ratio says how much.
2. The scheduler's overhead per task: 200 no-op tasks through a LocalCluster of two
   workers, seconds per task.

No target for the first (it depends on how parallel the chapter already is); the second
should stay under 10 ms per task. Results go to ``_build/benchmarks/sweep.json``. Run with
``.venv/bin/python benchmarks/sweep.py [--chapter NAME] [--seeds 4]``; it takes about
``2 x seeds`` cold quick runs of the chapter."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "benchmarks"


def noop(i: int) -> int:
    """A task that does nothing (the scheduler's overhead alone)."""
    return i


def overhead(tasks: int = 200) -> float:
    """Seconds per no-op task through a LocalCluster of two worker processes."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.gather(client.map(noop, range(10), pure=False))  # workers warm
        start = time.perf_counter()
        client.gather(client.map(noop, range(tasks), pure=False))
        return (time.perf_counter() - start) / tasks


def sweep_seconds(chapter: str, seeds: int, workers: int) -> float:
    """Wall seconds of ``dlwild sweep`` over ``seeds`` seeds with ``workers`` workers, in a
    copy of the book with an empty dlwild home (every seed trains its networks)."""
    from dlwild.runner import Project
    from dlwild.runner.sweep import sweep

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        saved = os.environ.get("DLWILD_HOME")
        os.environ["DLWILD_HOME"] = str(home)
        try:
            shutil.rmtree(ROOT / "_build" / "sweeps" / chapter, ignore_errors=True)
            start = time.perf_counter()
            sweep(Project.find(ROOT), chapter, seeds, cluster="local", workers=workers,
                  log=lambda *_: None)
            return time.perf_counter() - start
        finally:
            shutil.rmtree(ROOT / "_build" / "sweeps" / chapter, ignore_errors=True)
            if saved is None:
                os.environ.pop("DLWILD_HOME", None)
            else:
                os.environ["DLWILD_HOME"] = saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", default="adversarial")
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    per_task = overhead()
    sequential = sweep_seconds(args.chapter, args.seeds, workers=1)
    parallel = sweep_seconds(args.chapter, args.seeds, workers=2)
    results = {"chapter": args.chapter, "seeds": args.seeds,
               "sequential_s": round(sequential, 1), "local_cluster_2_s": round(parallel, 1),
               "speedup": round(sequential / parallel, 2),
               "scheduler_overhead_ms_per_task": round(per_task * 1000, 2)}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "sweep.json").write_text(json.dumps(results, indent=2))
    print(f"{args.seeds}-seed quick sweep of {args.chapter}: sequential {sequential:.0f} s, "
          f"LocalCluster of 2 workers {parallel:.0f} s ({sequential / parallel:.2f}x)")
    ok = per_task < 0.010
    print(f"scheduler overhead: {per_task * 1000:.2f} ms per task (target < 10 ms: "
          f"{'yes' if ok else 'NO'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

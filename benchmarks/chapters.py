"""Each chapter's quick run against its time budget: cold (an empty dlwild home, so every
network trains and every data file is read afresh) and warm (the same home again, trained
networks cached), on this machine.

The budget: with five chapters, a newcomer's first ``make book`` and CI stay within about 30
minutes on a 2-core machine, so a quick chapter gets about 4 minutes cold. The measured
times are written to ``book/records/<chapter>.times.json`` (commit them: each chapter page
states its rerun time from them). Run with ``make bench`` or
``python benchmarks/chapters.py [CHAPTER ...]``; a chapter over budget exits non-zero."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 240.0


def run_once(chapter: str, home: Path) -> float:
    """Seconds of one forced quick run of ``chapter`` with ``home`` as the dlwild home."""
    env = {**os.environ, "DLWILD_HOME": str(home)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dlwild.cli", "run", chapter, "--force",
                           "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{chapter} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


def machine() -> str:
    """The machine in words, for the record."""
    import torch

    cpu = platform.processor() or platform.machine()
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads)")


def main(argv: list[str] | None = None) -> int:
    from dlwild.runner import Project

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="default: every chapter of the book")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    project = Project(ROOT)
    chapters = args.chapters or project.chapters()
    print(f"{'chapter':<16} {'cold s':>8} {'warm s':>8} {'budget s':>9}  within")
    over = []
    for chapter in chapters:
        with tempfile.TemporaryDirectory(prefix="dlwild-bench-home-") as home:
            cold = run_once(chapter, Path(home))
            warm = run_once(chapter, Path(home))
        within = cold <= BUDGET_S
        over += [] if within else [chapter]
        print(f"{chapter:<16} {cold:8.0f} {warm:8.0f} {BUDGET_S:9.0f}  "
              f"{'yes' if within else 'NO'}")
        if not args.no_write:
            record = {"chapter": chapter, "cold_s": round(cold, 1), "warm_s": round(warm, 1),
                      "budget_s": BUDGET_S, "hardware": machine(),
                      "measured": dt.date.today().isoformat(),
                      "mirror": bool(os.environ.get("DLWILD_MIRROR"))}
            path = project.records / f"{chapter}.times.json"
            path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    total = "all within budget" if not over else f"over budget: {', '.join(over)}"
    print(f"\n{len(chapters)} chapter(s): {total}")
    return 0 if not over else 1


if __name__ == "__main__":
    sys.exit(main())

"""Speed of the book machine, printed as ratios against baselines.

1. Runner overhead: a tiny chapter through ``dlwild.runner.run_chapter`` (jupytext,
   Papermill, checks, publishing) against a bare Papermill execution of the same notebook.
2. Skip check: deciding that an unchanged chapter is fresh.
3. Warm ``dlwild book`` on the checkout (nothing changed): target under 60 s.

Targets live here, never as timing assertions in tests. Results go to
``_build/benchmarks/machine.json``. Run with ``make bench``."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from timing import timed  # noqa: E402

from chapter_sources import TINY_CHAPTER  # noqa: E402
from conftest import make_project  # noqa: E402
from dlwild.runner import Project, run_chapter  # noqa: E402


def main() -> int:
    import jupytext
    import papermill

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Project(make_project(Path(tmp) / "book", {"tiny": TINY_CHAPTER}))
        quiet = lambda *a, **k: None  # noqa: E731
        runner_s = timed(lambda: run_chapter(project, "tiny", force=True, log=quiet))
        plain = Path(tmp) / "plain.ipynb"
        jupytext.write(jupytext.read(project.notebooks / "tiny.md"), plain, fmt="ipynb")
        bare_s = timed(lambda: papermill.execute_notebook(
            str(plain), str(Path(tmp) / "out.ipynb"), kernel_name="python3",
            progress_bar=False, cwd=tmp))
        rows.append(("runner: tiny chapter", runner_s, "bare papermill", bare_s, 1.5))
        skip_s = timed(lambda: run_chapter(project, "tiny", log=quiet), repeat=5)
        rows.append(("runner: skip an unchanged chapter", skip_s, "1 s budget", 1.0, 1.0))

    subprocess.run([sys.executable, "-m", "dlwild.cli", "book"], cwd=ROOT, check=True,
                   capture_output=True)
    warm_s = timed(lambda: subprocess.run([sys.executable, "-m", "dlwild.cli", "book"],
                                          cwd=ROOT, check=True, capture_output=True), repeat=1)
    rows.append(("warm dlwild book (nothing changed)", warm_s, "60 s target", 60.0, 1.0))

    print(f"{'benchmark':<36} {'seconds':>8}  {'baseline':<16} {'seconds':>8} {'ratio':>6}  ok")
    out = []
    for name, seconds, base_name, base, limit in rows:
        ratio = seconds / base
        ok = ratio <= limit
        print(f"{name:<36} {seconds:8.2f}  {base_name:<16} {base:8.2f} {ratio:6.2f}  "
              f"{'yes' if ok else 'NO (target ' + str(limit) + ')'}")
        out.append({"benchmark": name, "seconds": round(seconds, 3), "baseline": base_name,
                    "baseline_seconds": round(base, 3), "ratio": round(ratio, 3),
                    "target_ratio": limit, "met": ok})
    target = ROOT / "_build" / "benchmarks" / "machine.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2) + "\n")
    return 0 if all(r["met"] for r in out) else 1


if __name__ == "__main__":
    sys.exit(main())

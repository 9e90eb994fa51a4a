"""Provenance of a run: the commit, package versions, hardware, and how long its
networks trained."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from dlwild.core import config

#: Packages whose versions go into every provenance record (those installed).
PROVENANCE_PACKAGES = (
    "numpy", "scipy", "pandas", "scikit-learn", "torch", "matplotlib", "librosa", "scikit-image",
    "verovio", "music21", "foolbox", "papermill", "jupyter-book",
)



def training_seconds(history: Any) -> float:
    """How long a network trained: the sum of its ``core.train.History`` epoch times."""
    return sum(epoch.get("seconds", 0.0) for epoch in history.epochs)


def duration(seconds: float) -> str:
    """A time as a reader takes it in: seconds below two minutes, minutes below two hours,
    hours above."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


# --- provenance ------------------------------------------------------------------------

def git_commit(root: Path | None = None) -> str:
    """The commit of the book's checkout (``+dirty`` when it has uncommitted changes)."""
    root = root or config.project_root() or Path.cwd()
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return sha + ("+dirty" if dirty else "")


def package_versions(names: Iterable[str] = PROVENANCE_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape the results."""
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def settings_data(settings: Any) -> Any:
    """A chapter's settings as plain JSON data (dataclasses as dicts, tuples as lists), as a
    record keeps them: the sizes its run had, to compare with today's."""
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.asdict(value)
        return str(value)

    return json.loads(json.dumps(settings, default=plain))


def settings_changes(then: Any, now: Any, prefix: str = "") -> list[str]:
    """The dotted names of the settings that differ between two :func:`settings_data`
    (``nets.points.batches``), in order; a whole value where the two are not both mappings."""
    if isinstance(then, Mapping) and isinstance(now, Mapping):
        out = []
        for key in [*then, *(k for k in now if k not in then)]:
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in then or key not in now:
                out.append(name)
            else:
                out.extend(settings_changes(then[key], now[key], name))
        return out
    return [] if then == now else [prefix or "settings"]

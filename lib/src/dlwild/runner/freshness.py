"""When a chapter need not run again: everything its page depends on, hashed."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from dlwild.core import config, results
from dlwild.runner.project import Project


def _sha256(*chunks: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(hashlib.sha256(chunk).digest())
    return digest.hexdigest()


def library_hash() -> str:
    """Hash of the installed dlwild source: a library change reruns every chapter."""
    package = Path(__file__).resolve().parent.parent
    files = sorted(p for p in package.rglob("*")
                   if p.is_file() and p.suffix in {".py", ".tsv", ".toml"})
    return _sha256(*(str(p.relative_to(package)).encode() + p.read_bytes() for p in files))


def data_signature() -> dict[str, Any]:
    """What decides which data a chapter can reach: mirror, cache, offline flag."""
    mirror = config.mirror()
    return {
        "mirror": str(mirror) if mirror and mirror.exists() else None,
        "home": str(config.home()),
        "offline": config.offline(),
    }


def run_key(project: Project, chapter: str, params: dict[str, Any]) -> str:
    """Everything a chapter's page and results depend on, hashed: source, library, params,
    data, pins, and the committed full-scale record the page shows."""
    constraints = project.root / "lib" / "constraints.txt"
    record = project.records / f"{chapter}.full.json"
    times = project.records / f"{chapter}.times.json"
    parts = {
        "notebook": hashlib.sha256(project.source(chapter).read_bytes()).hexdigest(),
        "record": hashlib.sha256(record.read_bytes()).hexdigest() if record.exists() else None,
        "times": hashlib.sha256(times.read_bytes()).hexdigest() if times.exists() else None,
        "library": library_hash(),
        "params": params,
        "data": data_signature(),
        "constraints": hashlib.sha256(constraints.read_bytes()).hexdigest()
        if constraints.exists() else None,
        "python": sys.version.split()[0],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def is_fresh(project: Project, chapter: str, key: str) -> bool:
    """True when the published page and results come from a run with this very key."""
    page = project.notebooks / f"{chapter}.ipynb"
    published = project.results / f"{chapter}.json"
    if not (page.exists() and published.exists()):
        return False
    try:
        record = results.load_results(published)
    except results.ResultsError:
        return False
    return record["provenance"].get("run_key") == key

"""The results contract: what ``results/<chapter>.json`` and a committed full-scale record
hold, how they are written and read, and the book-wide status rows built from them."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dlwild.core import config
from dlwild.core.claims import VERDICTS, format_value

SCHEMA_VERSION = 1


class ResultsError(ValueError):
    """A results record breaks the contract (missing field, bad verdict, NaN...)."""



def undefined_as_null(value: Any) -> Any:
    """``value`` with every NaN or infinite float (nested in dicts, lists, tuples) replaced by
    None: for metrics that are legitimately undefined (e.g. the AP of a class without test
    objects), which the results contract refuses as NaN and JSON writes as null."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: undefined_as_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [undefined_as_null(v) for v in value]
    return value



REQUIRED = {
    "chapter": str, "scale": str, "data": dict, "provenance": dict, "claims": list,
    "metrics": dict,
}
PROVENANCE_FIELDS = ("commit", "dlwild_version", "params", "seed", "python", "packages",
                     "hardware", "started", "wall_s")
CLAIM_FIELDS = ("id", "paper", "source", "metric", "paper_value", "ours", "tolerance",
                "verdict", "note")


def _has_nan(obj: Any) -> bool:
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        return any(_has_nan(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_has_nan(v) for v in obj)
    return False


def validate(record: Mapping[str, Any]) -> list[str]:
    """Problems with a results record (empty when it meets the contract)."""
    problems = []
    for key, kind in REQUIRED.items():
        if not isinstance(record.get(key), kind):
            problems.append(f"'{key}' missing or not a {kind.__name__}")
    if problems:
        return problems
    if record["scale"] not in config.SCALES:
        problems.append(f"scale {record['scale']!r} not in {config.SCALES}")
    if record["data"].get("source") not in ("real", "synthetic"):
        problems.append("data.source must be 'real' or 'synthetic'")
    if not isinstance(record["data"].get("datasets"), list):
        problems.append("data.datasets must be a list")
    for name in PROVENANCE_FIELDS:
        if name not in record["provenance"]:
            problems.append(f"provenance.{name} missing")
    for i, claim in enumerate(record["claims"]):
        missing = [f for f in CLAIM_FIELDS if f not in claim]
        if missing:
            problems.append(f"claims[{i}] lacks {missing}")
        elif claim["verdict"] not in VERDICTS:
            problems.append(f"claims[{i}] verdict {claim['verdict']!r} not in {VERDICTS}")
        elif claim["verdict"] == "not comparable" and not claim["note"]:
            problems.append(f"claims[{i}] is 'not comparable' without a reason")
    if _has_nan(record):
        problems.append("record holds NaN or infinite values")
    return problems


def dumps(record: Mapping[str, Any]) -> str:
    """JSON text of a record (NaN refused, numpy scalars converted)."""
    def default(obj: Any) -> Any:
        if hasattr(obj, "item"):
            return obj.item()
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"not JSON-serialisable in results: {type(obj).__name__}")

    return json.dumps(record, indent=2, sort_keys=False, allow_nan=False, default=default) + "\n"


def load_results(path: Path) -> dict[str, Any]:
    """Read and validate one results file; a broken file is an error naming it."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"cannot read results file {path}: {exc}") from exc
    problems = validate(record)
    if problems:
        raise ResultsError(f"results file {path} breaks the contract: {problems}")
    return record


def records_dir() -> Path | None:
    """``book/records`` of the project, where committed full-scale records live."""
    root = config.project_root()
    return root / "book" / "records" if root else None


def load_record(chapter: str, folder: Path | None = None) -> dict[str, Any] | None:
    """The committed full-scale record of ``chapter``, or None if there is none."""
    folder = folder or records_dir()
    if folder is None:
        return None
    path = folder / f"{chapter}.full.json"
    return load_results(path) if path.exists() else None


def load_sweep(chapter: str, folder: Path | None = None) -> dict[str, Any] | None:
    """The committed sweep record of ``chapter`` (``dlwild sweep``), or None if there is none."""
    folder = folder or records_dir()
    if folder is None:
        return None
    path = folder / f"{chapter}.sweep.json"
    if not path.exists():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("chapter") != chapter or not isinstance(record.get("claims"), list):
        raise ResultsError(f"{path} is not a sweep record of chapter {chapter!r}")
    return record


def sweep_spread(chapter: str, prefix: str, folder: Path | None = None
                 ) -> dict[str, Any] | None:
    """The committed sweep's spread over seeds of ``chapter``'s metrics under ``prefix``
    (for error bars): ``{"metrics": {rest of the path: {"values", "mean", "std"}}, "seeds":
    how many, "scale": ...}``; None without a sweep or without such metrics."""
    sweep = load_sweep(chapter, folder)
    if sweep is None:
        return None
    found = {path[len(prefix):]: spread for path, spread in sweep.get("metrics", {}).items()
             if path.startswith(prefix)}
    return {"metrics": found, "seeds": len(sweep["seeds"]), "scale": sweep["scale"]} \
        if found else None


def status_rows(results: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Book-wide reproduction table: one row per claim of every record given."""
    rows = []
    for record in results:
        for claim in record["claims"]:
            rows.append({
                "chapter": record["chapter"], "id": claim["id"],
                "run": "full record" if record.get("_record") else record["scale"],
                "data": record["data"]["source"],
                "claim": claim.get("statement") or claim["metric"],
                "paper": format_value(claim["paper_value"], claim.get("fmt", ".3f")),
                "ours": format_value(claim["ours"], claim.get("fmt", ".3f")),
                "verdict": claim["verdict"],
                "reason": claim["note"],
            })
    columns = ["chapter", "id", "run", "data", "claim", "paper", "ours", "verdict", "reason"]
    return pd.DataFrame(rows, columns=columns)

"""Paper vs ours: claims, verdicts, glued values, provenance and the results contract.

A chapter opens a :class:`Run`, records the data it used, compares its measurements with
the paper's published values (kept in the library as :class:`Claim` objects beside their
source) and finishes by writing ``results/<chapter>.json`` atomically."""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from dlwild import __version__
from dlwild.core import config

VERDICTS = ("holds", "differs", "not comparable")
KINDS = ("value", "at_most", "at_least", "holds")
SCHEMA_VERSION = 1

#: Packages whose versions go into every provenance record (those installed).
PROVENANCE_PACKAGES = (
    "numpy", "scipy", "pandas", "scikit-learn", "torch", "matplotlib", "librosa", "scikit-image",
    "verovio", "music21", "foolbox", "papermill", "jupyter-book",
)


class ResultsError(ValueError):
    """A results record breaks the contract (missing field, bad verdict, NaN...)."""


@dataclass(frozen=True)
class Claim:
    """One published, testable statement of a paper, stored with its source.

    ``kind``: ``value`` (ours within ``tolerance`` of ``paper_value``), ``at_most`` /
    ``at_least`` (ours no worse than the paper's bound, within tolerance) or ``holds``
    (a relative claim such as "A beats B": ``paper_value`` is True, ours is a bool)."""

    id: str
    paper: str
    source: str
    metric: str
    paper_value: float | bool
    kind: Literal["value", "at_most", "at_least", "holds"] = "value"
    tolerance: float = 0.0
    statement: str = ""
    fmt: str = ".3f"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "holds" and not isinstance(self.paper_value, bool):
            raise ValueError(f"claim {self.id!r}: a 'holds' claim needs paper_value True/False")
        if self.tolerance < 0:
            raise ValueError(f"claim {self.id!r}: tolerance must be >= 0")


@dataclass(frozen=True)
class Measured:
    """Our side of one claim: the value, what it was measured on, and why it may not compare."""

    value: float | bool | None
    data: str
    scale: str
    not_comparable: str | None = None
    note: str = ""


def _finite(value: Any) -> bool:
    return isinstance(value, bool) or (
        isinstance(value, (int, float)) and math.isfinite(float(value))
    )


def verdict(claim: Claim, ours: Measured) -> tuple[str, str]:
    """The verdict (``holds`` / ``differs`` / ``not comparable``) and its reason."""
    if ours.not_comparable:
        return "not comparable", ours.not_comparable
    if ours.value is None or not _finite(ours.value):
        return "not comparable", ours.note or "no finite value was measured in this run"
    if claim.kind == "holds":
        if not isinstance(ours.value, bool):
            raise ValueError(f"claim {claim.id!r} is relative: pass True/False, got {ours.value!r}")
        same = ours.value == claim.paper_value
        found = "holds" if ours.value else "does not hold"
        return ("holds" if same else "differs"), f"the relation {found} in our run"
    value, paper, tol = float(ours.value), float(claim.paper_value), claim.tolerance
    gap = value - paper
    slack = tol + 1e-9 * max(1.0, abs(paper))  # float rounding must not flip a verdict
    if claim.kind == "value":
        ok = abs(gap) <= slack
        reason = f"|ours - paper| = {abs(gap):{claim.fmt}} {'<=' if ok else '>'} {tol:{claim.fmt}}"
    elif claim.kind == "at_most":
        ok = value <= paper + slack
        reason = f"ours {'<=' if ok else '>'} paper + {tol:{claim.fmt}} (lower is better)"
    else:
        ok = value >= paper - slack
        reason = f"ours {'>=' if ok else '<'} paper - {tol:{claim.fmt}} (higher is better)"
    return ("holds" if ok else "differs"), reason


#: Thousands separator in glued and tabled numbers: a narrow no-break space (SI style). A comma
#: would make myst-nb's ``{glue:text}`` read "221,706" as the tuple (221, 706).
THOUSANDS = "\u202f"


def _format(value: Any, fmt: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and fmt.endswith("d"):
        return format(value, fmt).replace(",", THOUSANDS)
    if isinstance(value, (int, float)):
        if not math.isfinite(float(value)):
            return "–"
        return format(float(value), fmt).replace(",", THOUSANDS)
    return str(value)


def compare(claims: Iterable[Claim], measured: Mapping[str, Measured]) -> list[dict[str, Any]]:
    """One row per claim: paper value, ours, data, scale, tolerance, verdict and reason.

    Every claim must be measured (or marked not comparable with a reason) and every
    measurement must belong to a claim, so nothing is dropped silently."""
    claims = list(claims)
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate claim ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    missing = [i for i in ids if i not in measured]
    unknown = [k for k in measured if k not in ids]
    if missing or unknown:
        raise KeyError(f"claims without a measurement: {missing}; "
                       f"measurements of no claim: {unknown}")
    rows = []
    for claim in claims:
        ours = measured[claim.id]
        word, reason = verdict(claim, ours)
        value = ours.value
        if value is not None and not isinstance(value, bool):
            value = float(value) if _finite(value) else None
        rows.append({
            "id": claim.id,
            "paper": claim.paper,
            "source": claim.source,
            "metric": claim.metric,
            "statement": claim.statement,
            "kind": claim.kind,
            "paper_value": claim.paper_value,
            "ours": value,
            "data": ours.data,
            "scale": ours.scale,
            "tolerance": claim.tolerance,
            "verdict": word,
            "note": reason if ours.note in ("", reason) else f"{reason}; {ours.note}",
            "fmt": claim.fmt,
        })
    return rows


def claims_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The paper-vs-ours table as shown on a page and in ``dlwild status``."""
    return pd.DataFrame([{
        "claim": r["statement"] or r["metric"],
        "paper": f"{r['paper']} ({r['source']})",
        "metric": r["metric"],
        "paper value": _format(r["paper_value"], r.get("fmt", ".3f")),
        "ours": _format(r["ours"], r.get("fmt", ".3f")),
        "data": r["data"],
        "scale": r["scale"],
        "tolerance": _format(r["tolerance"], r.get("fmt", ".3f")) if r["kind"] != "holds" else "–",
        "verdict": r["verdict"],
        "reason": r["note"],
    } for r in rows])


# --- rendering -------------------------------------------------------------------------

def claims_html(rows: list[dict[str, Any]], caption: str = "") -> str:
    """HTML of the paper-vs-ours table, narrow enough for a book page: the claim with its
    metric and source, the paper's value, ours with its data and scale, and the verdict
    with its reason."""
    body = []
    for r in rows:
        fmt = r.get("fmt", ".3f")
        esc = html.escape
        tolerance = ("" if r["kind"] == "holds" or r["tolerance"] is None
                     else f" ± {esc(_format(r['tolerance'], fmt))}")
        css = "verdict-" + str(r["verdict"]).replace(" ", "-")
        body.append(
            "<tr>"
            f'<td>{esc(r["statement"] or r["metric"])}<div class="dlwild-sub">'
            f'{esc(r["metric"])}<br>{esc(r["paper"])}, {esc(r["source"])}</div></td>'
            f'<td class="num">{esc(_format(r["paper_value"], fmt))}{tolerance}</td>'
            f'<td class="num">{esc(_format(r["ours"], fmt))}<div class="dlwild-sub">'
            f'{esc(r["data"])}; {esc(r["scale"])}</div></td>'
            f'<td><span class="verdict {css}">{esc(r["verdict"])}</span>'
            f'<div class="dlwild-sub">{esc(r["note"])}</div></td>'
            "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{c}</th>" for c in ("claim", "paper", "ours", "verdict"))
    return (f'<table class="dlwild-claims">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


BANNER_CLASS = "dlwild-banner"  # marks the banner, which the runner lifts to the page's top


def banner_html(reason: str) -> str:
    """The warning shown at the top of a page whose chapter ran on generated data."""
    return (
        f'<div class="admonition warning {BANNER_CLASS}"><p class="admonition-title">'
        "This page ran on generated data</p><p>" + html.escape(reason) + " The numbers below "
        "come from the chapter's generator, not from the real data set, and are not "
        "comparable with the paper's.</p></div>"
    )


def provenance_html(record: Mapping[str, Any], title: str = "Provenance of this run") -> str:
    """A collapsible box with the run's commit, parameters, data, packages and hardware."""
    prov = record["provenance"]
    rows = [
        ("chapter", record["chapter"]), ("scale", record["scale"]),
        ("data", record["data"]["source"]),
        ("data sets", ", ".join(
            f"{d['name']} ({d.get('source', '?')}, sha256 {str(d.get('sha256', ''))[:12]})"
            for d in record["data"]["datasets"]) or "none"),
        ("commit", prov["commit"]), ("dlwild", prov["dlwild_version"]),
        ("parameters", json.dumps(prov["params"], sort_keys=True)),
        ("seed", prov["seed"]), ("python", prov["python"]),
        ("packages", ", ".join(f"{k} {v}" for k, v in sorted(prov["packages"].items()))),
        ("hardware", ", ".join(f"{k}: {v}" for k, v in prov["hardware"].items())),
        ("started", prov["started"]), ("wall time", f"{prov['wall_s']:.1f} s"),
    ]
    if prov.get("training_s"):
        rows.append(("network training", f"{duration(prov['training_s'])} (the networks the "
                                         "results rest on, trained in this run or before it)"))
    table = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return (f'<details class="dlwild-provenance"><summary>{html.escape(title)}</summary>'
            f"<table>{table}</table></details>")


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


def hardware(device: Any = None) -> dict[str, Any]:
    """What the run ran on: platform, CPU count, memory, the torch device and torch's CPU
    thread count (float sums on CPU, and so the last digits of some results, depend on it)."""
    info: dict[str, Any] = {
        "platform": platform.platform(), "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gb"] = round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    if "torch" in sys.modules:
        info["torch_threads"] = sys.modules["torch"].get_num_threads()
    if device is not None:
        info["device"] = str(device)
        if str(device).startswith("cuda"):
            import torch

            info["gpu"] = torch.cuda.get_device_name(device)
    return info


# --- the run ---------------------------------------------------------------------------

@dataclass
class Run:
    """One execution of a chapter: validated parameters, seeds, device, data and results.

    ``Run(chapter, scale=..., seed=..., device=..., data=..., params={...})`` seeds
    everything and resolves the device; :meth:`use_data`, :meth:`compare` and
    :meth:`finish` fill and write ``results/<chapter>.json``."""

    chapter: str
    scale: str = "quick"
    seed: int = 0
    device: str = "auto"
    data: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)
    datasets: list[dict[str, Any]] = field(default_factory=list, init=False)
    rows: list[dict[str, Any]] = field(default_factory=list, init=False)
    synthetic_reasons: list[str] = field(default_factory=list, init=False)
    training_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        config.check_choice("scale", self.scale, config.SCALES)
        config.check_choice("data", self.data, config.DATA_MODES)
        config.seed_everything(self.seed)
        self.torch_device = config.select_device(self.device)
        self.started = _dt.datetime.now(_dt.UTC)
        self._t0 = time.perf_counter()

    # data ------------------------------------------------------------------
    def use_data(self, name: str, fetched: Any, *, generator: str = "") -> Any:
        """Record a data set the chapter uses: ``fetched`` from ``data.resolve`` (real) or
        None (the chapter's ``generator`` stands in; a banner says so, which the runner lifts to
        the top of the page)."""
        if fetched is not None:
            entry = {"source": "real", **fetched.record()}
            entry["name"] = name
        else:
            if not generator:
                raise ValueError(f"{name}: no real data and no generator named for the banner")
            why = ("The run asked for data='synthetic'" if self.data == "synthetic"
                   else f"The real data set '{name}' could not be reached (no cache, mirror "
                        "or network)")
            reason = f"{why}, so this run used {generator}."
            self.synthetic_reasons.append(reason)
            entry = {"name": name, "source": "synthetic", "generator": generator}
            _display_html(banner_html(reason))
        self.datasets.append(entry)
        return fetched

    def use_training(self, history: Any) -> None:
        """Record a trained network the results rest on (``core.train.History``), trained now
        or loaded from the artifact cache: its training time goes into the provenance, so a
        run that loads cached networks is not taken for a cheap one."""
        self.training_s += training_seconds(history)

    @property
    def data_source(self) -> str:
        """``real`` when every data set was real, else ``synthetic``."""
        if any(d["source"] == "synthetic" for d in self.datasets):
            return "synthetic"
        return "real"

    # claims ----------------------------------------------------------------
    def compare(self, claims: Iterable[Claim], measured: Mapping[str, Measured],
                *, show: bool = True) -> pd.DataFrame:
        """Compare with the paper, glue every value, show the table; returns it as a frame."""
        self.rows = compare(claims, measured)
        for row in self.rows:
            stem = f"{self.chapter}_{row['id']}"
            glue(f"{stem}_paper", _plain(row["paper_value"], row["fmt"]))
            glue(f"{stem}_ours", _plain(row["ours"], row["fmt"]))
            glue(f"{stem}_verdict", _plain(row["verdict"]))
        counts = {v: sum(r["verdict"] == v for r in self.rows) for v in VERDICTS}
        for word, n in counts.items():
            glue(f"{self.chapter}_n_{word.replace(' ', '_')}", _plain(n))
        if show:
            _display_html(claims_html(self.rows, f"Paper vs ours ({self.scale} scale)"))
        return claims_frame(self.rows)

    # finish ----------------------------------------------------------------
    def record(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """The results record of this run (see :func:`validate`)."""
        return {
            "schema": SCHEMA_VERSION,
            "chapter": self.chapter,
            "scale": self.scale,
            "data": {"source": self.data_source, "datasets": self.datasets},
            "provenance": {
                "commit": git_commit(),
                "dlwild_version": __version__,
                "params": {"scale": self.scale, "seed": self.seed, "device": self.device,
                           "data": self.data, **self.params},
                "seed": self.seed,
                "python": sys.version.split()[0],
                "packages": package_versions(),
                "hardware": hardware(self.torch_device),
                "started": self.started.isoformat(timespec="seconds"),
                "wall_s": round(time.perf_counter() - self._t0, 2),
                "run_id": os.environ.get("DLWILD_RUN_ID", ""),
                **({"training_s": round(self.training_s, 1)} if self.training_s else {}),
            },
            "claims": list(self.rows),
            "metrics": dict(metrics),
        }

    def finish(self, metrics: Mapping[str, Any] | None = None, *, show: bool = True) -> None:
        """Write ``results/<chapter>.json`` atomically, glue the wall time, show provenance.
        (Returns nothing, so a notebook's last cell shows no path; see :attr:`results_path`.)"""
        record = self.record(metrics or {})
        problems = validate(record)
        if problems:
            raise ResultsError(f"{self.chapter}: results break the contract: {problems}")
        config.atomic_write_text(self.results_path, dumps(record))
        glue(f"{self.chapter}_wall_s", _plain(record["provenance"]["wall_s"], ".0f"))
        if show:
            _display_html(provenance_html(record))

    @property
    def results_path(self) -> Path:
        """Where :meth:`finish` writes this chapter's results."""
        return config.results_dir() / f"{self.chapter}.json"

    def show_record(self, records_dir: Path | None = None) -> dict[str, Any] | None:
        """Show the committed full-scale record of this chapter beside the live run."""
        record = load_record(self.chapter, records_dir)
        if record is None:
            _display_html('<p class="dlwild-no-record">No full-scale record of this chapter is '
                          "committed yet (<code>book/records/" + html.escape(self.chapter)
                          + ".full.json</code>).</p>")
            return None
        when = record["provenance"]["started"]
        _display_html(claims_html(record["claims"], f"Committed full-scale record ({when})")
                      + provenance_html(record, "Provenance of the full-scale record"))
        return record


def _display_html(markup: str) -> None:
    """Show HTML in a notebook; print it elsewhere (scripts, tests)."""
    from IPython import get_ipython
    from IPython.display import HTML, display

    if get_ipython() is None:
        print(markup)
    else:
        display(HTML(markup))


class _Plain:
    """A value glued as plain text (no quotes around strings) in the chosen format."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _plain(value: Any, fmt: str = "") -> _Plain:
    if isinstance(value, bool) or value is None:
        return _Plain(_format(value, fmt or ".3f"))
    if isinstance(value, (int, float)) and fmt:
        return _Plain(_format(value, fmt))
    return _Plain(str(value))


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


def glue(name: str, value: Any) -> None:
    """Glue a value for ``{glue:text}`name``` in prose; outside a kernel this is a no-op."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    if get_ipython() is None:
        return
    from myst_nb import glue as _glue

    _glue(name, value, display=False)


def glue_value(name: str, value: Any, fmt: str = "") -> None:
    """Glue a computed number or text for prose (``{glue:text}`name```), in format ``fmt``."""
    glue(name, _plain(value, fmt))


# --- the contract ----------------------------------------------------------------------

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


def status_rows(results: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Book-wide reproduction table: one row per claim of every record given."""
    rows = []
    for record in results:
        for claim in record["claims"]:
            rows.append({
                "chapter": record["chapter"], "run": record["scale"],
                "data": record["data"]["source"],
                "claim": claim.get("statement") or claim["metric"],
                "paper": _format(claim["paper_value"], claim.get("fmt", ".3f")),
                "ours": _format(claim["ours"], claim.get("fmt", ".3f")),
                "verdict": claim["verdict"],
                "reason": claim["note"],
            })
    columns = ["chapter", "run", "data", "claim", "paper", "ours", "verdict", "reason"]
    return pd.DataFrame(rows, columns=columns)


__all__ = [
    "Claim", "Measured", "Run", "ResultsError", "VERDICTS", "compare", "verdict", "validate",
    "load_results", "load_record", "status_rows", "glue_value", "claims_html", "banner_html",
    "provenance_html", "dumps",
]

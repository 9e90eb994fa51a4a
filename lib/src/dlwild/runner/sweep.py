"""A chapter over several seeds (``dlwild sweep``): one Papermill execution per seed, each a
task of a Dask cluster (an embedded ``LocalCluster`` by default, a running scheduler, or
SLURM through dask-jobqueue), then one aggregated record: per claim the per-seed values,
their mean and standard deviation, and a verdict that uses the spread.

A seed's record is kept under ``_build/sweeps/<chapter>/<scale>/`` once its run finished
(keyed by the chapter's run key), so the same command after an interruption runs only the
missing seeds. Networks are shared through the artifact cache as in any run."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlwild.core import config, results, tasks
from dlwild.runner.freshness import run_key
from dlwild.runner.parameters import chapter_declaration
from dlwild.runner.project import ChapterError, Project

SWEEP_FORMAT = 1
#: What a SLURM configuration file must give (YAML; see the README, "More than one machine").
SLURM_FIELDS = ("partition", "cores", "memory", "walltime", "gpus_per_job")


class SweepError(ValueError):
    """A sweep that cannot start (bad seeds, cluster or configuration) or whose seeds
    failed; raised before any work where it can be."""


# --- clusters ------------------------------------------------------------------------------

def slurm_config(path: Path) -> dict[str, Any]:
    """The SLURM configuration file (YAML) with every field of :data:`SLURM_FIELDS`."""
    import yaml

    if not Path(path).is_file():
        raise SweepError(f"SLURM configuration {path} does not exist (fields: "
                         f"{', '.join(SLURM_FIELDS)})")
    values = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    missing = [f for f in SLURM_FIELDS if f not in values]
    if missing:
        raise SweepError(f"SLURM configuration {path} lacks {', '.join(missing)} (it needs "
                         f"{', '.join(SLURM_FIELDS)})")
    return values


def slurm_cluster(values: Mapping[str, Any]) -> Any:
    """A ``dask_jobqueue.SLURMCluster`` for one seed per job (its ``job_script()`` is the
    sbatch script it would submit)."""
    from dask_jobqueue import SLURMCluster

    extra = [f"--gres=gpu:{values['gpus_per_job']}"] if values["gpus_per_job"] else []
    return SLURMCluster(queue=values["partition"], cores=int(values["cores"]),
                        memory=str(values["memory"]), walltime=str(values["walltime"]),
                        processes=1, job_extra_directives=extra)


def connect(cluster: str, workers: int, slurm_file: Path | None = None) -> Any:
    """A Dask client: ``"local"`` (an embedded LocalCluster of ``workers`` processes, one
    thread each), ``"tcp://host:port"`` (a running scheduler), or ``"slurm"`` (jobs from the
    configuration ``slurm_file``, scaled to ``workers``). Unreachable addresses fail here."""
    from dask.distributed import Client

    if cluster == "local":
        return Client(tasks.local_cluster(workers))
    if cluster.startswith("tcp://"):
        try:
            return Client(cluster, timeout="10s")
        except OSError as exc:
            raise SweepError(f"no Dask scheduler answers at {cluster}: {exc}") from exc
    if cluster == "slurm":
        if slurm_file is None:
            raise SweepError("--cluster slurm needs --slurm-config <file.yaml>")
        made = slurm_cluster(slurm_config(slurm_file))
        made.scale(jobs=workers)
        return Client(made)
    raise SweepError(f"--cluster must be 'local', 'tcp://host:port' or 'slurm', got "
                     f"{cluster!r}")


# --- one seed ------------------------------------------------------------------------------

def seed_folder(project: Project, chapter: str, scale: str) -> Path:
    """Where a sweep keeps its seeds' records."""
    return project.build / "sweeps" / chapter / scale


def run_seed(root: str, chapter: str, params: Mapping[str, Any],
             at_once: int = 1) -> dict[str, Any]:
    """Execute ``chapter`` once with ``params`` (their seed among them) and keep its record:
    a Dask task (importable, plain arguments), at most ``at_once`` of them executing their
    notebooks at a time. A failing run raises ChapterError."""
    from dlwild.runner.execution import Outcome, execute, sharing_cores

    project = Project.find(Path(root))
    declared, notebook = chapter_declaration(project.source(chapter), chapter)
    params = declared.validate(dict(params))
    folder = seed_folder(project, chapter, params["scale"])
    stage = project.staging / f"{chapter}-seed{params['seed']}"
    with _notebook_on_this_cluster(f"dlwild-sweep-{chapter}", at_once) as env:
        done = execute(project, chapter, notebook, params, stage, log=lambda *_: None,
                       env={**env, **sharing_cores()})  # the workers train meanwhile
    if isinstance(done, Outcome):
        raise ChapterError(done.message)
    record = done[0]
    record["provenance"]["run_key"] = run_key(project, chapter, params)
    folder.mkdir(parents=True, exist_ok=True)
    config.atomic_write_text(folder / f"seed{params['seed']}.json", results.dumps(record))
    return record


@contextmanager
def _notebook_on_this_cluster(name: str, at_once: int) -> Iterator[dict[str, str]]:
    """Inside a seed's task: the notebook's extra environment, this cluster's scheduler
    (``DLWILD_SCHEDULER``, :mod:`dlwild.core.tasks`), so that its networks train as tasks of
    the same workers; meanwhile the worker's slot is left to them (Dask's secede / rejoin:
    seeds waiting on their networks never hold every worker), and the semaphore ``name``
    lets ``at_once`` notebooks run at a time (waited for after seceding: waiting holds no
    slot). Outside a task (a seed run by hand) nothing changes."""
    from distributed import Semaphore, get_worker, rejoin, secede

    try:
        address = get_worker().scheduler.address
    except ValueError:
        yield {}
        return
    secede()
    try:
        with Semaphore(max_leases=at_once, name=name):
            yield {tasks.SCHEDULER_ENV: address}
    finally:
        rejoin()


def finished(project: Project, chapter: str, params: Mapping[str, Any]) -> dict | None:
    """The kept record of this seed when its run key still matches (same code, notebook,
    parameters and data), else None."""
    path = seed_folder(project, chapter, params["scale"]) / f"seed{params['seed']}.json"
    if not path.exists():
        return None
    try:
        record = results.load_results(path)
    except results.ResultsError:
        return None
    same = record["provenance"].get("run_key") == run_key(project, chapter, params)
    return record if same else None


# --- the sweep -----------------------------------------------------------------------------

@dataclass
class Sweep:
    """The seeds asked for, those that were already done, and the aggregated record."""

    seeds: list[int]
    reused: list[int]
    record: dict[str, Any]


def sweep_workers(given: int | None, cluster: str, seeds: int) -> int:
    """How many workers a sweep asks for: ``given``, else the machine's cores for the
    embedded cluster (sized to the machine) and one per seed on SLURM or a scheduler."""
    if given is not None:
        return given
    import os

    return (os.cpu_count() or 1) if cluster == "local" else max(1, seeds)


def sweep(project: Project, chapter: str, seeds: int, given: Mapping[str, Any] | None = None,
          *, cluster: str = "local", workers: int = 2, slurm_file: Path | None = None,
          first_seed: int = 0, log=print) -> Sweep:
    """Run ``chapter`` for seeds ``first_seed .. first_seed + seeds - 1`` (those not already
    done) as tasks of ``cluster``, then aggregate every seed's record (:func:`aggregate`)
    and write it to ``results/<chapter>.sweep.json``."""
    if not isinstance(seeds, int) or seeds < 1:
        raise SweepError(f"--seeds must be a whole number of at least 1, got {seeds!r}")
    if not isinstance(workers, int) or workers < 1:
        raise SweepError(f"--workers must be a whole number of at least 1, got {workers!r}")
    declared, _ = chapter_declaration(project.source(chapter), chapter)
    given = {k: v for k, v in (given or {}).items() if k != "seed"}
    wanted = list(range(first_seed, first_seed + seeds))
    params = {s: declared.validate({**given, "seed": s}) for s in wanted}
    records = {s: finished(project, chapter, params[s]) for s in wanted}
    reused = [s for s in wanted if records[s] is not None]
    missing = [s for s in wanted if records[s] is None]
    if reused:
        log(f"[dlwild] sweep {chapter}: seeds {reused} already done, kept")
    if missing:
        client = connect(cluster, min(workers, len(missing)), slurm_file)
        try:
            from dask.distributed import as_completed

            at_once = min(workers, len(missing))
            futures = {client.submit(run_seed, str(project.root), chapter, params[s], at_once,
                                     key=f"{chapter}-seed{s}", pure=False): s for s in missing}
            errors = []
            for done, future in enumerate(as_completed(futures), start=1):
                s = futures[future]
                try:
                    records[s] = future.result()
                    log(f"[dlwild] sweep {chapter}: seed {s} done ({done}/{len(missing)})")
                except ChapterError as exc:
                    errors.append(f"seed {s}: {exc}")
                    log(f"[dlwild] sweep {chapter}: seed {s} FAILED ({done}/{len(missing)})")
        finally:
            client.close()
            if getattr(client, "cluster", None) is not None:
                client.cluster.close()
        if errors:
            raise SweepError("; ".join(errors) + " (rerun the same command: the seeds that "
                             "finished are kept)")
    record = aggregate(chapter, [records[s] for s in wanted])
    path = project.results / f"{chapter}.sweep.json"
    config.atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    log(f"[dlwild] sweep {chapter}: {len(wanted)} seeds aggregated in {path}")
    return Sweep(wanted, reused, record)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def aggregate(chapter: str, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One record for several seeds: per claim the seeds' values and verdicts, the mean and
    sample standard deviation of the numeric values, and the sweep's verdict with its reason
    (:func:`sweep_verdict`)."""
    if not records:
        raise SweepError("nothing to aggregate: no seed finished")
    scales = {r["scale"] for r in records}
    if len(scales) != 1 or any(r["chapter"] != chapter for r in records):
        raise SweepError(f"the records to aggregate must be of {chapter!r} at one scale, got "
                         f"{sorted(scales)}")
    seeds = [r["provenance"].get("seed") for r in records]
    claims = []
    for first in records[0]["claims"]:
        rows = [next((c for c in r["claims"] if c["id"] == first["id"]), None) for r in records]
        present = [c for c in rows if c is not None]
        numbers = [v for c in present if (v := _number(c["ours"])) is not None]
        claim = {
            **{k: first[k] for k in ("id", "paper", "source", "metric", "statement", "kind",
                                     "paper_value", "tolerance", "fmt") if k in first},
            "values": [c["ours"] for c in present], "verdicts": [c["verdict"] for c in present],
            "mean": statistics.fmean(numbers) if numbers else None,
            "std": statistics.stdev(numbers) if len(numbers) > 1 else None,
            "holds_in": sum(c["verdict"] == "holds" for c in present), "seeds": len(records)}
        claim["verdict"], claim["reason"] = sweep_verdict(claim)
        claims.append(claim)
    return {"format": SWEEP_FORMAT, "chapter": chapter, "scale": scales.pop(), "seeds": seeds,
            "claims": claims, "metrics": _metric_spread([r.get("metrics", {}) for r in records])}


def sweep_verdict(claim: Mapping[str, Any]) -> tuple[str, str]:
    """The verdict of one claim over the seeds, and why. A relation (and any claim measured
    in one seed) holds in k of N seeds: "holds" when all, "differs" when none, else "mixed".
    A value (or bound) is judged by its interval mean ± one standard deviation against the
    paper's tolerance band (paper ± tolerance; a bound's side for at_most / at_least): inside
    it "holds", outside "differs", across its edge "mixed". A claim that some seed could
    not compare stays "not comparable"."""
    verdicts, seeds, held = claim["verdicts"], claim["seeds"], claim["holds_in"]
    counted = f"holds in {held} of {seeds} seeds"
    if "not comparable" in verdicts:
        return "not comparable", (f"not comparable in {verdicts.count('not comparable')} of "
                                  f"{seeds} seeds")
    paper, std = _number(claim.get("paper_value")), claim["std"]
    if claim.get("kind") in ("value", "at_most", "at_least") and paper is not None \
            and std is not None and len(verdicts) == seeds:
        tol, fmt = float(claim.get("tolerance") or 0.0), claim.get("fmt", ".3f")
        low, high = claim["mean"] - std, claim["mean"] + std
        band_low = -math.inf if claim["kind"] == "at_most" else paper - tol
        band_high = math.inf if claim["kind"] == "at_least" else paper + tol
        slack = 1e-9 * max(1.0, abs(paper))
        if band_low - slack <= low and high <= band_high + slack:
            verdict, where = "holds", "inside"
        elif high < band_low - slack or low > band_high + slack:
            verdict, where = "differs", "outside"
        else:
            verdict, where = "mixed", "across the edge of"
        band = {"at_most": f"at most {band_high:{fmt}}", "at_least": f"at least {band_low:{fmt}}",
                "value": f"{band_low:{fmt}} .. {band_high:{fmt}}"}[claim["kind"]]
        return verdict, (f"mean ± std = {low:{fmt}} .. {high:{fmt}}, {where} the paper's band "
                         f"({band}); {counted}")
    if held == seeds:
        return "holds", counted
    return ("mixed" if held else "differs"), counted


def _numbers(tree: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric leaves of nested mappings by slash-joined path (lists, such as training
    histories, and booleans left out)."""
    out: dict[str, float] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_numbers(value, path + "/"))
        elif (number := _number(value)) is not None:
            out[path] = number
    return out


def _metric_spread(metrics: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per numeric metric that every seed reports: its values, mean and standard deviation
    (for error bars on the chapters' figures)."""
    flat = [_numbers(m) for m in metrics]
    common = set(flat[0]).intersection(*flat[1:]) if flat else set()
    return {path: {"values": [f[path] for f in flat],
                   "mean": statistics.fmean(f[path] for f in flat),
                   "std": statistics.stdev(f[path] for f in flat) if len(flat) > 1 else None}
            for path in sorted(common)}


def save_sweep(project: Project, chapter: str) -> Path:
    """Commit-ready copy of a chapter's last sweep: ``results/<chapter>.sweep.json`` to
    ``book/records/<chapter>.sweep.json``."""
    source = project.results / f"{chapter}.sweep.json"
    if not source.exists():
        raise ChapterError(f"{source} does not exist: run `dlwild sweep {chapter} --seeds N` "
                           "first")
    record = json.loads(source.read_text(encoding="utf-8"))
    if record.get("chapter") != chapter or record.get("format") != SWEEP_FORMAT:
        raise ChapterError(f"{source} is not a sweep of chapter {chapter!r}")
    target = project.records / f"{chapter}.sweep.json"
    config.atomic_write_bytes(target, source.read_bytes())
    return target

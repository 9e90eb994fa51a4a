"""The book machine: run chapters with Papermill, publish only real runs, build the book.

A chapter is a MyST-Markdown notebook ``notebooks/<name>.md`` listed in ``_toc.yml``.
Jupytext converts it (one way) to ``.ipynb``; Papermill executes it in a staging folder
with the run's parameters; only a notebook whose every code cell ran and whose results
record was written by this very run is moved to ``notebooks/<name>.ipynb`` (the page)
and ``results/<name>.json``. A failing chapter leaves the last good page and results."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dlwild.core import config, report

# The longest one cell may run before the chapter fails as hung: a quick chapter runs in
# minutes; a full one trains a network in one cell for many hours on a CPU (and resumes
# from its checkpoints when rerun), so it has no limit.
CELL_TIMEOUT_S: dict[str, int | None] = {"quick": 3600, "full": None}
BOOK_BUILD_ARGS = ("-W", "-n", "--keep-going")


class ChapterError(RuntimeError):
    """A chapter could not be run or published; the message says which and why."""


@dataclass(frozen=True)
class Project:
    """The book's folders, found from its root (the folder holding ``_toc.yml``)."""

    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        """The project containing ``start`` (default: the current folder)."""
        root = config.project_root(start)
        if root is None:
            raise ChapterError(
                f"no book found: neither {Path(start or Path.cwd()).resolve()} nor a parent "
                "holds _toc.yml (run dlwild from the book's checkout, or pass --root)"
            )
        return cls(root)

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def records(self) -> Path:
        return self.root / "book" / "records"

    @property
    def build(self) -> Path:
        return self.root / "_build"

    @property
    def staging(self) -> Path:
        return self.build / "staging"

    @property
    def html(self) -> Path:
        return self.build / "html"

    def chapters(self) -> list[str]:
        """Chapter names, in book order: the ``_toc.yml`` entries under ``notebooks/``."""
        try:
            toc = yaml.safe_load((self.root / "_toc.yml").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ChapterError(f"cannot read {self.root / '_toc.yml'}: {exc}") from exc
        names: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                target = node.get("file")
                if isinstance(target, str) and target.startswith("notebooks/"):
                    names.append(Path(target).stem)
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(toc)
        return names

    def source(self, chapter: str) -> Path:
        """The MyST notebook of ``chapter``; unknown chapters are an error listing the known."""
        known = self.chapters()
        if chapter not in known:
            listing = ", ".join(known) if known else "none yet"
            raise ChapterError(f"unknown chapter {chapter!r}; the book's chapters: {listing}")
        path = self.notebooks / f"{chapter}.md"
        if not path.is_file():
            raise ChapterError(f"chapter {chapter!r} is in _toc.yml but {path} does not exist")
        return path


@dataclass
class Outcome:
    """What happened to one chapter in a run of the book machine."""

    chapter: str
    status: str  # "ran" | "skipped" | "failed"
    wall_s: float = 0.0
    message: str = ""
    results: Path | None = None


@dataclass
class Request:
    """A chapter run as the user asked for it (before defaults from the notebook)."""

    scale: str = "quick"
    seed: int = 0
    device: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)

    def parameters(self) -> dict[str, Any]:
        config.check_choice("scale", self.scale, config.SCALES)
        config.select_device(self.device)  # refuses 'cuda' without a GPU before any kernel starts
        if not isinstance(self.seed, int) or self.seed < 0:
            raise config.ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        return {**self.params, "scale": self.scale, "seed": self.seed, "device": self.device}


# --- notebooks -------------------------------------------------------------------------

def read_notebook(path: Path):
    """Read a MyST notebook with Jupytext; an unreadable one is an error naming the file."""
    import jupytext

    try:
        notebook = jupytext.read(path)
    except Exception as exc:  # jupytext raises many types for a broken file
        raise ChapterError(f"cannot read notebook {path}: {exc}") from exc
    if not notebook.metadata.get("kernelspec"):
        raise ChapterError(f"notebook {path} has no kernelspec in its header (Papermill needs "
                           "one: add `kernelspec: {name: python3, ...}` to the jupytext header)")
    return notebook


def notebook_parameters(notebook) -> dict[str, Any]:
    """Names and default values of the cell tagged ``parameters`` (literal assignments)."""
    import ast

    cells = [c for c in notebook.cells
             if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ChapterError("a chapter needs exactly one cell tagged 'parameters', "
                           f"found {len(cells)}")
    defaults: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            try:
                defaults[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError as exc:
                raise ChapterError(f"parameter {node.targets[0].id} is not a literal") from exc
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            defaults[node.target.id] = ast.literal_eval(node.value) if node.value else None
    return defaults


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is read as YAML (numbers, lists, None)."""
    if "=" not in text:
        raise config.ConfigError(f"parameter {text!r} is not of the form key=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key.isidentifier():
        raise config.ConfigError(f"parameter name {key!r} is not a valid identifier")
    if raw.strip() in {"None", "none", "null"}:
        return key, None
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    return key, value


def check_parameters(chapter: str, defaults: dict[str, Any], given: dict[str, Any]) -> dict:
    """Merge ``given`` into the notebook defaults; unknown names and wrong types are errors."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise config.ConfigError(
            f"chapter {chapter!r} has no parameter {', '.join(unknown)}; "
            f"its parameters: {', '.join(sorted(defaults))}")
    for key, value in given.items():
        default = defaults[key]
        if default is None or value is None:
            continue
        if isinstance(default, bool) != isinstance(value, bool) or (
                isinstance(default, (int, float)) and not isinstance(value, (int, float))) or (
                isinstance(default, str) and not isinstance(value, str)):
            raise config.ConfigError(
                f"chapter {chapter!r}: parameter {key}={value!r} should be a "
                f"{type(default).__name__} like its default {default!r}")
    for key, choices in (("scale", config.SCALES), ("data", config.DATA_MODES),
                         ("device", config.DEVICES)):
        if key in given:
            config.check_choice(key, given[key], choices)
    return {**defaults, **given}


def check_really_ran(notebook, path: Path) -> None:
    """Refuse a page unless every code cell executed and none holds an error."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if cell.get("execution_count") is None:
            raise ChapterError(f"{path}: code cell {index} did not run; page not published")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                raise ChapterError(f"{path}: code cell {index} raised "
                                   f"{output.get('ename')}; page not published")


def show_injected_parameters(notebook):
    """Hide the source's default parameters when Papermill injected the values in effect,
    so the page shows each parameter once, as it was run."""
    tags = [set(c.metadata.get("tags", [])) for c in notebook.cells]
    if any("injected-parameters" in t for t in tags):
        for cell, cell_tags in zip(notebook.cells, tags, strict=True):
            if "parameters" in cell_tags:
                cell.metadata["tags"] = sorted(cell_tags | {"remove-cell"})
    return notebook


def _is_banner(output) -> bool:
    return report.BANNER_CLASS in str(output.get("data", {}).get("text/html", ""))


def banner_on_top(notebook):
    """Lift the generated-data banner a cell displayed (``Run.use_data``) to the top of the
    page, right under the title, so a reader sees it before any number."""
    import nbformat

    banners = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            banners += [o for o in cell.get("outputs", []) if _is_banner(o)]
            cell["outputs"] = [o for o in cell.get("outputs", []) if not _is_banner(o)]
    if not banners:
        return notebook
    at = 0
    first = notebook.cells[0] if notebook.cells else None
    if first is not None and first.cell_type == "markdown" and first.source.startswith("# "):
        title, _, rest = first.source.partition("\n")
        first.source = title
        at = 1
        if rest.strip():
            notebook.cells.insert(1, nbformat.v4.new_markdown_cell(rest.strip("\n")))
    shown = dict.fromkeys(str(o["data"]["text/html"]).strip() for o in banners)
    notebook.cells.insert(at, nbformat.v4.new_markdown_cell("\n\n".join(shown)))
    return notebook


# --- skipping --------------------------------------------------------------------------

def _sha256(*chunks: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(hashlib.sha256(chunk).digest())
    return digest.hexdigest()


def library_hash() -> str:
    """Hash of the installed dlwild source: a library change reruns every chapter."""
    package = Path(__file__).resolve().parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and p.suffix in {".py", ".tsv"})
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
    parts = {
        "notebook": hashlib.sha256(project.source(chapter).read_bytes()).hexdigest(),
        "record": hashlib.sha256(record.read_bytes()).hexdigest() if record.exists() else None,
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
    results = project.results / f"{chapter}.json"
    if not (page.exists() and results.exists()):
        return False
    try:
        record = report.load_results(results)
    except report.ResultsError:
        return False
    return record["provenance"].get("run_key") == key


# --- running ---------------------------------------------------------------------------

def _failing_cell(exc: Exception, notebook_path: Path) -> str:
    """'cell N (first line)' of the cell that failed, from Papermill's output notebook."""
    import nbformat

    try:
        nb = nbformat.read(notebook_path, as_version=4)
    except Exception:  # noqa: BLE001 - the report must not fail
        return "an unknown cell"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(o.get("output_type") == "error"
                                            for o in cell.get("outputs", [])):
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            return f"code cell {index} ({first.strip()[:80]!r})"
    return "an unknown cell"


class ChapterEcho:
    """A text stream that passes each line a chapter's cells print (its progress bars,
    warnings) to ``log`` as ``[chapter] line`` while the chapter runs: a full-scale run of
    hours is followed in the terminal, not only read on its page afterwards."""

    def __init__(self, chapter: str, log=print) -> None:
        self.prefix, self.log, self.pending = f"[{chapter}] ", log, ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text.replace("\r", "\n")).split("\n")
        for line in lines:
            if line.strip():
                self.log(self.prefix + line.rstrip())
        return len(text)

    def flush(self) -> None:
        """Lines are passed on as they complete; a partial line waits for its end."""

    def close(self) -> None:
        """Pass on the last line, if the chapter printed one without a newline."""
        if self.pending.strip():
            self.log(self.prefix + self.pending.rstrip())
        self.pending = ""


def kernel_transport(sockets: Path):
    """The kernel's connection: Unix sockets in the private folder ``sockets`` where the OS
    has them (over TCP, even on loopback, ipykernel warns on every run that its traffic is
    unencrypted); TCP on Windows."""
    from traitlets.config import Config

    if os.name != "posix":
        return Config()
    return Config({"KernelManager": {"transport": "ipc", "ip": str(sockets / "kernel")}})


def run_chapter(project: Project, chapter: str, request: Request | None = None, *,
                force: bool = False, log=print, echo: bool = False) -> Outcome:
    """Run one chapter with Papermill unless its page is fresh; publish only a real run.
    ``echo`` passes the lines its cells print to ``log`` as they come (see ChapterEcho)."""
    import jupytext
    import nbformat
    import papermill

    request = request or Request()
    source = project.source(chapter)
    notebook = read_notebook(source)
    params = check_parameters(chapter, notebook_parameters(notebook), request.parameters())
    key = run_key(project, chapter, params)
    if not force and is_fresh(project, chapter, key):
        log(f"[dlwild] {chapter}: up to date, skipped")
        return Outcome(chapter, "skipped", results=project.results / f"{chapter}.json")

    stage = project.staging / chapter
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    unexecuted, executed = stage / f"{chapter}.input.ipynb", stage / f"{chapter}.ipynb"
    jupytext.write(notebook, unexecuted, fmt="ipynb")
    run_id = uuid.uuid4().hex
    env = {"DLWILD_RESULTS_DIR": str(stage), "DLWILD_RUN_ID": run_id,
           "DLWILD_PROGRESS": "plain", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    log(f"[dlwild] {chapter}: running at {params['scale']} scale ...")
    started = time.perf_counter()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    stream = ChapterEcho(chapter, log) if echo else None
    sockets = tempfile.TemporaryDirectory(prefix="dlwild-kernel-")
    try:
        papermill.execute_notebook(
            str(unexecuted), str(executed), parameters=params, kernel_name="python3",
            cwd=str(project.notebooks), progress_bar=False, request_save_on_cell_execute=False,
            execution_timeout=CELL_TIMEOUT_S[params["scale"]], stdout_file=stream,
            stderr_file=stream,
            config=kernel_transport(Path(sockets.name)),
        )
    except papermill.PapermillExecutionError as exc:
        failed = project.build / "failed" / f"{chapter}.ipynb"
        failed.parent.mkdir(parents=True, exist_ok=True)
        if executed.exists():
            shutil.copy2(executed, failed)
        where = _failing_cell(exc, executed) if executed.exists() else f"cell {exc.cell_index}"
        message = (f"chapter {chapter!r} failed in {where}: {exc.ename}: {exc.evalue}\n"
                   f"  the executed notebook is kept at {failed}; the last good page and "
                   "results are unchanged")
        return Outcome(chapter, "failed", time.perf_counter() - started, message)
    except Exception as exc:  # kernel died, timeout, ...
        message = (f"chapter {chapter!r} could not be executed: {type(exc).__name__}: {exc}; "
                   "the last good page and results are unchanged")
        return Outcome(chapter, "failed", time.perf_counter() - started, message)
    finally:
        sockets.cleanup()
        if stream is not None:
            stream.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    wall = time.perf_counter() - started

    try:
        check_really_ran(nbformat.read(executed, as_version=4), executed)
        staged = stage / f"{chapter}.json"
        if not staged.exists():
            raise ChapterError(f"chapter {chapter!r} ran but wrote no results "
                               f"(it must end with run.finish()); page not published")
        record = report.load_results(staged)
        if record["provenance"].get("run_id") != run_id or record["chapter"] != chapter:
            raise ChapterError(f"chapter {chapter!r}: the results file was not written by "
                               "this run; page not published")
    except (ChapterError, report.ResultsError) as exc:
        return Outcome(chapter, "failed", wall, str(exc))

    record["provenance"]["run_key"] = key
    results = project.results / f"{chapter}.json"
    config.atomic_write_text(results, report.dumps(record))
    page = project.notebooks / f"{chapter}.ipynb"
    config.atomic_write_text(page, nbformat.writes(banner_on_top(show_injected_parameters(
        nbformat.read(executed, as_version=4)))))
    shutil.rmtree(stage, ignore_errors=True)
    log(f"[dlwild] {chapter}: done in {wall:.1f} s")
    return Outcome(chapter, "ran", wall, results=results)


# --- the book --------------------------------------------------------------------------

def load_all_results(project: Project) -> list[dict[str, Any]]:
    """Live results of every chapter that has them, then committed full-scale records."""
    found = []
    for chapter in project.chapters():
        path = project.results / f"{chapter}.json"
        if path.exists():
            found.append(report.load_results(path))
    for chapter in project.chapters():
        record = report.load_record(chapter, project.records)
        if record is not None:
            found.append(record)
    return found


@dataclass
class Recorded:
    """A full-scale record written by :func:`save_record`: where, from which commit, and the
    chapter's training-code files changed since that commit (None: git could not tell)."""

    path: Path
    commit: str
    changed_training_code: list[str] | None


def training_code_files(chapter: str) -> list[Path]:
    """The source files of ``dlwild.<chapter>.pipeline.TRAINING_CODE`` (what its trained
    networks depend on); none for a chapter without one."""
    import importlib
    import importlib.util

    try:
        pipeline = importlib.import_module(f"dlwild.{chapter}.pipeline")
    except ModuleNotFoundError:
        return []
    specs = (importlib.util.find_spec(name) for name in getattr(pipeline, "TRAINING_CODE", ()))
    return [Path(spec.origin) for spec in specs if spec is not None and spec.origin]


def changed_since(root: Path, commit: str, files: list[Path]) -> list[str] | None:
    """Which of ``files`` differ between ``commit`` and the working tree (paths relative to
    ``root``); None when git cannot compare (no git, not a checkout, unknown commit)."""
    commit = commit.removesuffix("+dirty")
    try:
        names = [str(f.resolve().relative_to(root.resolve())) for f in files]
        done = subprocess.run(["git", "diff", "--name-only", commit, "--", *names], cwd=root,
                              capture_output=True, text=True, timeout=60)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    return done.stdout.split() if done.returncode == 0 else None


def save_record(project: Project, chapter: str) -> Recorded:
    """Commit-ready copy of a chapter's live full-scale results: ``results/<chapter>.json`` to
    ``book/records/<chapter>.full.json``, checked against the results contract; a quick run,
    a broken file or a run that is not the chapter's is refused (ChapterError)."""
    if chapter not in project.chapters():
        raise ChapterError(f"unknown chapter {chapter!r}; chapters: "
                           f"{', '.join(project.chapters())}")
    source = project.results / f"{chapter}.json"
    if not source.exists():
        raise ChapterError(f"{source} does not exist: run `dlwild run {chapter} --scale full` "
                           "first")
    try:
        record = report.load_results(source)
    except report.ResultsError as exc:
        raise ChapterError(str(exc)) from exc
    if record["chapter"] != chapter:
        raise ChapterError(f"{source} holds results of chapter {record['chapter']!r}")
    if record["scale"] != "full":
        raise ChapterError(f"{source} comes from a {record['scale']} run; a full-scale record "
                           f"needs `dlwild run {chapter} --scale full`")
    target = project.records / f"{chapter}.full.json"
    config.atomic_write_bytes(target, source.read_bytes())
    commit = record["provenance"]["commit"]
    return Recorded(target, commit, changed_since(project.root, commit,
                                                  training_code_files(chapter)))


def _short_commit(commit: str) -> str:
    """The first 12 hex digits of a commit (and its ``+dirty`` mark); other text unchanged."""
    match = re.fullmatch(r"([0-9a-f]{12})[0-9a-f]*(\+dirty)?", commit)
    return match.group(1) + (match.group(2) or "") if match else commit


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def status_markdown(project: Project) -> str:
    """The body of the reproduction-status page, built from every results record."""
    records = load_all_results(project)
    if not records:
        return ("No chapter has been run yet: `make book` (or `dlwild run CHAPTER`) writes "
                "the results this page is built from.\n")
    table = report.status_rows(records)
    counts = table["verdict"].value_counts()
    lines = [
        f"{len(table)} claims from {len({r['chapter'] for r in records})} chapter(s): "
        + ", ".join(f"**{counts.get(v, 0)}** {v}" for v in report.VERDICTS) + ".",
        "",
        "| chapter | claim | paper | ours | verdict |",
        "|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        # five columns fit a book page: run and data under the chapter, the reason under
        # the verdict
        link = f"[{row.chapter}](../notebooks/{row.chapter}.ipynb)"
        cells = [f"{link}<br>{row.run} · {row.data}", row.claim, row.paper, row.ours,
                 f'<span class="verdict verdict-{row.verdict.replace(" ", "-")}">'
                 f'{row.verdict}</span><br><span class="dlwild-sub">'
                 f"{html.escape(str(row.reason))}</span>"]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    lines += ["", "Runs:", ""]
    for record in records:
        prov = record["provenance"]
        lines.append(f"- **{record['chapter']}** ({record['scale']}, {record['data']['source']} "
                     f"data): commit `{_short_commit(prov['commit'])}`, started {prov['started']}, "
                     f"{prov['wall_s']:.0f} s on {prov['hardware'].get('device', 'cpu')}"
                     + (f", resting on {report.duration(prov['training_s'])} of network "
                        "training" if prov.get("training_s") else ""))
    return "\n".join(lines) + "\n"


def write_status_page(project: Project) -> Path:
    """Write ``book/_generated/status.md`` (included by ``book/reproduction.md``)."""
    path = project.root / "book" / "_generated" / "status.md"
    config.atomic_write_text(path, status_markdown(project))
    return path


def build_book(project: Project, *, log=print) -> float:
    """Build the Jupyter Book (execution off, warnings as errors) into ``_build/html``."""
    missing = [c for c in project.chapters() if not (project.notebooks / f"{c}.ipynb").exists()]
    if missing:
        raise ChapterError(f"cannot build the book: no page for {', '.join(missing)} "
                           "(no successful run yet)")
    write_status_page(project)
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe) if exe.exists() else "jupyter-book", "build", str(project.root),
               "--builder", "html", *BOOK_BUILD_ARGS]
    log("[dlwild] building the book ...")
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project.root, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        warnings = [ln for ln in (done.stdout + done.stderr).splitlines()
                    if re.search(r"WARNING|ERROR|Error|Traceback", ln)]
        detail = "\n".join(warnings[-40:]) or (done.stdout + done.stderr)[-4000:]
        raise ChapterError(f"the book build failed (warnings are errors):\n{detail}")
    log(f"[dlwild] book built in {wall:.1f} s: {project.html / 'index.html'}")
    return wall


def run_book(project: Project, request: Request | None = None, *, force: bool = False,
             build: bool = True, log=print, echo: bool = False) -> list[Outcome]:
    """Run every chapter (skipping fresh ones) and build the book; failures are collected."""
    outcomes = []
    for chapter in project.chapters():
        try:
            outcomes.append(run_chapter(project, chapter, request, force=force, log=log,
                                        echo=echo))
        except (ChapterError, config.ConfigError) as exc:
            outcomes.append(Outcome(chapter, "failed", message=str(exc)))
    for outcome in outcomes:
        if outcome.status == "failed":
            log(f"[dlwild] FAILED {outcome.message}")
    if build:
        build_book(project, log=log)
    return outcomes

"""Running a chapter: Papermill executes its notebook in a staging folder with validated
parameters; only a notebook whose every code cell ran and whose results were written by
this very run is published (``notebooks/<name>.ipynb`` and ``results/<name>.json``). A
failing chapter leaves the last good page and results."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlwild.core import config, results
from dlwild.runner.freshness import is_fresh, run_key
from dlwild.runner.parameters import chapter_declaration
from dlwild.runner.project import ChapterError, Project
from dlwild.runner.publishing import (
    banner_on_top,
    build_book,
    course_frame,
    launch_cell,
    load_times,
    repository_url,
    show_injected_parameters,
)

# The longest one cell may run before the chapter fails as hung: a quick chapter runs in
# minutes; a full one trains a network in one cell for many hours on a CPU (and resumes
# from its checkpoints when rerun), so it has no limit.
CELL_TIMEOUT_S: dict[str, int | None] = {"quick": 3600, "full": None}


@dataclass
class Outcome:
    """What happened to one chapter in a run of the book machine."""

    chapter: str
    status: str  # "ran" | "skipped" | "failed"
    wall_s: float = 0.0
    message: str = ""
    results: Path | None = None


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


def run_chapter(project: Project, chapter: str, given: Mapping[str, Any] | None = None, *,
                force: bool = False, log=print, echo: bool = False, at_once: int = 1) -> Outcome:
    """Run one chapter with Papermill unless its page is fresh; publish only a real run.
    ``given``: parameter values (the rest take the declaration's defaults), all validated
    by the chapter's declaration before any kernel starts. ``echo`` passes the lines its
    cells print to ``log`` as they come (see ChapterEcho). ``at_once``: how many chapters
    run side by side (``dlwild book --jobs``): the kernel gets its share of the cores
    (:func:`kernel_threads`) and the record says so, since its wall time is not a lone run's."""
    import nbformat

    declared, notebook = chapter_declaration(project.source(chapter), chapter)
    params = declared.validate(given or {})
    key = run_key(project, chapter, params)
    if not force and is_fresh(project, chapter, key):
        log(f"[dlwild] {chapter}: up to date, skipped")
        return Outcome(chapter, "skipped", results=project.results / f"{chapter}.json")

    stage = project.staging / chapter
    done = execute(project, chapter, notebook, params, stage, log=log, echo=echo,
                   env=kernel_threads(at_once))
    if isinstance(done, Outcome):
        return done
    record, executed, wall = done
    record["provenance"]["run_key"] = key
    if at_once > 1:
        record["provenance"]["chapters_at_once"] = at_once
    published = project.results / f"{chapter}.json"
    config.atomic_write_text(published, results.dumps(record))
    page = project.notebooks / f"{chapter}.ipynb"
    executed_page = banner_on_top(show_injected_parameters(nbformat.read(executed,
                                                                          as_version=4)))
    executed_page = course_frame(executed_page, declared, record, load_times(project, chapter))
    config.atomic_write_text(page, nbformat.writes(executed_page))
    shutil.rmtree(stage, ignore_errors=True)
    log(f"[dlwild] {chapter}: done in {wall:.1f} s")
    return Outcome(chapter, "ran", wall, results=published)


def kernel_manager_with(env: Mapping[str, str]) -> type:
    """A kernel manager class whose kernels start with ``env`` on top of this process's
    environment: the run's settings reach its kernel alone, so runs executing side by side
    in one process (a sweep's seeds on one Dask worker) never share ``os.environ``.  Its
    kernels are shut down without the interrupt jupyter_client sends first."""
    from jupyter_client.manager import AsyncKernelManager

    extra = {k: str(v) for k, v in env.items()}

    class ChapterKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:
            kw["env"] = {**os.environ, **kw.get("env", {}), **extra}
            await super().start_kernel(**kw)

        async def _async_interrupt_kernel(self) -> None:
            # jupyter_client interrupts every kernel before it asks it to shut down; ours has
            # run its cells by then, and a SIGINT that lands while it still finishes the last
            # reply made ipykernel print "ERROR | KeyboardInterrupt caught in kernel." on the
            # run's stderr (seen on a busy machine). The shutdown request alone suffices; an
            # interrupt asked for (interrupt_kernel, a cell's timeout) still goes through.
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return ChapterKernelManager


def execute(project: Project, chapter: str, notebook: Any, params: Mapping[str, Any],
            stage: Path, *, log=print, echo: bool = False,
            env: Mapping[str, str] | None = None
            ) -> tuple[dict[str, Any], Path, float] | Outcome:
    """Execute ``notebook`` (the chapter's, parameters validated) with Papermill in the
    folder ``stage``: ``(results record, executed notebook, seconds)`` when every code cell
    ran and this very run wrote the results, else a failed :class:`Outcome` saying why.
    ``env``: more environment for the kernel (e.g. a sweep's scheduler). Publishes nothing:
    :func:`run_chapter` publishes, a sweep keeps each seed's record."""
    import jupytext
    import nbformat
    import papermill

    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    unexecuted, executed = stage / f"{chapter}.input.ipynb", stage / f"{chapter}.ipynb"
    first_code = next((i for i, c in enumerate(notebook.cells) if c.cell_type == "code"), 0)
    notebook = nbformat.from_dict(notebook)  # a copy: the launch cell goes into this run only
    notebook.cells.insert(first_code, launch_cell(repository_url(project)))  # runs: a no-op
    jupytext.write(notebook, unexecuted, fmt="ipynb")
    run_id = uuid.uuid4().hex
    env = {**(env or {}), "DLWILD_RESULTS_DIR": str(stage), "DLWILD_RUN_ID": run_id,
           "DLWILD_PROGRESS": "plain", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    log(f"[dlwild] {chapter}: running at {params['scale']} scale ...")
    started = time.perf_counter()
    stream = ChapterEcho(chapter, log) if echo else None
    sockets = tempfile.TemporaryDirectory(prefix="dlwild-kernel-")
    try:
        papermill.execute_notebook(
            str(unexecuted), str(executed), parameters=dict(params), kernel_name="python3",
            cwd=str(project.notebooks), progress_bar=False, request_save_on_cell_execute=False,
            execution_timeout=CELL_TIMEOUT_S[params["scale"]], stdout_file=stream,
            stderr_file=stream,
            config=kernel_transport(Path(sockets.name)),
            kernel_manager_class=kernel_manager_with(env),
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
    wall = time.perf_counter() - started

    try:
        check_really_ran(nbformat.read(executed, as_version=4), executed)
        staged = stage / f"{chapter}.json"
        if not staged.exists():
            raise ChapterError(f"chapter {chapter!r} ran but wrote no results "
                               f"(it must end with run.finish()); page not published")
        record = results.load_results(staged)
        if record["provenance"].get("run_id") != run_id or record["chapter"] != chapter:
            raise ChapterError(f"chapter {chapter!r}: the results file was not written by "
                               "this run; page not published")
    except (ChapterError, results.ResultsError) as exc:
        return Outcome(chapter, "failed", wall, str(exc))
    return record, executed, wall


def kernel_threads(at_once: int) -> dict[str, str]:
    """The kernel environment of a chapter that runs beside ``at_once - 1`` others: its share
    of the cores as ``OMP_NUM_THREADS`` (torch's default thread count), unless the user set
    one, and idle threads that sleep (:func:`sharing_cores`). Two quick chapters on two cores
    ran in 137 s together against 274 s one after the other with two threads each: their
    small networks barely use a second core. A chapter alone keeps OpenMP's defaults."""
    if at_once <= 1:
        return {}
    env = sharing_cores()
    if "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // at_once))
    return env


def sharing_cores() -> dict[str, str]:
    """``OMP_WAIT_POLICY=PASSIVE`` (unless the user set a policy) for a kernel that shares the
    cores with other processes training: OpenMP threads that spin while they wait made a
    BiLSTM step 0.7 s -> 4-9 s on oversubscribed cores. Never for a kernel alone: there,
    threads that sleep between torch's many small operations made a full-scale L2C step
    1.7x slower (1.75 s against 1.04 s on 2 cores, December 2026)."""
    return {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}


def book_jobs(given: int | None, scale: str | None, chapters: int) -> int:
    """How many chapters ``dlwild book`` runs at a time: ``given``, else the machine's cores
    at quick scale (at most one per chapter) and one at full scale, where a chapter takes the
    machine for hours."""
    if given is not None:
        if not isinstance(given, int) or given < 1:
            raise config.ConfigError(f"--jobs must be a whole number of at least 1, "
                                     f"got {given!r}")
        return given
    if scale == "full":
        return 1
    return max(1, min(os.cpu_count() or 1, chapters))


def longest_first(project: Project, chapters: list[str]) -> list[str]:
    """``chapters`` by their measured cold quick time, longest first (the classic rule for
    finishing a batch of jobs early on a few workers); unmeasured ones last, in book order."""
    def cold_s(chapter: str) -> float:
        times = load_times(project, chapter)
        return -times["cold_s"] if times else 0.0

    return sorted(chapters, key=cold_s)


def run_book(project: Project, given: Mapping[str, Any] | None = None, *, force: bool = False,
             build: bool = True, log=print, echo: bool = False,
             jobs: int | None = None) -> list[Outcome]:
    """Run every chapter (skipping fresh ones), ``jobs`` at a time (:func:`book_jobs`), and
    build the book; failures are collected. Each chapter runs in its own kernel, so a thread
    here only waits on it; outcomes come back in the book's order."""
    from concurrent.futures import ThreadPoolExecutor

    chapters = project.chapters()
    at_once = book_jobs(jobs, (given or {}).get("scale"), len(chapters))

    def one(chapter: str) -> Outcome:
        try:
            return run_chapter(project, chapter, given, force=force, log=log, echo=echo,
                               at_once=at_once)
        except (ChapterError, config.ConfigError) as exc:
            return Outcome(chapter, "failed", message=str(exc))

    if at_once == 1:
        outcomes = [one(chapter) for chapter in chapters]
    else:
        log(f"[dlwild] running {len(chapters)} chapters, {at_once} at a time")
        with ThreadPoolExecutor(max_workers=at_once) as pool:
            futures = {chapter: pool.submit(one, chapter) for chapter in longest_first(
                project, chapters)}
            try:
                outcomes = [futures[chapter].result() for chapter in chapters]
            except KeyboardInterrupt:  # the kernels got the terminal's SIGINT too
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    for outcome in outcomes:
        if outcome.status == "failed":
            log(f"[dlwild] FAILED {outcome.message}")
    if build:
        build_book(project, log=log)
    return outcomes

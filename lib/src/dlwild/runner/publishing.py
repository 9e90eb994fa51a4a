"""Publishing: the page as readers see it (parameters once, the banner on top), the
committed full-scale records, the pages built from results and declarations, the book."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dlwild.core import config, results
from dlwild.core.claims import VERDICTS
from dlwild.core.html import BANNER_CLASS, claims_html, sweep_html
from dlwild.core.provenance import duration
from dlwild.runner.parameters import chapter_declaration
from dlwild.runner.project import ChapterError, Project

BOOK_BUILD_ARGS = ("-W", "-n", "--keep-going")


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
    return BANNER_CLASS in str(output.get("data", {}).get("text/html", ""))


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


def load_times(project: Project, chapter: str) -> dict[str, Any] | None:
    """The measured rerun times of a chapter (``book/records/<chapter>.times.json``, written
    by ``benchmarks/chapters.py``), or None when none was measured."""
    import json

    path = project.records / f"{chapter}.times.json"
    if not path.exists():
        return None
    try:
        times = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ChapterError(f"cannot read {path}: {exc}") from exc
    missing = {"cold_s", "warm_s", "hardware", "measured"} - set(times)
    if missing:
        raise ChapterError(f"{path} lacks {sorted(missing)}")
    return times


def time_sentence(chapter: str, times: dict[str, Any] | None, record: dict[str, Any]) -> str:
    """How long a quick rerun takes, from measured values: the benchmark's cold and warm
    times where measured, and this page's own run."""
    prov = record["provenance"]
    at_once = prov.get("chapters_at_once", 1)
    beside = (f", while up to {at_once} chapters ran at a time on it (`dlwild book "
              f"--jobs {at_once}`)" if at_once > 1 else "")
    own = (f"This page's {record['scale']} run took {duration(prov['wall_s'])} on "
           f"{prov['hardware'].get('name', prov['hardware'].get('machine', 'a CPU'))}{beside}.")
    if times is None:
        return own
    return (f"A quick rerun takes **{duration(times['cold_s'])}** with an empty cache and "
            f"{duration(times['warm_s'])} with its trained networks cached (measured on "
            f"{times['hardware']}, {times['measured']}, by `benchmarks/chapters.py`). " + own)


def _sentence(text: str) -> str:
    return text if text.rstrip().endswith((".", "!", "?")) else text.rstrip() + "."


def _flag(box) -> str:
    """The command-line form of a try-this box's change (quoted where a shell would
    expand it)."""
    from dlwild.core.chapter import COMMON

    knob, _, value = box.change.partition("=")
    if knob.strip() in COMMON:
        return f"--{knob.strip()} {value.strip()}"
    plain = all(ch.isalnum() or ch in "._-:/" for ch in value.strip())
    return f"-p {box.change}" if plain else f'-p "{box.change}"'


def repository_url(project: Project) -> str:
    """The book's repository, set in one place by its publisher: ``_config.yml``
    (``parse.myst_substitutions.repository_url``, which ``repository.url`` and the pages
    take)."""
    config = yaml.safe_load((project.root / "_config.yml").read_text(encoding="utf-8")) or {}
    url = (config.get("repository") or {}).get("url")
    if not url:
        raise ChapterError(f"{project.root / '_config.yml'} sets no repository.url")
    return str(url).rstrip("/")


def launch_cell(repository: str):
    """The first code cell of every chapter run, hidden on the site (a no-op where dlwild
    is installed): a published notebook launched on Binder or Colab without the book's
    library installs it from the repository."""
    import nbformat

    source = ("# Launched on Binder or Colab without the book's library? Install it first.\n"
              "try:\n    import dlwild  # noqa: F401\nexcept ModuleNotFoundError:\n"
              f'    %pip install --quiet "dlwild @ git+{repository}.git#subdirectory=lib"')
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["remove-cell"]})


def course_frame(notebook, declared, record: dict[str, Any], times: dict[str, Any] | None):
    """The course template around a chapter page, from its declaration: "About this
    chapter" (learning goals, prerequisites, the measured rerun time) right under the title
    and banner, and a "Try this" box per declared knob right after the parameters cell."""
    import nbformat

    goals = "\n".join(f"- {goal}" for goal in declared.goals)
    prerequisites = "\n".join(f"- {item}" for item in declared.prerequisites) or "- none"
    about = ("````{admonition} About this chapter\n:class: dlwild-about\n\n"
             f"**What it teaches.** After this chapter you can:\n\n{goals}\n\n"
             f"**Prerequisites.**\n\n{prerequisites}\n\n"
             f"**Time.** {time_sentence(declared.name, times, record)}\n````")
    cells = notebook.cells
    if not declared.goals:  # a chapter without course material (the tests' tiny ones)
        about = ""
    at = 0
    if cells and cells[0].cell_type == "markdown" and cells[0].source.startswith("# "):
        title, _, rest = cells[0].source.partition("\n")
        if about and rest.strip():  # the box goes right under the title (and banner)
            cells[0].source = title
            cells.insert(1, nbformat.v4.new_markdown_cell(rest.strip("\n")))
        at = 1
    while at < len(cells) and BANNER_CLASS in cells[at].source:
        at += 1
    if about:
        cells.insert(at, nbformat.v4.new_markdown_cell(about))
    boxes = []
    for box in declared.try_this:
        setting = f"{box.knob} = {declared.try_value(box)!r}"
        boxes.append(nbformat.v4.new_markdown_cell(
            f":::{{admonition}} Try this: `{setting}`\n:class: tip dlwild-try\n\n"
            f"Set `{setting}` in the parameters cell above and rerun the notebook, or run "
            f"`dlwild run {declared.name} {_flag(box)}`. **Watch:** {_sentence(box.watch)} "
            f"**Expect:** {_sentence(box.expect)}\n:::"))
    tags = [set(c.metadata.get("tags", [])) for c in cells]
    after = max((i for i, t in enumerate(tags) if t & {"parameters", "injected-parameters"}),
                default=None)
    if after is not None:
        cells[after + 1:after + 1] = boxes
    return notebook


# --- the book --------------------------------------------------------------------------

def load_all_results(project: Project) -> list[dict[str, Any]]:
    """Live results of every chapter that has them, then its committed full-scale record
    (marked ``_record: True``, in memory only)."""
    found = []
    for chapter in project.chapters():
        path = project.results / f"{chapter}.json"
        if path.exists():
            found.append(results.load_results(path))
        record = results.load_record(chapter, project.records)
        if record is not None:
            found.append({**record, "_record": True})
    return found


@dataclass
class Recorded:
    """A full-scale record written by :func:`save_record`: where, from which commit, and the
    chapter's training-code files changed since that commit (None: git could not tell)."""

    path: Path
    commit: str
    changed_training_code: list[str] | None


def training_code_files(project: Project, chapter: str) -> list[Path]:
    """The source files of the chapter's declared training code (what its trained networks
    depend on)."""
    import importlib.util

    declared, _ = chapter_declaration(project.source(chapter), chapter)
    specs = (importlib.util.find_spec(name) for name in declared.training_modules())
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
        record = results.load_results(source)
    except results.ResultsError as exc:
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
                                                  training_code_files(project, chapter)))


def _short_commit(commit: str) -> str:
    """The first 12 hex digits of a commit (and its ``+dirty`` mark); other text unchanged."""
    match = re.fullmatch(r"([0-9a-f]{12})[0-9a-f]*(\+dirty)?", commit)
    return match.group(1) + (match.group(2) or "") if match else commit


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _verdict_counts(claims: list[dict[str, Any]]) -> str:
    return ", ".join(f"**{sum(c['verdict'] == v for c in claims)}** {v}" for v in VERDICTS)


def _run_line(record: dict[str, Any]) -> str:
    prov = record["provenance"]
    return (f"commit `{_short_commit(prov['commit'])}`, started {prov['started']}, "
            f"{prov['wall_s']:.0f} s on {prov['hardware'].get('device', 'cpu')}"
            + (f", resting on {duration(prov['training_s'])} of network training"
               if prov.get("training_s") else ""))


def status_markdown(project: Project) -> str:
    """The body of the reproduction-status page, built from every results record: one
    section per chapter and run (the page's live run, then the committed full-scale
    record), each with its data source, its counts and its claims linked to their rows on
    the chapter page (live runs and full records counted apart), then each committed sweep
    over seeds."""
    records = load_all_results(project)
    if not records:
        return ("No chapter has been run yet: `make book` (or `dlwild run CHAPTER`) writes "
                "the results this page is built from.\n")
    live = [r for r in records if not r.get("_record")]
    full = [r for r in records if r.get("_record")]
    lines = []
    for label, group in (("Live runs (what the chapter pages show)", live),
                         ("Committed full-scale records", full)):
        if group:
            claims = [c for r in group for c in r["claims"]]
            lines.append(f"- {label}: {len(claims)} claims from {len(group)} run(s): "
                         f"{_verdict_counts(claims)}.")
    for record in records:
        chapter, is_record = record["chapter"], bool(record.get("_record"))
        what = "committed full-scale record" if is_record else f"{record['scale']} run"
        page = f"../notebooks/{chapter}.html"
        lines += ["", f"## {chapter}: {what}, {record['data']['source']} data", "",
                  f"[The chapter page]({page.replace('.html', '.ipynb')}); "
                  f"{_verdict_counts(record['claims'])}; {_run_line(record)}.", "",
                  claims_html(record["claims"], record=is_record, link=page), ""]
    for chapter in project.chapters():
        sweep = results.load_sweep(chapter, project.records)
        if sweep is not None:
            seeds, verdicts = len(sweep["seeds"]), [c["verdict"] for c in sweep["claims"]]
            counts = ", ".join(f"**{verdicts.count(v)}** {v}"
                               for v in ("holds", "mixed", "differs", "not comparable"))
            lines += ["", f"## {chapter}: committed sweep over {seeds} seeds, "
                          f"{sweep['scale']} scale", "",
                      f"[The chapter page](../notebooks/{chapter}.ipynb); {counts} (a "
                      "relation by the seeds it holds in, a value by its mean ± std against "
                      "the paper's band).", "", sweep_html(sweep), ""]
    return "\n".join(lines) + "\n"


def chapters_markdown(project: Project) -> str:
    """The book's chapter table (intro page), from the chapters' declarations: title,
    topic, papers and what is reproduced."""
    lines = ["| chapter | topic of the talk | papers | what is reproduced |",
             "|---|---|---|---|"]
    for chapter in project.chapters():
        declared, _ = chapter_declaration(project.source(chapter), chapter)
        papers = ", ".join(f"{{cite:t}}`{key}`" for key in declared.papers)
        cells = [f"[{declared.title}](../notebooks/{chapter}.ipynb)", declared.topic,
                 papers, declared.summary]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def course_markdown(project: Project) -> str:
    """The course page's plan (one chapter a week, in the book's order) from the chapters'
    declarations, measured rerun times and committed full-scale records."""
    lines = ["| week | chapter | what it teaches | quick rerun (cold cache) | try this | "
             "full scale |", "|---|---|---|---|---|---|"]
    for week, chapter in enumerate(project.chapters(), start=1):
        declared, _ = chapter_declaration(project.source(chapter), chapter)
        times = load_times(project, chapter)
        record = results.load_record(chapter, project.records)
        full = ("no committed record yet" if record is None else "record committed"
                + (f" ({duration(record['provenance']['training_s'])} of CPU training)"
                   if record["provenance"].get("training_s") else ""))
        cells = [str(week), f"[{declared.title}](../notebooks/{chapter}.ipynb)",
                 "; ".join(declared.goals) or "–",
                 duration(times["cold_s"]) if times else "not measured yet",
                 ", ".join(f"`{box.change}`" for box in declared.try_this) or "–", full]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def book_bibtex_markdown(project: Project) -> str:
    """The book's own BibTeX entry: title, version and date from ``CITATION.cff``, the
    address from ``_config.yml`` (:func:`repository_url`)."""
    try:
        cff = yaml.safe_load((project.root / "CITATION.cff").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ChapterError(f"cannot read {project.root / 'CITATION.cff'}: {exc}") from exc
    authors = " and ".join("{" + a["name"] + "}" if "name" in a
                           else f"{a['family-names']}, {a['given-names']}"
                           for a in cff["authors"])
    title = cff["title"].replace("2016-2018", "2016--2018")
    return ("```bibtex\n@software{dlwild_book,\n"
            f"  author  = {{{authors}}},\n  title   = {{{title}}},\n"
            f"  year    = {{{str(cff['date-released'])[:4]}}},\n"
            f"  version = {{{cff['version']}}},\n  url     = {{{repository_url(project)}}}\n"
            "}\n```\n")


def data_markdown(project: Project) -> str:
    """The data sets the book's chapters read (from their declarations and the registry),
    each with its licence and citation, for the "How to cite" page."""
    from dlwild.core import data

    used: dict[str, list[str]] = {}
    for chapter in project.chapters():
        declared, _ = chapter_declaration(project.source(chapter), chapter)
        for name in declared.data:
            used.setdefault(name, []).append(declared.title)
    if not used:
        return "No chapter of the book reads a registered data set yet.\n"
    lines = []
    for name, chapters in used.items():
        entry = data.get(name)
        cite = f" {{cite:p}}`{entry.bibtex}`" if entry.bibtex else f" ({entry.citation})"
        lines.append(f"- **{entry.title}**{cite}: {entry.licence}; read by "
                     f"{', '.join(chapters)}.")
    return "\n".join(lines) + "\n"


def write_generated_pages(project: Project) -> list[Path]:
    """Write the pages the book includes from results and declarations:
    ``book/_generated/status.md`` (reproduction status), ``chapters.md`` (intro),
    ``course.md`` (the course page's plan), ``data.md`` and ``book_bibtex.md`` (how to
    cite)."""
    pages = {"status.md": status_markdown(project), "chapters.md": chapters_markdown(project),
             "course.md": course_markdown(project), "data.md": data_markdown(project),
             "book_bibtex.md": book_bibtex_markdown(project)}
    return [config.atomic_write_text(project.generated / name, text)
            for name, text in pages.items()]


def build_book(project: Project, *, log=print) -> float:
    """Build the Jupyter Book (execution off, warnings as errors) into ``_build/html``."""
    missing = [c for c in project.chapters() if not (project.notebooks / f"{c}.ipynb").exists()]
    if missing:
        raise ChapterError(f"cannot build the book: no page for {', '.join(missing)} "
                           "(no successful run yet)")
    write_generated_pages(project)
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

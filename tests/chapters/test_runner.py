"""The book machine end to end: Papermill runs, skipping, publishing only real runs,
failures that keep the last good page, parameter checks, and the offline fallback."""

from __future__ import annotations

import copy
import json
import subprocess

import nbformat
import pytest
import torch

from chapter_sources import BOOM, FINISH, TRAINS, lingering, tiny
from conftest import make_project
from dlwild.core import config, report, results
from dlwild.core.html import banner_html
from dlwild.runner import ChapterError, Project, run_book, run_chapter
from dlwild.runner.execution import ChapterEcho, book_jobs, kernel_threads, longest_first
from dlwild.runner.freshness import run_key


@pytest.fixture
def tiny_project(tmp_path):
    return Project(make_project(tmp_path / "book", {"tiny": tiny(FINISH)}))


def test_probe_ran_on_real_data_and_published(probe_book):
    project, outcome = probe_book
    record = report.load_results(project.results / "probe.json")
    expected = "real" if config.mirror() else record["data"]["source"]
    assert record["data"]["source"] == expected
    if config.mirror():
        assert record["data"]["datasets"][0]["name"] == "mnist"
        assert record["metrics"]["accuracy"] > 0.8  # a real MLP on real MNIST
    assert {c["verdict"] for c in record["claims"]} <= set(report.VERDICTS)
    assert record["provenance"]["run_key"] and record["provenance"]["wall_s"] > 0
    page = nbformat.read(project.notebooks / "probe.ipynb", as_version=4)
    code = [c for c in page.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)
    assert record["metrics"]["history"]["epochs"], "the training history is in the results"


def test_unchanged_chapter_is_skipped(probe_book):
    project, _ = probe_book
    before = (project.results / "probe.json").read_bytes()
    outcome = run_chapter(project, "probe")
    assert outcome.status == "skipped"
    assert (project.results / "probe.json").read_bytes() == before


def test_run_key_follows_what_the_chapter_depends_on(tiny_project, monkeypatch):
    params = {"scale": "quick", "seed": 0, "device": "auto", "data": "auto", "answer": 42}
    key = run_key(tiny_project, "tiny", params)
    assert run_key(tiny_project, "tiny", params) == key
    assert run_key(tiny_project, "tiny", {**params, "seed": 1}) != key
    monkeypatch.setenv("DLWILD_OFFLINE", "1")
    assert run_key(tiny_project, "tiny", params) != key
    monkeypatch.delenv("DLWILD_OFFLINE")
    record = tiny_project.records / "tiny.full.json"  # the page shows the committed record
    record.write_text('{"scale": "full"}')
    with_record = run_key(tiny_project, "tiny", params)
    assert with_record != key
    record.write_text('{"scale": "full", "newer": true}')
    assert run_key(tiny_project, "tiny", params) not in {key, with_record}
    record.unlink()
    assert run_key(tiny_project, "tiny", params) == key
    source = tiny_project.notebooks / "tiny.md"
    source.write_text(source.read_text() + "\n<!-- edited -->\n")
    assert run_key(tiny_project, "tiny", params) != key


def test_failing_chapter_names_the_cell_and_keeps_the_last_good_page(tiny_project):
    assert run_chapter(tiny_project, "tiny").status == "ran"
    page = (tiny_project.notebooks / "tiny.ipynb").read_bytes()
    results = (tiny_project.results / "tiny.json").read_bytes()
    (tiny_project.notebooks / "tiny.md").write_text(tiny(BOOM, FINISH))
    outcome = run_chapter(tiny_project, "tiny")
    assert outcome.status == "failed"
    assert "'tiny'" in outcome.message and "boom in the chapter" in outcome.message
    assert "raise RuntimeError" in outcome.message  # the failing cell is named
    assert (tiny_project.notebooks / "tiny.ipynb").read_bytes() == page
    assert (tiny_project.results / "tiny.json").read_bytes() == results
    assert (tiny_project.build / "failed" / "tiny.ipynb").exists()


def test_a_run_that_writes_no_results_is_not_published(tiny_project):
    (tiny_project.notebooks / "tiny.md").write_text(tiny("\n```{code-cell} ipython3\n1 + 1\n```\n"))
    outcome = run_chapter(tiny_project, "tiny")
    assert outcome.status == "failed" and "wrote no results" in outcome.message
    assert not (tiny_project.notebooks / "tiny.ipynb").exists()


def test_parameters_are_passed_and_checked_before_any_kernel_starts(tiny_project):
    outcome = run_chapter(tiny_project, "tiny", {"seed": 7, "answer": 6})
    record = json.loads(outcome.results.read_text())
    assert record["metrics"] == {"answer": 6} and record["provenance"]["seed"] == 7
    with pytest.raises(config.ConfigError, match="no parameter colour.*answer"):
        run_chapter(tiny_project, "tiny", {"colour": "red"})
    with pytest.raises(config.ConfigError, match="answer must be int"):
        run_chapter(tiny_project, "tiny", {"answer": "many"})
    with pytest.raises(config.ConfigError, match="answer=-5 is out of range"):
        run_chapter(tiny_project, "tiny", {"answer": -5})
    with pytest.raises(config.ConfigError, match="scale='huge'"):
        run_chapter(tiny_project, "tiny", {"scale": "huge"})
    if not torch.cuda.is_available():
        with pytest.raises(config.ConfigError, match="no CUDA GPU"):
            run_chapter(tiny_project, "tiny", {"device": "cuda"})
    with pytest.raises(config.ConfigError, match="data='maybe'"):
        run_chapter(tiny_project, "tiny", {"data": "maybe"})
    assert not (tiny_project.staging / "tiny").exists() or outcome.status == "ran"


def test_a_parameters_cell_that_disagrees_with_the_declaration_is_refused(tiny_project):
    source = tiny_project.notebooks / "tiny.md"
    source.write_text(source.read_text().replace("answer = 42", "answer = 41"))
    with pytest.raises(config.ConfigError, match="disagrees with its declaration.*answer"):
        run_chapter(tiny_project, "tiny")


def test_echo_passes_on_whole_lines_with_the_chapter_name():
    lines = []
    echo = ChapterEcho("ch", lines.append)
    echo.write("epoch 1/3\repoch 2")
    echo.write("/3\n\nwarning: x\n")
    assert lines == ["[ch] epoch 1/3", "[ch] epoch 2/3", "[ch] warning: x"]
    echo.write("no newline at the end")
    echo.close()
    assert lines[-1] == "[ch] no newline at the end"


def test_a_running_chapter_shows_its_progress_only_when_asked(tiny_project):
    (tiny_project.notebooks / "tiny.md").write_text(tiny(TRAINS, FINISH))
    quiet, shown = [], []
    assert run_chapter(tiny_project, "tiny", log=quiet.append).status == "ran"
    assert not [ln for ln in quiet if ln.startswith("[tiny]")]
    assert run_chapter(tiny_project, "tiny", force=True, log=shown.append,
                       echo=True).status == "ran"
    progress = [ln for ln in shown if ln.startswith("[tiny] tiny training")]
    assert progress and "3/3" in progress[-1], shown
    assert "[tiny] tiny chapter done" in shown
    assert shown.index("[tiny] tiny chapter done") < next(
        i for i, ln in enumerate(shown) if ln.startswith("[dlwild] tiny: done"))


def test_a_hung_quick_cell_fails_but_a_long_full_cell_may_run(tiny_project, monkeypatch):
    """Quick chapters have a per-cell limit (a hung kernel fails the run, page unchanged);
    full runs train for hours in one cell on a CPU, so they have none."""
    from dlwild.runner import execution

    sleeps = '\n```{code-cell} ipython3\nimport time\ntime.sleep(4)\n```\n'
    (tiny_project.notebooks / "tiny.md").write_text(tiny(sleeps, FINISH))
    monkeypatch.setitem(execution.CELL_TIMEOUT_S, "quick", 2)
    outcome = run_chapter(tiny_project, "tiny")
    assert outcome.status == "failed" and "timed out" in outcome.message.lower()
    assert not (tiny_project.results / "tiny.json").exists()
    outcome = run_chapter(tiny_project, "tiny", {"scale": "full"})
    assert outcome.status == "ran", outcome.message
    assert report.load_results(outcome.results)["scale"] == "full"


def test_the_book_runs_its_chapters_side_by_side_and_their_records_say_so(tmp_path):
    """``jobs=2``: both chapters' kernels run at once (their start-to-finish spans overlap),
    each with its share of the cores, outcomes in the book's order; one chapter failing
    leaves the other's page."""
    import os
    from datetime import datetime, timedelta

    project = Project(make_project(tmp_path / "book", {"tiny": lingering("TINY", 4),
                                                       "twin": lingering("TWIN", 4)}))
    outcomes = run_book(project, jobs=2, build=False, log=lambda *_: None)
    assert [(o.chapter, o.status) for o in outcomes] == [("tiny", "ran"), ("twin", "ran")]
    spans = []
    for o in outcomes:
        prov = report.load_results(o.results)["provenance"]
        assert prov["chapters_at_once"] == 2
        if "OMP_NUM_THREADS" not in os.environ:
            assert prov["hardware"]["torch_threads"] == max(1, (os.cpu_count() or 1) // 2)
        start = datetime.fromisoformat(prov["started"])
        spans.append((start, start + timedelta(seconds=prov["wall_s"])))
    (first_start, first_end), (second_start, second_end) = spans
    assert first_start < second_end and second_start < first_end, spans

    (project.notebooks / "twin.md").write_text(
        lingering("TWIN", 0).replace("run.finish", "raise RuntimeError('boom')\nrun.finish"))
    outcomes = run_book(project, jobs=2, force=True, build=False, log=lambda *_: None)
    assert [o.status for o in outcomes] == ["ran", "failed"]
    assert "RuntimeError" in outcomes[1].message and (project.results / "twin.json").exists()


def test_only_kernels_that_share_the_cores_sleep_while_they_wait(monkeypatch):
    """A chapter alone keeps OpenMP's defaults (passive waiting made a full-scale L2C step
    1.7x slower); chapters side by side get their share of the threads and sleep while they
    wait; a policy or thread count the user set is kept."""
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert kernel_threads(1) == {}
    assert kernel_threads(2) == {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "2"}
    assert kernel_threads(8)["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert kernel_threads(2) == {"OMP_WAIT_POLICY": "ACTIVE"}


def test_side_by_side_the_longest_chapters_start_first(tmp_path):
    project = Project(make_project(tmp_path / "book", {"tiny": tiny(FINISH)}))
    for chapter, cold in (("short", 60.0), ("long", 200.0)):
        (project.records / f"{chapter}.times.json").write_text(json.dumps(
            {"cold_s": cold, "warm_s": 10.0, "hardware": "x86_64", "measured": "today"}))
    assert longest_first(project, ["new", "short", "long", "other"]) == [
        "long", "short", "new", "other"]


def test_how_many_chapters_the_book_runs_at_a_time():
    import os

    cores = os.cpu_count() or 1
    assert book_jobs(None, "quick", 5) == min(cores, 5) and book_jobs(None, None, 1) == 1
    assert book_jobs(None, "full", 5) == 1 and book_jobs(3, "full", 5) == 3
    for bad in (0, -1):
        with pytest.raises(config.ConfigError, match="--jobs must be"):
            book_jobs(bad, "quick", 5)


def test_unknown_and_unreadable_chapters(tiny_project):
    with pytest.raises(ChapterError, match="unknown chapter 'nope'.*tiny"):
        run_chapter(tiny_project, "nope")
    (tiny_project.notebooks / "tiny.md").write_text("---\njupytext: [unclosed\n---\n")
    with pytest.raises(ChapterError, match="tiny.md"):
        run_chapter(tiny_project, "tiny")
    (tiny_project.notebooks / "tiny.md").write_text("# no header\n\n```{code-cell}\n1\n```\n")
    with pytest.raises(ChapterError, match="kernelspec"):
        run_chapter(tiny_project, "tiny")


def test_offline_newcomer_gets_the_generator_and_a_banner(offline_probe_book):
    """No mirror, no network, empty cache: the chapter still runs, on generated data, and
    its page and results say so."""
    project, outcome = offline_probe_book
    record = report.load_results(outcome.results)
    assert record["data"]["source"] == "synthetic"
    assert record["data"]["datasets"][0]["generator"]
    assert {c["verdict"] for c in record["claims"]} >= {"not comparable"}
    page = nbformat.read(project.notebooks / "probe.ipynb", as_version=4)
    holding = [i for i, c in enumerate(page.cells) if "dlwild-banner" in str(c)]
    assert holding == [1], holding  # once, right under the title
    assert page.cells[0].source.startswith("# Probe") and "\n" not in page.cells[0].source
    assert "generated data" in page.cells[1].source


def test_banner_is_lifted_under_the_title_once():
    """Known answer: two cells displayed the same banner, one another output; the page gets
    one banner cell between the title and the rest of the first text cell."""
    from dlwild.runner.publishing import banner_on_top

    banner = nbformat.v4.new_output("display_data", data={"text/html": banner_html(
        "No data, so this run used a generator.")})
    keep = nbformat.v4.new_output("stream", name="stdout", text="kept\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n\nThe question."),
        nbformat.v4.new_code_cell("load()", outputs=[keep, banner]),
        nbformat.v4.new_code_cell("load_more()", outputs=[banner]),
    ])
    cells = banner_on_top(nb).cells
    assert [c.cell_type for c in cells] == ["markdown", "markdown", "markdown", "code", "code"]
    assert cells[0].source == "# Title" and cells[2].source == "The question."
    assert cells[1].source == banner["data"]["text/html"]
    assert cells[3].outputs == [keep] and cells[4].outputs == []
    nbformat.validate(nb)
    plain = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n\nText."),
        nbformat.v4.new_code_cell("x", outputs=[keep])])
    assert banner_on_top(copy.deepcopy(plain)) == plain  # real data: page untouched


def test_status_page_groups_by_chapter_and_run_and_links_each_claim(probe_book):
    from dlwild.runner.publishing import status_markdown

    project, _ = probe_book
    record = report.load_results(project.results / "probe.json")
    record["scale"] = "full"
    record["provenance"]["training_s"] = 50_400.0
    records = project.records / "probe.full.json"
    records.write_text(results.dumps(record))
    from dlwild.runner.sweep import aggregate

    live = report.load_results(project.results / "probe.json")
    sweep = aggregate("probe", [{**live, "provenance": {**live["provenance"], "seed": s}}
                                for s in (0, 1)])
    swept = project.records / "probe.sweep.json"
    swept.write_text(json.dumps(sweep))
    try:
        text = status_markdown(project)
    finally:
        records.unlink()
        swept.unlink()
    assert "## probe: committed sweep over 2 seeds, quick scale" in text
    assert "ours over seeds" in text and "2 seeds" in text
    n = len(record["claims"])
    assert "## probe: quick run" in text and "## probe: committed full-scale record" in text
    assert text.count('href="../notebooks/probe.html#claim-') == 2 * n
    assert 'href="../notebooks/probe.html#claim-accuracy-full"' in text
    assert f"Live runs (what the chapter pages show): {n} claims from 1 run(s)" in text
    assert f"Committed full-scale records: {n} claims from 1 run(s)" in text
    assert text.count("resting on 14.0 h of network training") == 1  # the full record's
    assert ' id="claim-' not in text  # the anchors live on the chapter page


def test_changed_since_names_the_training_files_edited_after_a_commit(tmp_path):
    from dlwild.runner.publishing import changed_since

    def git(*args):
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    (tmp_path / "train.py").write_text("a = 1\n")
    (tmp_path / "plots.py").write_text("b = 1\n")
    git("add", ".")
    git("commit", "-qm", "one")
    commit = git("rev-parse", "HEAD")
    files = [tmp_path / "train.py", tmp_path / "plots.py"]
    assert changed_since(tmp_path, commit, files) == []
    (tmp_path / "train.py").write_text("a = 2\n")
    assert changed_since(tmp_path, commit + "+dirty", files) == ["train.py"]
    assert changed_since(tmp_path, "0" * 40, files) is None  # a commit this checkout lacks


def test_training_code_files_are_the_declared_modules(book_root):
    from dlwild.runner.publishing import training_code_files

    names = {p.name for p in training_code_files(Project(book_root), "speakers")}
    assert {"models.py", "losses.py", "train.py"} <= names and "cluster.py" not in names
    with pytest.raises(ChapterError, match="unknown chapter"):
        training_code_files(Project(book_root), "no_such_chapter")


def test_a_finished_kernel_is_shut_down_without_an_interrupt(monkeypatch):
    """jupyter_client sends SIGINT before every shutdown request; when it lands while the
    kernel still finishes its last reply, ipykernel prints "ERROR | KeyboardInterrupt caught in
    kernel." on the run's stderr. The chapters' kernels are asked to shut down, not interrupted."""
    import asyncio

    from jupyter_client.manager import KernelManager

    from dlwild.runner.execution import kernel_manager_with

    interrupts = []

    async def record(self):
        interrupts.append(self)

    monkeypatch.setattr(KernelManager, "_async_interrupt_kernel", record)

    async def start_and_stop():
        km = kernel_manager_with({})(kernel_name="python3")
        await km.start_kernel()
        assert await km.is_alive()
        await km.shutdown_kernel()
        return await km.is_alive()

    assert asyncio.run(start_and_stop()) is False
    assert interrupts == []

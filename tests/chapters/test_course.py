"""The course template: learning goals, prerequisites and the measured rerun time open a
chapter page, "Try this" boxes follow its parameters, the course page plans the weeks, and
every chapter of the book carries goals, try-this boxes and exercises with solutions."""

from __future__ import annotations

import re

import nbformat
import pytest

from conftest import ROOT
from dlwild.core import config
from dlwild.core.chapter import Chapter, Param, TryThis
from dlwild.runner import Project
from dlwild.runner.parameters import chapter_declaration
from dlwild.runner.publishing import course_frame, time_sentence

DEMO = Chapter(
    name="demo", title="Demo", summary="s", papers=("p",),
    params={"width": Param(8, int, between=(1, 64))}, settings={"quick": {}, "full": {}},
    goals=("explain a thing", "measure a thing", "change a thing"),
    prerequisites=("the {doc}`speakers` chapter",),
    try_this=(TryThis("width=32", watch="the curve", expect="it rises"),
              TryThis("seed=1", watch="the table", expect="other digits")),
)
RECORD = {"scale": "quick", "provenance": {"wall_s": 95.0, "hardware": {
    "name": "x86_64 CPU (2 threads)"}}}


def test_a_try_this_box_cannot_suggest_what_the_chapter_refuses():
    with pytest.raises(config.ConfigError, match="width=1000 is out of range"):
        Chapter(**{**DEMO.__dict__, "try_this": (TryThis("width=1000", "w", "e"),)})
    with pytest.raises(ValueError, match="not <parameter>=<value>"):
        Chapter(**{**DEMO.__dict__, "try_this": (TryThis("depth=3", "w", "e"),)})
    assert DEMO.try_value(DEMO.try_this[0]) == 32


def _page():
    params = nbformat.v4.new_code_cell("width = 8", metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell("width = 8", metadata={"tags": ["injected-parameters"]})
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Demo"),
        nbformat.v4.new_markdown_cell('<div class="dlwild-banner">generated</div>'),
        nbformat.v4.new_markdown_cell("The question."), params, injected,
        nbformat.v4.new_code_cell("run()")])


def test_the_page_opens_with_goals_prerequisites_and_time_and_boxes_follow_parameters():
    cells = course_frame(_page(), DEMO, RECORD, None).cells
    assert cells[0].source == "# Demo" and "dlwild-banner" in cells[1].source
    about = cells[2].source
    assert about.startswith("````{admonition} About this chapter")
    assert "- explain a thing\n- measure a thing\n- change a thing" in about
    assert "the {doc}`speakers` chapter" in about
    assert "This page's quick run took 95 s on x86_64 CPU (2 threads)." in about
    tags = [c.metadata.get("tags", []) for c in cells]
    after = tags.index(["injected-parameters"])
    boxes = [c.source for c in cells[after + 1:after + 3]]
    assert "Try this: `width = 32`" in boxes[0] and "dlwild run demo -p width=32" in boxes[0]
    assert "dlwild run demo --seed 1" in boxes[1] and "**Expect:** other digits" in boxes[1]
    assert cells[-1].source == "run()"
    nbformat.validate(nbformat.v4.new_notebook(cells=cells))


def test_the_time_comes_from_the_benchmark_when_measured():
    times = {"cold_s": 230.0, "warm_s": 40.0, "hardware": "x86_64, 2 cores",
             "measured": "2026-12-01"}
    sentence = time_sentence("demo", times, RECORD)
    assert sentence.startswith("A quick rerun takes **3.8 min** with an empty cache and 40 s")
    assert "x86_64, 2 cores, 2026-12-01" in sentence and "This page's quick run" in sentence


def test_a_run_beside_other_chapters_says_so_with_its_time():
    record = {**RECORD, "provenance": {**RECORD["provenance"], "chapters_at_once": 2}}
    assert time_sentence("demo", None, record).endswith(
        "x86_64 CPU (2 threads), while up to 2 chapters ran at a time on it "
        "(`dlwild book --jobs 2`).")
    assert "at a time" not in time_sentence("demo", None, RECORD)


def test_a_chapter_without_goals_gets_only_its_boxes():
    bare = Chapter(**{**DEMO.__dict__, "goals": (), "prerequisites": ()})
    cells = course_frame(_page(), bare, RECORD, None).cells
    assert not any("About this chapter" in c.source for c in cells)
    assert sum("Try this" in c.source for c in cells) == 2


@pytest.mark.parametrize("chapter", Project(ROOT).chapters())
def test_every_chapter_of_the_book_declares_goals_and_try_this(chapter):
    """Three to five learning goals, prerequisites, and two or more try-this boxes."""
    project = Project(ROOT)
    declared, _ = chapter_declaration(project.source(chapter), chapter)
    assert 3 <= len(declared.goals) <= 5 and declared.prerequisites
    assert len(declared.try_this) >= 2


@pytest.mark.parametrize("chapter", Project(ROOT).chapters())
def test_every_chapter_ends_with_exercises_with_executed_solutions(chapter):
    """Four or more exercises, each with a hint and a folded solution that runs with the
    chapter (sphinx-exercise's gated solution-start/solution-end around its code cells)."""
    text = Project(ROOT).source(chapter).read_text(encoding="utf-8")
    exercises = re.findall(r"^```{exercise}", text, flags=re.M)
    starts = re.findall(r"^```{solution-start}", text, flags=re.M)
    ends = re.findall(r"^```{solution-end}", text, flags=re.M)
    assert len(exercises) >= 4 and len(starts) == len(ends) == len(exercises)
    assert text.count("**Hint.**") >= len(exercises)


def test_the_cite_page_lists_the_data_the_chapters_read_and_the_books_address():
    from dlwild.runner.publishing import book_bibtex_markdown, data_markdown, repository_url

    project = Project(ROOT)
    text = data_markdown(project)
    declared = {name for c in project.chapters()
                for name in chapter_declaration(project.source(c), c)[0].data}
    assert ("{cite:p}`panayotov2015librispeech`" in text) == (
        "librispeech_resemblyzer" in declared)
    assert ("{cite:p}`lecun1998gradient`" in text) == ("mnist" in declared)
    assert ("{cite:p}`cwru_bearing`" in text) == ("cwru_bearing" in declared)
    bibtex = book_bibtex_markdown(project)
    assert f"url     = {{{repository_url(project)}}}" in bibtex and "version = {" in bibtex

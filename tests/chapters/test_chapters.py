"""Every chapter of the book, executed by Papermill at quick scale, with its results
validated: schema, verdicts, no NaN, and real data whenever the mirror is there."""

from __future__ import annotations

import pytest

from conftest import ROOT
from dlwild.core import config, report
from dlwild.runner import Project, run_chapter

PROJECT = Project(ROOT)
CHAPTERS = PROJECT.chapters()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_at_quick_scale(chapter):
    outcome = run_chapter(PROJECT, chapter)
    assert outcome.status in {"ran", "skipped"}, outcome.message
    record = report.load_results(PROJECT.results / f"{chapter}.json")
    assert record["scale"] == "quick"
    assert record["claims"], f"{chapter} compares no claim with its paper"
    if config.mirror():
        assert record["data"]["source"] == "real", f"{chapter} fell back to generated data"


def test_speakers_results_draw_like_a_full_record():
    """The page draws a committed full-scale record's figures from its results file; a
    quick run's file has the same shape, so it must draw the same way."""
    import matplotlib.pyplot as plt

    from dlwild.speakers import figures

    outcome = run_chapter(PROJECT, "speakers")
    assert outcome.status in {"ran", "skipped"}, outcome.message
    record = report.load_results(PROJECT.results / "speakers.json")
    drawn = figures.record_figures(record)
    assert len(drawn) == len(record["metrics"]["networks"]) + 1
    sweep = drawn[-1].axes[0].lines[0]
    assert len(sweep.get_xdata()) == len(record["metrics"]["clustering"]["sweep"])
    plt.close("all")

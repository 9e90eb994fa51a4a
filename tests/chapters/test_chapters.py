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


def test_deepscores_results_draw_like_a_full_record():
    """The DeepScores page shows a committed full-scale record from its file alone (tables,
    curves, the paragraph); a quick run's results have the same shape."""
    import matplotlib.pyplot as plt

    from dlwild.deepscores import claims
    from dlwild.deepscores import record as committed

    outcome = run_chapter(PROJECT, "deepscores")
    assert outcome.status in {"ran", "skipped"}, outcome.message
    record = report.load_results(PROJECT.results / "deepscores.json")
    metrics = record["metrics"]
    aps = committed.ap_table(record)
    assert list(aps.index) == [row["class"] for row in metrics["detector"]["ap"]]
    assert aps["paper AP50"].dropna().to_dict() == {
        c: v for c, v in claims.TABLE_1_AP50.items() if c in aps.index}
    means = committed.table_1_means(record)
    assert (means["classes"] >= 1).all() and means["ours"].between(0, 1).all()
    corpus = committed.corpus_table(record)
    assert corpus.loc["symbols", "ours (quick)"] == f"{metrics['dataset']['symbols']:,}"
    drawn = committed.record_figures(record)
    assert len(drawn) == 4  # classifier, schedules, AP bars, confusions
    assert {line.get_label() for line in drawn[1].axes[0].lines} >= set(metrics["schedules"])
    counts = committed.confusion_counts(record)
    assert counts.to_numpy().sum() == aps["test"].sum()  # every test symbol went somewhere
    text = committed.record_text(record)
    assert f"{metrics['dataset']['symbols']:,} symbols" in text and "keySharp (" in text
    plt.close("all")

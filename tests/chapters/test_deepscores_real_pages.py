"""The DeepScores chapter evaluates its detector on DeepScores pages a user has
(``eval_pages``). No DeepScores page can be downloaded here, so the test writes pages in the
DeepScoresV2 format itself: a chorale engraved at twice the book's interline (like
DeepScores' high-resolution pages, so the interline estimate and the rescaling are
exercised), with V2's position-split notehead names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import ROOT
from dlwild.core import report
from dlwild.deepscores import engrave
from dlwild.deepscores.format_v2 import write_v2

PIECE = "bach/bwv66.6.mxl"


@pytest.fixture
def v2_pages(tmp_path):
    pages = engrave.engrave(engrave.corpus_score(PIECE), piece=PIECE, font="Bravura",
                            interline=20.0)
    renamed = []
    for p in pages:
        symbols = [replace(s, cls="noteheadBlackInSpace" if i % 2 else "noteheadBlackOnLine")
                   if s.cls == "noteheadBlack" else s for i, s in enumerate(p.page.symbols)]
        renamed.append(replace(p.page, symbols=symbols))
    classes = sorted({s.cls for p in renamed for s in p.symbols})
    json_path = write_v2(renamed, tmp_path / "ds2", classes,
                                 images=[p.image for p in pages])
    return json_path, pages


def test_chapter_evaluates_real_deepscores_pages(tmp_path, monkeypatch, v2_pages):
    import jupytext
    import papermill

    json_path, pages = v2_pages
    notebook = jupytext.read(ROOT / "notebooks" / "deepscores.md")
    jupytext.write(notebook, tmp_path / "in.ipynb", fmt="ipynb")
    monkeypatch.setenv("DLWILD_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("DLWILD_PROGRESS", "plain")
    papermill.execute_notebook(
        str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"),
        parameters={"eval_pages": f"deepscores_v2:{json_path}"}, kernel_name="python3",
        cwd=str(ROOT / "notebooks"), progress_bar=False)
    record = report.load_results(tmp_path / "results" / "deepscores.json")
    real = record["metrics"]["real_pages"]
    assert real["source"]["pages"] == len(pages)
    assert "deepscores_v2" in [d["name"] for d in record["data"]["datasets"]]
    rows = {r["class"]: r for r in real["ap"]}
    n_heads = sum(s.cls == "noteheadBlack" for p in pages for s in p.page.symbols)
    assert rows["noteheadBlack"]["count"] == n_heads  # V2 names mapped back to v1's
    claim = next(c for c in record["claims"] if c["id"] == "dwd_ap50_notehead")
    assert claim["ours"] == pytest.approx(rows["noteheadBlack"]["ap50"])
    assert "DeepScores v2" in claim["data"] and claim["verdict"] == "not comparable"
    assert "quick scale" in claim["note"]

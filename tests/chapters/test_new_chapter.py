"""Adding a chapter: a throwaway chapter in a temporary project (its notebook, its own
package with the declaration, and a _toc.yml entry; nothing else) is picked up by
`dlwild run`, `dlwild status`, `dlwild chapters` and the book (its intro's chapter table)."""

from __future__ import annotations

import os
import subprocess
import textwrap

import yaml

from chapter_sources import header, parameters_cell
from conftest import DLWILD, make_project

DECLARATION = '''
from dlwild.core.chapter import Chapter, Param
from dlwild.core.claims import Claim

CLAIMS = [Claim("doubling", paper="stadelmann2018wild", source="made up for a test",
                metric="2x", paper_value=2.0, tolerance=0.0, statement="twice one is two")]
CHAPTER = Chapter(
    name="toy", title="Toy chapter", topic="testing", summary="doubles a number",
    papers=("stadelmann2018wild",),
    params={"factor": Param(2, int, "what to multiply by", between=(1, 10))},
    settings={"quick": {"n": 1}, "full": {"n": 10}},
)
'''
NOTEBOOK = header("toychapter.chapter:CHAPTER", "Toy chapter") + '''
It doubles {glue:text}`toy_n`.
''' + parameters_cell(factor=2) + '''
```{code-cell} ipython3
from dlwild.core import report
from toychapter.chapter import CHAPTER, CLAIMS

run = CHAPTER.start(scale=scale, seed=seed, device=device, data=data, factor=factor)
report.glue_value("toy_n", run.settings["n"])
run.compare(CLAIMS, {"doubling": report.Measured(float(factor), "none", scale)})
run.finish({"product": factor * run.settings["n"]})
```
'''


def test_a_new_chapter_needs_only_its_notebook_package_and_toc_entry(tmp_path):
    root = make_project(tmp_path / "book", {"toy": NOTEBOOK})
    package = tmp_path / "site" / "toychapter"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "chapter.py").write_text(textwrap.dedent(DECLARATION))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])}

    def dlwild(*args):
        done = subprocess.run([DLWILD, "--root", str(root), *args], capture_output=True,
                              text=True, env=env)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout

    assert yaml.safe_load((root / "_toc.yml").read_text())["parts"][0]["chapters"] == [
        {"file": "notebooks/toy"}]
    assert "toy: Toy chapter" in dlwild("chapters")
    dlwild("run", "toy", "-p", "factor=2")
    assert "twice one is two" in dlwild("status")
    dlwild("book")
    intro = (root / "_build" / "html" / "book" / "intro.html").read_text()
    assert "Toy chapter" in intro and "doubles a number" in intro
    page = (root / "_build" / "html" / "notebooks" / "toy.html").read_text()
    assert "Toy chapter" in page
    status = (root / "_build" / "html" / "book" / "reproduction.html").read_text()
    assert "twice one is two" in status

"""The real book builds with warnings as errors, and the built site holds what a reader
needs: pages, bibliography, status page, downloadable executed notebooks, launch buttons."""

from __future__ import annotations

import json
import re
import subprocess

from conftest import DLWILD, ROOT


def test_book_pages_exist(real_book):
    html = real_book.html
    for page in ("index.html", "book/intro.html", "book/reproduction.html", "book/cite.html",
                 "book/bibliography.html"):
        assert (html / page).exists(), page
    for chapter in real_book.chapters():
        assert (html / "notebooks" / f"{chapter}.html").exists(), chapter


def test_bibliography_lists_every_reference(real_book):
    keys = re.findall(r"^@\w+\{([^,]+),", (ROOT / "book/references.bib").read_text(), re.M)
    page = (real_book.html / "book" / "bibliography.html").read_text()
    assert len(keys) >= 16
    assert page.count('role="doc-biblioentry"') == len(keys)


def test_mathjax_is_vendored(real_book):
    assert (real_book.html / "_static" / "mathjax" / "es5" / "tex-chtml.js").exists()
    assert "cdn.jsdelivr" not in (real_book.html / "book" / "intro.html").read_text()


def test_status_page_is_built_from_results(real_book):
    page = (real_book.html / "book" / "reproduction.html").read_text()
    results = list(real_book.results.glob("*.json"))
    if results:
        assert "verdict" in page
    else:
        assert "No chapter has been run yet" in page


def test_probe_book_publishes_the_executed_notebook(probe_book):
    project, _ = probe_book
    html = project.html
    page = (html / "notebooks" / "probe.html").read_text()
    source = html / "_sources" / "notebooks" / "probe.ipynb"
    assert source.exists(), "the executed notebook is downloadable"
    nb = json.loads(source.read_text())
    assert all(c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code")
    launch = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "pip install" in "".join(launch["source"]) and "dlwild @ git+" in "".join(
        launch["source"])  # a launched notebook installs the library it needs
    assert "colab.research.google.com" in page and "mybinder.org" in page
    assert "dlwild-claims" in page and "dlwild-provenance" in page
    record = json.loads((project.results / "probe.json").read_text())
    assert f"{record['metrics']['accuracy']:.3f}" in page  # glued into the prose
    status = (html / "book" / "reproduction.html").read_text()
    assert "probe" in status and "verdict-" in status


def test_dlwild_status_prints_the_table(probe_book):
    project, _ = probe_book
    done = subprocess.run([DLWILD, "--root", str(project.root), "status"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "probe" in done.stdout and "holds" in done.stdout or "differs" in done.stdout

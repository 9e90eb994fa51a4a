"""Sphinx extension for the book: the ``bibtex-entries`` directive shows papers' BibTeX.

A chapter page gives the BibTeX of the papers it reproduces, ready to copy::

    ```{bibtex-entries} lukic2016speaker lukic2017learning
    ```

The entries come from the book's one bibliography (``bibtex_bibfiles``, the files
sphinxcontrib-bibtex cites from), parsed and written back by pybtex, so a page can never show
an entry the bibliography does not hold; an unknown key fails the build.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from pybtex.database import BibliographyData, parse_file
from pybtex.exceptions import PybtexError
from sphinx.util.docutils import SphinxDirective


def bibtex_entries(bibfiles: list[Path], keys: list[str]) -> str:
    """The BibTeX of ``keys``, in that order, from ``bibfiles``; KeyError names what is
    missing, ValueError the file that is not valid BibTeX."""
    entries: dict = {}
    for path in bibfiles:
        try:
            entries.update(parse_file(str(path), "bibtex").entries)
        except PybtexError as exc:
            raise ValueError(f"{path}: not valid BibTeX: {exc}") from exc
    missing = [key for key in keys if key not in entries]
    if missing:
        raise KeyError(f"no BibTeX entry {', '.join(missing)} in "
                       f"{', '.join(str(p) for p in bibfiles)}")
    chosen = BibliographyData({key: entries[key] for key in keys})
    return chosen.to_string("bibtex").strip()


class BibtexEntries(SphinxDirective):
    """``{bibtex-entries} key ...``: a BibTeX code block of the named entries."""

    required_arguments = 1
    final_argument_whitespace = True

    def run(self) -> list[nodes.Node]:
        bibfiles = [Path(self.env.srcdir) / f for f in self.config.bibtex_bibfiles]
        try:
            text = bibtex_entries(bibfiles, self.arguments[0].split())
        except (KeyError, OSError, ValueError) as exc:
            raise self.error(str(exc).strip("'\"")) from exc
        for path in bibfiles:
            self.env.note_dependency(str(path))
        block = nodes.literal_block(text, text, language="bibtex")
        block["classes"].append("dlwild-bibtex")
        return [block]


def setup(app) -> dict:
    app.setup_extension("sphinxcontrib.bibtex")  # defines bibtex_bibfiles
    app.add_directive("bibtex-entries", BibtexEntries)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

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
from pybtex.style.labels import BaseLabelStyle
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


def author_year_label(entry) -> str:
    """An entry's label as the text cites it (``author_year``): "Lukic et al., 2016",
    "Panayotov et al., 2015", "Jackson, 2018" (an organisation or one author: its name)."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    if not people:
        name = entry.fields.get("organization") or entry.fields.get("institution") or entry.key
    else:
        last = " ".join(people[0].last_names) or str(people[0])
        if len(people) == 1:
            name = last
        elif len(people) == 2:
            name = f"{last} and {' '.join(people[1].last_names)}"
        else:
            name = f"{last} et al."
    return f"{name.replace('{', '').replace('}', '')}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """pybtex label style: author-year labels ("Lukic et al., 2016"), then "a", "b", ...
    where two would be equal, so the bibliography's labels match the author-year citations
    in the text (not [SAA+18])."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year_label(e) for e in entries]
        seen: dict[str, int] = {}
        for label in labels:
            seen[label] = seen.get(label, 0) + 1
        used: dict[str, int] = {}
        for label in labels:
            if seen[label] == 1:
                yield label
            else:
                used[label] = used.get(label, 0) + 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[used[label] - 1]


def _register_style() -> None:
    """The ``dlwild_author_year`` bibliography style: pybtex's plain, author-year labels."""
    from pybtex.plugin import find_plugin, register_plugin

    plain = find_plugin("pybtex.style.formatting", "plain")

    class AuthorYearStyle(plain):
        default_label_style = "dlwild_author_year"

    register_plugin("pybtex.style.labels", "dlwild_author_year", AuthorYearLabels, force=True)
    register_plugin("pybtex.style.formatting", "dlwild_author_year", AuthorYearStyle,
                    force=True)


def setup(app) -> dict:
    app.setup_extension("sphinxcontrib.bibtex")  # defines bibtex_bibfiles
    app.add_directive("bibtex-entries", BibtexEntries)
    _register_style()
    return {"parallel_read_safe": True, "parallel_write_safe": True}

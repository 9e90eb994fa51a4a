"""The book's ``bibtex-entries`` directive: papers' BibTeX from the one bibliography."""

import subprocess
import sys

import pytest

from dlwild.sphinx_bibtex import bibtex_entries

BIB = r"""@article{second2019,
  author = {Bea Second and Carl D{\"u}rr}, title = {Later Work},
  journal = {J}, year = {2019}}

@inproceedings{first2016,
  author = {Ann First}, title = {Speaker {CNNs}}, booktitle = {MLSP}, year = {2016}}
"""


@pytest.fixture
def bibfile(tmp_path):
    path = tmp_path / "refs.bib"
    path.write_text(BIB, encoding="utf-8")
    return path


def test_entries_come_in_the_order_asked_with_their_fields(bibfile):
    text = bibtex_entries([bibfile], ["first2016", "second2019"])
    assert text.index("@inproceedings{first2016,") < text.index("@article{second2019,")
    assert "Speaker {CNNs}" in text and r"D{\"u}rr, Carl" in text
    assert "Later Work" not in bibtex_entries([bibfile], ["first2016"])


def test_an_unknown_key_is_named(bibfile):
    with pytest.raises(KeyError, match="nope2020.*refs.bib"):
        bibtex_entries([bibfile], ["first2016", "nope2020"])


def test_a_broken_bibliography_is_named(tmp_path, bibfile):
    broken = tmp_path / "broken.bib"
    broken.write_text("@article{bad,\n  title = {Unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.bib: not valid BibTeX.*line 2"):
        bibtex_entries([bibfile, broken], ["first2016"])


def _build(tmp_path, bibfile, keys: str):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "refs.bib").write_text(bibfile.read_text(encoding="utf-8"), encoding="utf-8")
    (src / "conf.py").write_text(
        "extensions = ['dlwild.sphinx_bibtex']\nbibtex_bibfiles = ['refs.bib']\n")
    (src / "index.rst").write_text(f"Title\n=====\n\n.. bibtex-entries:: {keys}\n")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html",
                           str(src), str(out)], capture_output=True, text=True)
    return done, out


def test_a_page_shows_the_entries_and_an_unknown_key_fails_the_build(tmp_path, bibfile):
    done, out = _build(tmp_path, bibfile, "second2019 first2016")
    assert done.returncode == 0, done.stderr
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "dlwild-bibtex" in page and "highlight-bibtex" in page
    assert page.index("second2019") < page.index("first2016")
    done, _ = _build(tmp_path, bibfile, "first2016 missing1999")
    assert done.returncode != 0 and "no BibTeX entry missing1999" in done.stderr


def test_bibliography_labels_read_as_the_text_cites():
    """Known answers: author-year labels, 'a'/'b' where two would be equal (the
    bibliography showed [SAA+18] beside author-year citations)."""
    from pybtex.database import parse_string

    from dlwild.sphinx_bibtex import AuthorYearLabels

    bib = parse_string("""
@inproceedings{a, author = {Lukic, Yanick and Vogt, Carlo and Stadelmann, Thilo}, year = 2016}
@inproceedings{b, author = {Stadelmann, Thilo and Freisleben, Bernd}, year = 2009}
@misc{c, author = {Jackson, Zohar}, year = 2018}
@inproceedings{d, author = {Stadelmann, T. and Glinski-Haefeli, S. and Gerber, P.}, year = 2018}
@inproceedings{e, author = {Stadelmann, T. and Amirian, M. and Arabaci, I.}, year = 2018}
""", "bibtex")
    assert list(AuthorYearLabels().format_labels(bib.entries.values())) == [
        "Lukic et al., 2016", "Stadelmann and Freisleben, 2009", "Jackson, 2018",
        "Stadelmann et al., 2018a", "Stadelmann et al., 2018b"]

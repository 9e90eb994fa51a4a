"""Built pages opened in a real browser (Debian's Chromium through Playwright): titles,
sidebar, glued numbers, figures, the results table, rendered maths. Skipped locally when
Chromium is missing; under CI=true it must run."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from dlwild.runner.parameters import chapter_declaration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not CHROMIUM:
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but Chromium is not installed (.ci/run installs it)",
                    pytrace=False)
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "_build" / "screenshots"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path):
    """Serve ``folder`` on loopback; returns (base url, server)."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        user_dir = tmp_path_factory.mktemp("chromium-profile")
        context = p.chromium.launch_persistent_context(
            str(user_dir), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 1600})
        yield context
        context.close()


def open_page(browser, url: str, shot: str):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url, wait_until="networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / shot), full_page=False)
    return page, errors


@pytest.fixture(scope="module")
def real_site(request):
    project = request.getfixturevalue("real_book")
    base, server = serve(project.html)
    yield base, project
    server.shutdown()


def test_intro_sidebar_status_and_bibliography(browser, real_site):
    base, project = real_site
    page, errors = open_page(browser, f"{base}/book/intro.html", "intro.png")
    assert "Deep Learning in the Wild" in page.title()
    sidebar = page.locator("nav.bd-docs-nav a").all_inner_texts()
    assert {"Reproduction status", "How to cite", "Bibliography"} <= set(sidebar)
    for chapter in project.chapters():
        assert page.locator(f"nav.bd-docs-nav a[href*='{chapter}']").count() == 1
    assert page.locator("table").count() >= 1  # topics -> papers -> chapters
    page, _ = open_page(browser, f"{base}/book/reproduction.html", "reproduction.png")
    assert page.locator("h1").first.inner_text().startswith("Reproduction status")
    page, _ = open_page(browser, f"{base}/book/bibliography.html", "bibliography.png")
    keys = re.findall(r"^@\w+\{", (project.root / "book" / "references.bib").read_text(), re.M)
    assert page.locator("div.citation[role='doc-biblioentry']").count() == len(keys)
    assert not errors, errors


@pytest.fixture(scope="module")
def probe_site(request):
    project, _ = request.getfixturevalue("probe_book")
    base, server = serve(project.html)
    yield base, project
    server.shutdown()


def test_generated_data_banner_is_the_first_thing_under_the_title(browser, offline_probe_book):
    """A page that ran on its generator says so before any number: the banner sits right
    under the title, above the question and the first figure or table."""
    project, _ = offline_probe_book
    base, server = serve(project.html)
    try:
        page, errors = open_page(browser, f"{base}/notebooks/probe.html", "probe-offline.png")
        banner = page.locator(".dlwild-banner")
        assert banner.count() == 1 and banner.is_visible()
        assert "ran on generated data" in banner.inner_text()
        top = banner.bounding_box()["y"]
        assert page.locator("article h1").bounding_box()["y"] < top
        for first in ("article p:not(.dlwild-banner p)", "article img", "table.dlwild-claims"):
            assert top < page.locator(first).first.bounding_box()["y"], first
        assert not errors, errors
    finally:
        server.shutdown()


def test_chapter_page_shows_numbers_figures_table_and_maths(browser, probe_site):
    base, project = probe_site
    record = json.loads((project.results / "probe.json").read_text())
    page, errors = open_page(browser, f"{base}/notebooks/probe.html", "probe-chapter.png")
    assert "Probe" in page.title()
    text = page.locator("article").inner_text()
    assert f"{record['metrics']['accuracy']:.3f}" in text  # glued number in the prose
    verdict = record["claims"][0]["verdict"]
    assert f"Verdict on the accuracy claim: {verdict}" in text
    images = page.locator("article img")
    assert images.count() >= 2  # sample digits and the learning curve
    widths = images.evaluate_all("els => els.map(e => e.naturalWidth)")
    assert all(w > 0 for w in widths), widths
    alts = images.evaluate_all("els => els.map(e => e.alt)")
    assert all(a and not a.endswith(".png") and " " in a for a in alts), alts  # sentences
    assert any("Probe MLP on MNIST" in a for a in alts), alts  # the learning curve's title
    table = page.locator("table.dlwild-claims")
    assert table.count() >= 1 and table.first.locator(".verdict").count() == 2
    assert page.locator("details.dlwild-provenance").count() >= 1
    page.wait_for_selector("mjx-container", timeout=10000)  # maths rendered offline
    assert not errors, errors
    status, _ = open_page(browser, f"{base}/book/reproduction.html", "probe-status.png")
    assert status.locator("a[href*='probe']").count() >= 1


def test_chapter_page_is_course_material(browser, probe_site):
    """Goals, prerequisites and the rerun time open the page (under the title), the try-this
    boxes follow the parameters, and an exercise's solution is folded but was executed."""
    base, _ = probe_site
    page, errors = open_page(browser, f"{base}/notebooks/probe.html", "probe-course.png")
    about = page.locator(".dlwild-about")
    assert about.count() == 1 and "What it teaches" in about.inner_text()
    assert "quick run took" in about.inner_text()  # (the theme curls the apostrophe)
    assert page.locator("article h1").bounding_box()["y"] < about.bounding_box()["y"]
    boxes = page.locator(".dlwild-try")
    assert boxes.count() == 2 and "dlwild run probe -p epochs=8" in boxes.first.inner_text()
    assert about.bounding_box()["y"] < boxes.first.bounding_box()["y"]
    assert "pip install" not in page.locator("article").inner_text()  # the launch cell hides
    exercise = page.locator(".exercise")
    assert exercise.count() == 1 and "Hint." in exercise.inner_text()
    solution = page.locator(".solution")
    assert solution.count() == 1 and not solution.locator(".cell_output").first.is_visible()
    solution.locator("summary, .admonition-title, button").first.click()
    assert solution.locator(".cell_output").first.is_visible()
    assert not errors, errors


@pytest.mark.parametrize("width", [1400, 400])
def test_claims_tables_fit_the_page(browser, probe_site, width):
    """At a desktop and a phone width, every claims table and the verdicts stay inside the
    page (below 700 px the rows become labelled cards)."""
    base, _ = probe_site
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 1200})
    page.goto(f"{base}/notebooks/probe.html", wait_until="networkidle")
    page.screenshot(path=str(SCREENSHOTS / f"probe-{width}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width + 1, f"the page scrolls sideways at {width} px: {overflow}"
    for verdict in page.locator("table.dlwild-claims .verdict").all():
        box = verdict.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, box
    page.close()


def test_every_chapter_page_shows_its_run(browser, real_site):
    """Each real chapter: no banner on real data, figures that loaded, the paper-vs-ours
    table with a verdict per claim, the provenance box and the maths."""
    base, project = real_site
    for chapter in project.chapters():
        record = json.loads((project.results / f"{chapter}.json").read_text())
        page, errors = open_page(browser, f"{base}/notebooks/{chapter}.html",
                                 f"chapter-{chapter}.png")
        images = page.locator("article img")
        assert images.count() >= 3, f"{chapter}: too few figures"
        widths = images.evaluate_all("els => els.map(e => e.naturalWidth)")
        assert all(w > 0 for w in widths), (chapter, widths)
        alts = images.evaluate_all("els => els.map(e => e.alt)")
        assert all(a and not a.endswith(".png") for a in alts), (chapter, alts)
        table = page.locator("table.dlwild-claims").first
        assert table.locator(".verdict").count() == len(record["claims"])
        text = page.locator("article").inner_text()
        for row in record["claims"]:
            assert row["verdict"] in text
        if record["data"]["source"] == "real":
            assert page.locator(".dlwild-banner").count() == 0
        assert page.locator("details.dlwild-provenance").count() >= 1
        bibtex = page.locator(".dlwild-bibtex").text_content()  # the papers, ready to copy
        papers = chapter_declaration(project.source(chapter), chapter)[0].papers
        assert bibtex.count("@") >= len(papers) and "year = " in bibtex, (chapter, bibtex)
        page.wait_for_selector("mjx-container", timeout=10000)
        assert not errors, (chapter, errors)

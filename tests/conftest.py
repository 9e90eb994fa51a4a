"""Shared fixtures: an isolated dlwild home, and the book's root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
# The test chapters' declarations (chapter_sources.py) must import in their kernels too.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")) if p)
DLWILD = str(Path(sys.executable).with_name("dlwild"))


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    """A fresh DLWILD_HOME and results folder, so tests never touch the user's cache."""
    home = tmp_path / "dlwild-home"
    monkeypatch.setenv("DLWILD_HOME", str(home))
    monkeypatch.setenv("DLWILD_RESULTS_DIR", str(tmp_path / "results"))
    return home


@pytest.fixture(scope="session")
def book_root() -> Path:
    """The checkout's root (the folder holding _toc.yml)."""
    return ROOT


def make_project(root: Path, chapters: dict[str, str]) -> Path:
    """A throw-away book at ``root``: the real config and pages plus the given chapter
    sources (name -> MyST text), so the machine can be tested without touching the book."""
    import shutil

    import yaml

    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "_config.yml", root / "_config.yml")
    shutil.copy2(ROOT / "CITATION.cff", root / "CITATION.cff")
    shutil.copytree(ROOT / "book", root / "book",
                    ignore=shutil.ignore_patterns("_generated", "records"))
    (root / "book" / "records").mkdir()
    (root / "lib").mkdir()
    shutil.copy2(ROOT / "lib" / "constraints.txt", root / "lib" / "constraints.txt")
    (root / "notebooks").mkdir()
    for name, text in chapters.items():
        (root / "notebooks" / f"{name}.md").write_text(text, encoding="utf-8")
    toc = {
        "format": "jb-book", "root": "book/intro",
        "parts": [
            {"caption": "Chapters", "chapters": [{"file": f"notebooks/{n}"} for n in chapters]},
            {"caption": "About this book", "chapters": [
                {"file": "book/course"}, {"file": "book/reproduction"}, {"file": "book/cite"},
                {"file": "book/bibliography"}]},
        ],
    }
    (root / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    return root


PROBE = (ROOT / "tests" / "chapters" / "probe.md").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def probe_book(tmp_path_factory):
    """The probe chapter run by the real machine (real MNIST when the mirror is there) and
    its book built: (project, outcome). Shared by the chapter, book and browser tests."""
    from dlwild.runner import Project, build_book, run_chapter

    root = make_project(tmp_path_factory.mktemp("probe-book"), {"probe": PROBE})
    project = Project(root)
    outcome = run_chapter(project, "probe")
    assert outcome.status == "ran", outcome.message
    build_book(project)
    return project, outcome


@pytest.fixture(scope="session")
def offline_probe_book(tmp_path_factory):
    """The probe chapter as a newcomer with no mirror, no network and an empty cache runs
    it (on its generator), and its book built: (project, outcome)."""
    from dlwild.runner import Project, build_book, run_chapter

    root = tmp_path_factory.mktemp("offline-probe-book")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DLWILD_MIRROR", raising=False)
        mp.setenv("DLWILD_OFFLINE", "1")
        mp.setenv("DLWILD_HOME", str(root / "empty-home"))
        project = Project(make_project(root / "book", {"probe": PROBE}))
        outcome = run_chapter(project, "probe", {"epochs": 2})
    assert outcome.status == "ran", outcome.message
    build_book(project)
    return project, outcome


@pytest.fixture(scope="session")
def real_book():
    """`dlwild book` on the checkout: every chapter (fresh ones skipped), then the build."""
    from dlwild.runner import Project

    done = subprocess.run([DLWILD, "book"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Project(ROOT)


@pytest.fixture
def one_torch_thread():
    """Small convolutions run fastest on one thread on a shared 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

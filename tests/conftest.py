"""Shared fixtures: an isolated dlwild home, and the book's root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]


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

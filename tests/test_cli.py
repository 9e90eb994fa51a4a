"""The `dlwild` command as a user meets it: clear messages and exit codes for bad input."""

from __future__ import annotations

import subprocess

import pytest

from chapter_sources import FINISH, TINY_CHAPTER, TRAINS, tiny
from conftest import DLWILD, make_project


def dlwild(*args, cwd=None):
    return subprocess.run([DLWILD, *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "book", {"tiny": TINY_CHAPTER})


def test_bad_common_parameters_are_usage_errors_from_the_declaration(project):
    done = dlwild("--root", str(project), "run", "tiny", "--scale", "huge")
    assert done.returncode == 2 and "scale='huge' is not one of 'quick' | 'full'" in done.stderr
    done = dlwild("--root", str(project), "run", "tiny", "--seed", "-3")
    assert done.returncode == 2 and "seed=-3 is out of range" in done.stderr
    done = dlwild("--root", str(project), "run", "tiny", "--data", "maybe")
    assert done.returncode == 2 and "data='maybe'" in done.stderr
    done = dlwild("--root", str(project), "run", "tiny", "-p", "answer=-5")
    assert done.returncode == 2 and "answer=-5 is out of range" in done.stderr
    assert not (project / "_build" / "staging" / "tiny").exists()  # refused before a kernel
    done = dlwild("--root", str(project), "run", "tiny", "-p", "data=synthetic")
    assert done.returncode == 2 and "use --data" in done.stderr
    done = dlwild("--root", str(project), "book", "--jobs", "0")
    assert done.returncode == 2 and "--jobs must be a whole number of at least 1" in done.stderr
    assert not (project / "results" / "tiny.json").exists()


def test_data_is_a_flag_like_scale(project):
    import json

    done = dlwild("--root", str(project), "run", "tiny", "--data", "synthetic", "--seed", "3")
    assert done.returncode == 0, done.stderr
    params = json.loads((project / "results" / "tiny.json").read_text())["provenance"]["params"]
    assert params["data"] == "synthetic" and params["seed"] == 3


def test_chapters_lists_declarations(project):
    done = dlwild("--root", str(project), "chapters")
    assert done.returncode == 0, done.stderr
    assert "tiny: A tiny chapter" in done.stdout
    assert "-p answer=...  int in [0, 1000]" in done.stdout


def test_unknown_chapter_and_parameter(project):
    done = dlwild("--root", str(project), "run", "nope")
    assert done.returncode == 1 and "unknown chapter 'nope'" in done.stderr
    assert "tiny" in done.stderr
    done = dlwild("--root", str(project), "run", "tiny", "-p", "colour=red")
    assert done.returncode == 2 and "no parameter colour" in done.stderr
    done = dlwild("--root", str(project), "run", "tiny", "-p", "nonsense")
    assert done.returncode == 2 and "key=value" in done.stderr


def test_run_then_skip_then_status(project):
    first = dlwild("--root", str(project), "run", "tiny", "-p", "answer=7")
    assert first.returncode == 0, first.stderr
    assert "IPKernelApp" not in first.stderr  # Unix sockets: no "TCP without encryption"
    again = dlwild("--root", str(project), "run", "tiny", "-p", "answer=7")
    assert again.returncode == 0 and "up to date, skipped" in again.stdout
    status = dlwild("--root", str(project), "status")
    assert status.returncode == 0


def test_cite_gives_a_claim_with_its_provenance(project):
    import json

    assert dlwild("--root", str(project), "run", "tiny", "--scale", "full").returncode == 0
    assert dlwild("--root", str(project), "record", "tiny").returncode == 0
    assert dlwild("--root", str(project), "run", "tiny", "-p", "answer=7").returncode == 0
    done = dlwild("--root", str(project), "cite", "tiny:answer")
    assert done.returncode == 0, done.stderr
    full, quick = done.stdout.split("\n\n")  # the full-scale record first
    assert "committed full-scale record" in full
    assert "notebooks/tiny.html#claim-answer-full" in full
    assert "ours 42" in full and "ours 7" in quick
    assert quick.rstrip().endswith("notebooks/tiny.html#claim-answer")
    record = json.loads((project / "results" / "tiny.json").read_text())
    assert record["provenance"]["commit"] in quick and "seed 0" in quick
    done = dlwild("--root", str(project), "cite", "nope")
    assert done.returncode == 1 and "no claim 'nope'" in done.stderr
    assert "tiny:answer" in done.stderr


def test_run_shows_the_chapter_progress_unless_quiet(project):
    (project / "notebooks" / "tiny.md").write_text(tiny(TRAINS, FINISH))
    shown = dlwild("--root", str(project), "run", "tiny")
    assert shown.returncode == 0, shown.stderr
    assert "[tiny] tiny training" in shown.stdout and "[tiny] tiny chapter done" in shown.stdout
    quiet = dlwild("--root", str(project), "run", "tiny", "--force", "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert "[tiny]" not in quiet.stdout and "tiny: done" in quiet.stdout


def test_no_book_here(tmp_path):
    done = dlwild("run", "tiny", cwd=tmp_path)
    assert done.returncode == 1 and "no book found" in done.stderr


def test_data_commands():
    listing = dlwild("data", "list")
    assert listing.returncode == 0 and "mnist" in listing.stdout and "CC BY" in listing.stdout
    done = dlwild("data", "fetch", "nope")
    assert done.returncode == 1 and "unknown data set 'nope'" in done.stderr


def test_record_takes_only_a_full_run(project):
    done = dlwild("--root", str(project), "record", "tiny")
    assert done.returncode == 1 and "does not exist" in done.stderr
    assert dlwild("--root", str(project), "run", "tiny").returncode == 0
    done = dlwild("--root", str(project), "record", "tiny")
    assert done.returncode == 1 and "comes from a quick run" in done.stderr
    assert not (project / "book" / "records" / "tiny.full.json").exists()
    assert dlwild("--root", str(project), "run", "tiny", "--scale", "full").returncode == 0
    done = dlwild("--root", str(project), "record", "tiny")
    assert done.returncode == 0, done.stderr
    assert "git could not compare" in done.stdout  # the throw-away book is no git checkout
    saved = project / "book" / "records" / "tiny.full.json"
    assert saved.read_bytes() == (project / "results" / "tiny.json").read_bytes()
    from dlwild.core import results

    assert results.load_record("tiny", project / "book" / "records")["scale"] == "full"
    done = dlwild("--root", str(project), "record", "nope")
    assert done.returncode == 1 and "unknown chapter 'nope'" in done.stderr

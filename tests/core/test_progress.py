"""Tests of dlwild.core.progress: the mode from the environment and the one-line-per-update
stream of plain mode."""

from __future__ import annotations

import io

import pytest

from dlwild.core.progress import _LineStream, progress_bar, progress_mode


@pytest.mark.parametrize(("value", "mode"), [("", "auto"), ("plain", "plain"), (" PLAIN ", "plain"),
                                             ("off", "off"), ("0", "off"), ("yes", "auto")])
def test_the_mode_comes_from_the_environment(monkeypatch, value, mode):
    monkeypatch.setenv("DLWILD_PROGRESS", value)
    assert progress_mode() == mode


def test_every_redraw_becomes_its_own_line():
    out = io.StringIO()
    stream = _LineStream(out)
    assert stream.write("\rstep 1  \rstep 2\n\n") == len("\rstep 1  \rstep 2\n\n")
    assert out.getvalue() == "step 1\nstep 2\n"
    assert not stream.isatty() and stream.getvalue() == out.getvalue()  # the rest is passed on


def test_a_long_plain_loop_prints_about_twenty_lines(monkeypatch, capsys):
    monkeypatch.setenv("DLWILD_PROGRESS", "plain")
    assert sum(progress_bar(range(400), desc="long")) == sum(range(400))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("long")]
    assert 15 <= len(lines) <= 25 and "400/400" in lines[-1]

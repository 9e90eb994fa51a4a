"""Known answers for verdicts (core.claims), the results contract (core.results), the run
(core.run), its HTML (core.html) and provenance, and atomic result writes."""

from __future__ import annotations

import errno
import json
import math

import pytest

from dlwild.core import claims, config, hardware, html, provenance, results
from dlwild.core.chapter import Chapter, Param
from dlwild.core.claims import Claim, Measured
from dlwild.core.run import _plain

DEMO = Chapter(name="demo", title="Demo", summary="a test chapter", papers=("p",),
               params={"k": Param(1, int)}, settings={"quick": {}, "full": {}})


def claim(**kw):
    base = dict(id="c", paper="p", source="Table 1", metric="MR", paper_value=0.10,
                tolerance=0.02)
    base.update(kw)
    return Claim(**base)


@pytest.mark.parametrize("kind,ours,expected", [
    ("value", 0.115, "holds"), ("value", 0.125, "differs"), ("value", 0.08, "holds"),
    ("value", 0.079, "differs"),
    ("at_most", 0.05, "holds"), ("at_most", 0.12, "holds"), ("at_most", 0.121, "differs"),
    ("at_least", 0.50, "holds"), ("at_least", 0.08, "holds"), ("at_least", 0.079, "differs"),
])
def test_numeric_verdicts(kind, ours, expected):
    word, reason = claims.verdict(claim(kind=kind), Measured(ours, data="d", scale="quick"))
    assert word == expected
    assert reason


def test_relation_verdicts():
    rel = claim(kind="holds", paper_value=True, tolerance=0)
    assert claims.verdict(rel, Measured(True, "d", "quick"))[0] == "holds"
    assert claims.verdict(rel, Measured(False, "d", "quick"))[0] == "differs"
    with pytest.raises(ValueError, match="relative"):
        claims.verdict(rel, Measured(0.3, "d", "quick"))


def test_not_comparable_keeps_its_reason():
    word, reason = claims.verdict(claim(), Measured(0.1, "LibriSpeech", "quick",
                                                    not_comparable="not TIMIT"))
    assert (word, reason) == ("not comparable", "not TIMIT")
    word, reason = claims.verdict(claim(), Measured(math.nan, "d", "quick"))
    assert word == "not comparable" and "finite" in reason


def test_claim_validation():
    with pytest.raises(ValueError):
        claim(kind="roughly")
    with pytest.raises(ValueError):
        claim(kind="holds", paper_value=0.3)
    with pytest.raises(ValueError):
        claim(tolerance=-1)


def test_compare_requires_every_claim_measured():
    with pytest.raises(KeyError, match="without a measurement"):
        claims.compare([claim()], {})
    with pytest.raises(KeyError, match="no claim"):
        claims.compare([claim()], {"c": Measured(0.1, "d", "q"), "x": Measured(1, "d", "q")})
    rows = claims.compare([claim()], {"c": Measured(0.1, "d", "quick", note="3 seeds")})
    assert rows[0]["verdict"] == "holds" and rows[0]["paper_value"] == 0.10
    assert rows[0]["note"].startswith("|ours - paper| = 0.000 <= 0.020")
    assert rows[0]["note"].endswith("; 3 seeds")
    rows = claims.compare([claim()], {"c": Measured(0.1, "d", "q", not_comparable="not TIMIT")})
    assert rows[0]["note"] == "not TIMIT"


def test_claims_html_marks_verdicts():
    rows = claims.compare([claim()], {"c": Measured(0.5, "d", "quick")})
    markup = html.claims_html(rows, "cap")
    assert "verdict-differs" in markup and "0.500" in markup and "0.100" in markup


def _run(tmp_path, monkeypatch):
    monkeypatch.setenv("DLWILD_RESULTS_DIR", str(tmp_path))
    run = DEMO.start(scale="quick", seed=3, device="cpu", data="synthetic", k=1)
    run.use_data("toy", None, generator="a test generator")
    run.compare([claim()], {"c": Measured(0.11, "toy", "quick")}, show=False)
    return run


def test_run_writes_a_valid_record(tmp_path, monkeypatch):
    run = _run(tmp_path, monkeypatch)
    run.finish({"mr": 0.11}, show=False)
    record = results.load_results(run.results_path)
    assert record["chapter"] == "demo" and record["data"]["source"] == "synthetic"
    assert record["provenance"]["params"] == {"scale": "quick", "seed": 3, "device": "cpu",
                                              "data": "synthetic", "k": 1}
    assert record["claims"][0]["verdict"] == "holds"
    assert results.validate(record) == []


def test_training_time_of_the_networks_used_goes_into_the_provenance(tmp_path, monkeypatch):
    from types import SimpleNamespace

    run = _run(tmp_path, monkeypatch)
    run.finish({"mr": 0.11}, show=False)
    assert "training_s" not in results.load_results(run.results_path)["provenance"]
    run.use_training(SimpleNamespace(epochs=[{"seconds": 3000.0}, {"seconds": 4000.5}]))
    run.use_training(SimpleNamespace(epochs=[{"seconds": 1200.0}, {"epoch": 2}]))  # no time
    run.finish({"mr": 0.11}, show=False)
    record = results.load_results(run.results_path)
    assert record["provenance"]["training_s"] == 8200.5
    assert "<th>network training</th><td>2.3 h (" in html.provenance_html(record)


def test_durations_read_in_seconds_then_minutes_then_hours():
    assert provenance.duration(39.2) == "39 s"
    assert provenance.duration(120.0) == "2.0 min"
    assert provenance.duration(7199.0) == "120.0 min"
    assert provenance.duration(7200.0) == "2.0 h"
    assert provenance.duration(15_120.0) == "4.2 h"


def test_hardware_records_torch_threads(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    assert hardware.hardware_record()["torch_threads"] == 3
    assert hardware.hardware_record(torch.device("cpu"))["name"].endswith("(3 threads)")


def test_nan_metrics_are_refused(tmp_path, monkeypatch):
    run = _run(tmp_path, monkeypatch)
    with pytest.raises(results.ResultsError, match="NaN"):
        run.finish({"mr": float("nan")}, show=False)
    assert not (tmp_path / "demo.json").exists()


def test_full_disk_keeps_previous_results(tmp_path, monkeypatch):
    run = _run(tmp_path, monkeypatch)
    run.finish({"mr": 0.11}, show=False)
    path = run.results_path
    before = path.read_text()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(config.os, "fsync", no_space)
    with pytest.raises(OSError, match="No space"):
        run.finish({"mr": 0.2}, show=False)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["demo.json"]


def test_validate_names_problems():
    assert results.validate({}) and "chapter" in results.validate({})[0]
    record = json.loads(results.dumps({
        "chapter": "x", "scale": "huge", "data": {"source": "made up", "datasets": []},
        "provenance": {}, "claims": [{"id": "a", "paper": "p", "source": "s", "metric": "m",
                                      "paper_value": 1, "ours": 1, "tolerance": 0,
                                      "verdict": "maybe", "note": ""}],
        "metrics": {}}))
    problems = " ".join(results.validate(record))
    assert "scale" in problems and "data.source" in problems
    assert "provenance.commit missing" in problems and "maybe" in problems


def test_load_results_names_a_broken_file(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(results.ResultsError, match="x.json"):
        results.load_results(bad)


def test_status_rows_one_per_claim(tmp_path, monkeypatch):
    run = _run(tmp_path, monkeypatch)
    run.finish({}, show=False)
    record = results.load_results(run.results_path)
    table = results.status_rows([record, record])
    assert len(table) == 2 and set(table["verdict"]) == {"holds"}


def test_full_scale_record_is_shown_and_listed(tmp_path, monkeypatch, capsys):
    run = _run(tmp_path, monkeypatch)
    records = tmp_path / "records"
    assert run.show_record(records) is None
    assert "No full-scale record" in capsys.readouterr().out
    run.finish({"mr": 0.11}, show=False)
    record = results.load_results(run.results_path)
    record["scale"] = "full"
    records.mkdir()
    (records / "demo.full.json").write_text(results.dumps(record))
    shown = run.show_record(records)
    assert shown["scale"] == "full"
    out = capsys.readouterr().out
    assert "Committed full-scale record" in out and "dlwild-claims" in out
    broken = records / "demo.full.json"
    broken.write_text("{}")
    with pytest.raises(results.ResultsError, match="demo.full.json"):
        results.load_record("demo", records)


def test_a_committed_sweep_is_shown_with_its_spread(tmp_path, monkeypatch, capsys):
    """Where ``book/records/<chapter>.sweep.json`` exists the page shows mean ± std over the
    seeds, in how many seeds each claim holds, and each seed's value on hover."""
    from dlwild.runner.sweep import aggregate

    run = _run(tmp_path, monkeypatch)
    run.finish({}, show=False)
    seeds = []
    for seed, ours in enumerate((0.10, 0.14, 0.12)):
        record = results.load_results(run.results_path)
        record["provenance"]["seed"] = seed
        record["claims"][0]["ours"] = ours
        seeds.append(record)
    records = tmp_path / "records"
    records.mkdir()
    (records / "demo.sweep.json").write_text(json.dumps(aggregate("demo", seeds)))
    run.show_record(records)
    out = capsys.readouterr().out
    assert "Committed sweep over 3 seeds (quick scale)" in out
    fmt = seeds[0]["claims"][0].get("fmt", ".3f")
    from dlwild.core.claims import format_value
    assert f"{format_value(0.12, fmt)} ± {format_value(0.02, fmt)}" in out
    assert f"seed 1: {format_value(0.14, fmt)}" in out and "3 seeds" in out
    (records / "demo.sweep.json").write_text(json.dumps({"chapter": "other", "claims": []}))
    with pytest.raises(results.ResultsError, match="not a sweep record"):
        results.load_sweep("demo", records)


def test_glued_numbers_keep_their_format_and_survive_myst_nb():
    from myst_nb.core.variables import format_plain_text  # what {glue:text} shows

    def shown(value, fmt=""):
        return format_plain_text(repr(_plain(value, fmt)), "")

    assert shown(221706, ",d") == "221\u202f706"
    assert shown(0.1234, ".2f") == "0.12"
    assert shown(0.85, ".3f") == "0.850" and shown(1.0, ".4f") == "1.0000"  # zeros kept
    assert shown(True) == "yes" and shown("it's") == "it's"
    assert str(_plain(0.85, ".3f")) == "0.850"


def test_undefined_metrics_become_null_and_pass_the_contract():
    import numpy as np

    from dlwild.core.results import undefined_as_null

    value = {"ap": [{"class": "a", "ap50": float("nan")}, {"class": "b", "ap50": 0.5}],
             "rho": np.float64("nan"), "n": 3, "inf": (float("inf"), 1.0), "name": "x"}
    assert undefined_as_null(value) == {
        "ap": [{"class": "a", "ap50": None}, {"class": "b", "ap50": 0.5}],
        "rho": None, "n": 3, "inf": [None, 1.0], "name": "x"}
    assert undefined_as_null(np.float32(0.25)) == 0.25


def test_available_memory_lies_between_nothing_and_the_whole_machine():
    import os

    from dlwild.core.hardware import available_memory

    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < available_memory() <= total


def test_settings_data_and_their_changes():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Net:
        steps: int
        sizes: tuple[int, ...] = (1, 2)

    data = provenance.settings_data({"nets": {"a": Net(3)}, "lr": 0.1})
    assert data == {"nets": {"a": {"steps": 3, "sizes": [1, 2]}}, "lr": 0.1}
    assert json.loads(json.dumps(data)) == data
    later = provenance.settings_data({"nets": {"a": Net(5), "b": Net(1)}, "lr": 0.1})
    assert provenance.settings_changes(data, later) == ["nets.a.steps", "nets.b"]
    assert provenance.settings_changes(data, data) == []
    assert provenance.settings_changes(1, 2) == ["settings"]


def test_a_record_carries_its_settings_and_says_when_they_are_not_todays(
        tmp_path, monkeypatch, capsys):
    """A record keeps the settings its run had; shown on a page whose chapter has other
    settings today, a line names what changed; a record without settings says so."""
    run = _run(tmp_path, monkeypatch)
    run.finish({"mr": 0.11}, show=False)
    record = results.load_results(run.results_path)
    assert record["provenance"]["settings"] == provenance.settings_data(DEMO.settings["quick"])
    assert "<th>settings</th>" in html.provenance_html(record)
    record["scale"] = "full"
    records = tmp_path / "records"
    records.mkdir()
    for settings, expected in ((DEMO.settings["full"], None),
                               ({"changed": True}, "has changed since this record was made"),
                               (None, "does not carry the settings its run had")):
        if settings is None:
            record["provenance"].pop("settings")
        else:
            record["provenance"]["settings"] = provenance.settings_data(settings)
        (records / "demo.full.json").write_text(results.dumps(record))
        run.show_record(records)
        out = capsys.readouterr().out
        assert ("dlwild-record-settings" in out) == (expected is not None)
        assert expected is None or expected in out


def test_the_settings_line_names_at_most_a_few_changes():
    record = {"scale": "full", "provenance": {"settings": {f"s{i}": i for i in range(9)}}}
    line = html.record_settings_html(record, {f"s{i}": -i for i in range(9)}, shown=3)
    assert "8 settings: s1, s2, s3, …" in line      # s0 is 0 either way
    assert html.record_settings_html(record, record["provenance"]["settings"]) == ""

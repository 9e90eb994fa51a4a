"""The chapter's declaration and settings: every parameter checked once, before anything is
engraved or trained, with a message that says what is wanted; what quick scale scales down."""

from __future__ import annotations

import json

import pytest

from dlwild.core.config import ConfigError
from dlwild.deepscores.chapter import CHAPTER
from dlwild.deepscores.settings import SETTINGS, parse_eval_pages, scale_note


def test_declaration_accepts_the_defaults_and_good_values(tmp_path):
    assert CHAPTER.validate({})["schedule"] == "joint"
    values = CHAPTER.validate({"fonts": ["Leipzig", "Bravura"], "pages": 10,
                               "schedule": "paper", "eval_pages": f"deepscores_v1:{tmp_path}"})
    assert values["fonts"] == ["Leipzig", "Bravura"] and values["pages"] == 10


@pytest.mark.parametrize("given,words", [
    ({"fonts": "Leipzig"}, "fonts"), ({"fonts": []}, "fonts"), ({"fonts": ["Comic"]}, "fonts"),
    ({"fonts": ["Leipzig", "Leipzig"]}, "fonts"), ({"pages": 1}, "pages"),
    ({"pages": "10"}, "pages"), ({"pages": 2.5}, "pages"), ({"pages": True}, "pages"),
    ({"schedule": "staged"}, "schedule"), ({"eval_pages": "deepscores:/x"}, "eval_pages"),
    ({"data": "synthetic"}, "data"),
])
def test_declaration_refuses_bad_values_naming_the_parameter(given, words):
    with pytest.raises(ConfigError, match=words):
        CHAPTER.validate(given)


def test_eval_pages_v2_takes_the_json_file(tmp_path):
    (tmp_path / "ds2.json").write_text(json.dumps({}))
    assert parse_eval_pages(f"deepscores_v2:{tmp_path / 'ds2.json'}") == (
        "deepscores_v2", tmp_path / "ds2.json")


def test_eval_pages_v2_takes_a_folder_with_exactly_one_json(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "deepscores_test.json").write_text("{}")
    assert parse_eval_pages(f"deepscores_v2:{tmp_path}") == (
        "deepscores_v2", tmp_path / "deepscores_test.json")


@pytest.mark.parametrize("files", [[], ["train.json", "test.json"]])
def test_eval_pages_v2_folder_without_one_json_says_it_takes_the_file(tmp_path, files):
    for name in files:
        (tmp_path / name).write_text("{}")
    with pytest.raises(ValueError, match=r"deepscores_v2 takes the JSON annotation file"):
        parse_eval_pages(f"deepscores_v2:{tmp_path}")
    # the declaration's check says the same before any kernel starts (was: [Errno 21] deep in
    # the chapter)
    with pytest.raises(ConfigError, match=r"eval_pages=.*deepscores_v2 takes the JSON"):
        CHAPTER.validate({"eval_pages": f"deepscores_v2:{tmp_path}"})


def test_eval_pages_refuses_what_is_not_there(tmp_path):
    for spec in ("deepscores_v3:/x", "nowhere", "deepscores_v2:"):
        with pytest.raises(ValueError, match="eval_pages must be"):
            parse_eval_pages(spec)
    with pytest.raises(ValueError, match="does not exist"):
        parse_eval_pages(f"deepscores_v1:{tmp_path / 'missing'}")
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(ValueError, match="deepscores_v1 takes the data set's folder"):
        parse_eval_pages(f"deepscores_v1:{tmp_path / 'a.json'}")
    with pytest.raises(ConfigError, match="does not exist"):
        CHAPTER.validate({"eval_pages": f"deepscores_v2:{tmp_path / 'none.json'}"})


def test_settings_are_json_and_full_keeps_the_papers_protocol_where_it_matters():
    """Full scale: the papers' page resolution, classes, patch size, fonts and both
    schedules' steps, on every composer of the corpus; the paper-sized run beside it."""
    from dlwild.deepscores.settings import PAPER_SIZED

    for settings in SETTINGS.values():
        record = settings.as_dict()
        assert record["steps"] == settings.steps and isinstance(record["fonts"], list)
    full = SETTINGS["full"]
    assert full.interline * full.detector_scale == 10 and full.detector_classes == 20
    assert full.patch_size == (220, 120) and len(full.fonts) == 5 and full.corpus == "all"
    assert (PAPER_SIZED.classifier_width, PAPER_SIZED.classifier_blocks) == (40, (2, 3, 4, 3))
    assert PAPER_SIZED.steps == 30_000 and PAPER_SIZED.crop == (512, 512)


def test_scale_note_names_what_quick_scale_scales_down():
    quick, full = SETTINGS["quick"], SETTINGS["full"]
    note = scale_note("quick")
    assert f"{quick.pieces} chorales in {len(quick.fonts)} fonts" in note
    assert f"{quick.steps:,} steps" in note and f"{full.steps:,} steps" in note
    assert f"{quick.classifier_epochs} epochs" in note
    paper = scale_note("full")
    assert paper.startswith("against the papers' protocol") and "30,000 steps" in paper
    assert "at most 40 per composer" in paper

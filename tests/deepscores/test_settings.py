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


def test_eval_pages_refuses_what_is_not_there(tmp_path):
    for spec in ("deepscores_v3:/x", "nowhere", "deepscores_v2:"):
        with pytest.raises(ValueError, match="eval_pages must be"):
            parse_eval_pages(spec)
    with pytest.raises(ValueError, match="does not exist"):
        parse_eval_pages(f"deepscores_v1:{tmp_path / 'missing'}")
    with pytest.raises(ConfigError, match="does not exist"):
        CHAPTER.validate({"eval_pages": f"deepscores_v2:{tmp_path / 'none.json'}"})


def test_settings_are_json_and_full_is_the_paper_like_run():
    for settings in SETTINGS.values():
        record = settings.as_dict()
        assert record["steps"] == settings.steps and isinstance(record["fonts"], list)
    full = SETTINGS["full"]
    assert (full.classifier_width, full.classifier_blocks) == (40, (2, 3, 4, 3))
    assert full.patch_size == (220, 120) and full.steps == 30_000 and len(full.fonts) == 5


def test_scale_note_names_what_quick_scale_scales_down():
    quick, full = SETTINGS["quick"], SETTINGS["full"]
    note = scale_note("quick")
    assert f"{quick.pieces} chorales in {len(quick.fonts)} fonts" in note
    assert f"{quick.steps:,} steps" in note and f"{full.steps:,} steps" in note
    assert f"{quick.classifier_epochs} epochs" in note
    assert scale_note("full").startswith("nothing")

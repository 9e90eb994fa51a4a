"""The DeepScores chapter's declaration (see :mod:`dlwild.core.chapter`)."""

from __future__ import annotations

from dlwild.core.chapter import Chapter, Param
from dlwild.deepscores.classes import FONTS
from dlwild.deepscores.settings import SCHEDULES, SETTINGS, TRAINING_CODE, parse_eval_pages


def _known_fonts(fonts: list[str]) -> None:
    if not fonts or len(set(fonts)) != len(fonts) or any(f not in FONTS for f in fonts):
        raise ValueError(f"fonts must be a non-empty list of distinct fonts from "
                         f"{', '.join(FONTS)}")


CHAPTER = Chapter(
    name="deepscores",
    title="DeepScores and the Deep Watershed Detector",
    topic="Music scanning: tiny objects on large pages",
    summary="a DeepScores-style data set engraved from real scores, symbol classification, "
            "the one-stage Deep Watershed Detector",
    papers=("tuggener2018deepscores", "tuggener2018dwd", "elezi2018worms",
            "tuggener2020deepscoresv2"),
    params={
        "fonts": Param(None, list, "Verovio fonts to engrave in; None: the scale's",
                       items=str, optional=True, check=_known_fonts),
        "pages": Param(None, int, "about how many pages to engrave (whole pieces); None: the "
                       "scale's", between=(2, 100_000), optional=True),
        "eval_pages": Param(None, str, "real DeepScores pages to evaluate the detector on: "
                            "'deepscores_v2:<file.json>' (or a folder holding one .json) or "
                            "'deepscores_v1:<folder>'", optional=True, check=parse_eval_pages),
        "schedule": Param("joint", str, "'joint' (all losses from the start) or the paper's "
                          "staged 'paper' (e, c, b, e, tot)", choices=SCHEDULES),
    },
    settings=SETTINGS,
    data_modes=("auto", "real"),
    data_help="the pages are engraved here from music21's bundled corpus, always at hand, so "
              "auto and real are the same; the chapter has no generator",
    training_code=TRAINING_CODE,
)

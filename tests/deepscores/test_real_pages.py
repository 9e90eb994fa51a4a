"""Pages at the detector's working scale: rescaling, the interline read off the staff lines,
and real DeepScores pages read in both formats."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from scores import engraved_chorale

from dlwild.deepscores import real_pages as rp
from dlwild.deepscores.annotations import AnnotationError, Page, Symbol
from dlwild.deepscores.format_v1 import write_v1
from dlwild.deepscores.format_v2 import write_v2


def staff_image(interline: int, staves: int = 3, width: int = 400) -> np.ndarray:
    """White page with ``staves`` five-line staves (2 px lines), 8 interlines apart, plus a
    few short ink marks that must not count as lines."""
    image = np.full((staves * 12 * interline, width), 255, np.uint8)
    for k in range(staves):
        top = interline * (2 + 12 * k)
        for line in range(5):
            y = top + line * interline
            image[y:y + 2, 10:width - 10] = 0
        image[top: top + 4 * interline, 50:56] = 0  # a barline-like mark
    return image


@pytest.mark.parametrize("interline", [7, 10, 20])
def test_interline_from_drawn_staves(interline):
    assert rp.estimate_interline(staff_image(interline)) == pytest.approx(interline, abs=0.01)


def test_interline_of_an_engraved_page_is_the_engravers():
    engraved = engraved_chorale()
    assert rp.estimate_interline(engraved.image) == pytest.approx(10.0, abs=0.6)


def test_interline_refuses_pages_without_staves():
    with pytest.raises(ValueError, match="no ink"):
        rp.estimate_interline(np.full((50, 50), 255, np.uint8))
    with pytest.raises(ValueError, match="staff lines"):
        rp.estimate_interline(staff_image(10)[:40])


def test_scaled_pair_scales_image_boxes_and_size():
    engraved = engraved_chorale()
    image, page = rp.scaled(engraved, 0.5)
    assert image.shape == (round(engraved.image.shape[0] / 2), round(engraved.image.shape[1] / 2))
    assert (page.width, page.height) == (image.shape[1], image.shape[0])
    for before, after in zip(engraved.page.symbols, page.symbols, strict=True):
        assert after.bbox == pytest.approx(tuple(v / 2 for v in before.bbox))
        assert after.cls == before.cls
    # the ink stays under the scaled boxes: darkest pixel of a notehead box is ink
    head = next(s for s in page.symbols if s.cls == "noteheadBlack")
    x0, y0, x1, y1 = (int(round(v)) for v in head.bbox)
    assert image[y0:y1, x0:x1].min() < 100
    assert rp.scaled(engraved, 1.0)[0] is engraved.image
    with pytest.raises(ValueError, match="positive"):
        rp.scaled(engraved, 0)


def test_pages_of_any_resolution_come_to_the_working_scale():
    image = staff_image(20)
    page = Page("hi-res", image.shape[1], image.shape[0],
                [Symbol("noteheadBlack", (100.0, 60.0, 124.0, 80.0), 1)])
    ((small, scaled_page),) = rp.at_working_scale([(image, page)], 5.0)
    # interline 20 -> the detector's 5 px: a factor of 1/4
    assert small.shape == (round(image.shape[0] / 4), round(image.shape[1] / 4))
    assert scaled_page.symbols[0].bbox == pytest.approx((25.0, 15.0, 31.0, 20.0))


def test_v2_names_map_to_v1():
    assert rp.v1_class("noteheadBlackOnLine") == "noteheadBlack"
    assert rp.v1_class("noteheadHalfInSpace") == "noteheadHalf"
    assert rp.v1_class("keySharp") == "keySharp"


def test_real_pages_are_read_in_both_formats(tmp_path):
    engraved = engraved_chorale()
    page = replace(engraved.page, symbols=[
        replace(s, cls="noteheadBlackOnLine") if s.cls == "noteheadBlack" else s
        for s in engraved.page.symbols])
    classes = sorted({s.cls for s in page.symbols})
    json_path = write_v2([page], tmp_path / "v2", classes, images=[engraved.image])
    for spec in (f"deepscores_v2:{json_path}", f"deepscores_v2:{json_path.parent}"):
        real = rp.load_eval_pages(spec)  # the JSON, or the folder holding just that JSON
        assert real.kind == "v2" and len(real.items) == 1 and real.path == str(json_path)
        image, got = real.items[0]
        assert image.shape == engraved.image.shape
        assert [s.cls for s in got.symbols] == [s.cls for s in engraved.page.symbols]
        assert real.record()["pages"] == 1
    write_v1(engraved.page, engraved.image, tmp_path / "v1",
             sorted({s.cls for s in engraved.page.symbols}))
    real1 = rp.load_eval_pages(f"deepscores_v1:{tmp_path / 'v1'}")
    assert real1.kind == "v1" and real1.items[0][0].shape == engraved.image.shape


def test_real_page_image_size_must_match(tmp_path):
    engraved = engraved_chorale()
    classes = sorted({s.cls for s in engraved.page.symbols})
    json_path = write_v2([engraved.page], tmp_path / "v2", classes, images=[engraved.image])
    image_path = tmp_path / "v2" / "images" / f"{engraved.page.id}.png"
    Image.fromarray(engraved.image[:-10]).save(image_path)
    with pytest.raises(AnnotationError, match="height|size|px"):
        rp.load_eval_pages(f"deepscores_v2:{json_path}")

"""DeepScores-classification: patch cutting, capping, splits, macro accuracy, the CNN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from dlwild.deepscores.annotations import Page, Symbol
from dlwild.deepscores.classify import (
    PATCH_SIZE,
    Patches,
    SymbolResNet,
    confusion_matrix,
    context_confusion,
    extract_patches,
    macro_accuracy,
    per_class_accuracy,
    predict,
    split_by_piece,
    top_classes,
    train_classifier,
)
from dlwild.deepscores.settings import PAPER_LIKE

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def blank(height: int = 400, width: int = 300, value: int = 255) -> np.ndarray:
    return np.full((height, width), value, dtype=np.uint8)


def ink_centroid(patch: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(patch < 128)
    return float(ys.mean()), float(xs.mean())


# ---- patches -------------------------------------------------------------------------------


def test_patch_is_centred_on_the_box():
    image = blank()
    image[200:210, 100:110] = 0  # the symbol's pixels: box (100, 200, 110, 210)
    image[150:160, 60:70] = 0  # context: another symbol 50 px above, 40 px left
    page = Page("p", 300, 400, [Symbol("noteheadBlack", (100, 200, 110, 210), 1)], piece="x")
    patches = extract_patches([page], [image], ["noteheadBlack"])
    assert patches.images.shape == (1, *PATCH_SIZE) and patches.images.dtype == np.uint8
    patch = patches.images[0]
    h, w = PATCH_SIZE
    centre = patch[h // 2 - 5:h // 2 + 5, w // 2 - 5:w // 2 + 5]
    assert (centre == 0).all()
    # the context is kept where it lies relative to the symbol
    assert (patch[h // 2 - 55:h // 2 - 45, w // 2 - 45:w // 2 - 35] == 0).all()
    assert (patch < 128).sum() == 200
    record = patches.records.iloc[0]
    assert (record["page"], record["piece"], record["instance"]) == ("p", "x", 1)
    assert (record["x"], record["y"], record["box_h"], record["box_w"]) == (105, 205, 10, 10)


def test_odd_sizes_and_fractional_centres_stay_within_half_a_pixel():
    image = blank()
    image[201:208, 100:107] = 0  # box (100, 201, 107, 208): centre (103.5, 204.5)
    page = Page("p", 300, 400, [Symbol("dot", (100, 201, 107, 208), 1)])
    for size in [(31, 21), (30, 20), (51, 24)]:
        patch = extract_patches([page], [image], ["dot"], size=size).images[0]
        cy, cx = ink_centroid(patch)
        assert abs(cy - (size[0] - 1) / 2) <= 0.5 and abs(cx - (size[1] - 1) / 2) <= 0.5


def test_border_is_padded_white():
    image = blank(value=100)  # grey paper, to tell the page from the padding
    image[0:10, 0:10] = 0
    page = Page("p", 300, 400, [Symbol("gClef", (0, 0, 10, 10), 1)])
    patch = extract_patches([page], [image], ["gClef"]).images[0]
    # top-left of the patch = round(5 - 110), round(5 - 60) = (-105, -55)
    assert (patch[:105] == 255).all() and (patch[:, :55] == 255).all()
    assert (patch[105:115, 55:65] == 0).all()
    assert (patch[115:, 65:] == 100).all()
    # the bottom-right corner, and a float image (0..1)
    corner = Page("q", 300, 400, [Symbol("gClef", (290, 390, 300, 400), 1)])
    patch = extract_patches([corner], [blank(value=100) / 255.0], ["gClef"]).images[0]
    assert (patch[:115, :65] == 100).all()
    assert (patch[115:] == 255).all() and (patch[:, 65:] == 255).all()


def test_image_size_must_match_the_page():
    page = Page("p", 300, 400, [Symbol("gClef", (0, 0, 10, 10), 1)])
    with pytest.raises(ValueError, match="would not fit"):
        extract_patches([page], [blank(200, 300)], ["gClef"])


def test_images_from_png_paths_and_downscaling(tmp_path):
    image = blank()
    image[200:212, 100:112] = 0
    path = tmp_path / "page.png"
    Image.fromarray(image).save(path)
    page = Page("p", 300, 400, [Symbol("noteheadBlack", (100, 200, 112, 212), 1)])
    full = extract_patches([page], [path], ["noteheadBlack"], size=(24, 16))
    small = extract_patches([page], [image], ["noteheadBlack"], size=(24, 16), out_size=(6, 4))
    assert small.images.shape == (1, 6, 4)
    # area average: each output pixel is the mean of its 4 x 4 block of the full-size patch
    expected = full.images[0].reshape(6, 4, 4, 4).mean(axis=(1, 3))
    assert np.abs(small.images[0].astype(float) - expected).max() <= 0.5
    assert small.images[0].min() == 0 and small.images[0].max() == 255


def many_pages(n_pages: int = 6, per_page: int = 12) -> tuple[list[Page], list[np.ndarray]]:
    """Pages of 3 pieces x 2 fonts; classes 'a' (common), 'b', 'c' (rare)."""
    rng = np.random.default_rng(0)
    pages, images = [], []
    for p in range(n_pages):
        symbols = []
        for i in range(per_page):
            cls = "a" if i % 4 else ("c" if i % 8 else "b")
            x, y = rng.uniform(10, 280), rng.uniform(10, 380)
            symbols.append(Symbol(cls, (x, y, x + 8, y + 8), i + 1))
        pages.append(Page(f"page{p}", 300, 400, symbols, piece=f"piece{p % 3}",
                          font=("Leipzig", "Bravura")[p // 3]))
        images.append(blank())
    return pages, images


def test_per_class_cap_is_deterministic_and_independent_of_other_classes():
    pages, images = many_pages()
    counts = pd.Series([s.cls for p in pages for s in p.symbols]).value_counts().to_dict()
    assert counts == {"a": 54, "b": 12, "c": 6}
    patches = extract_patches(pages, images, ["a", "b", "c"], size=(20, 10), per_class=10)
    assert patches.records["cls"].value_counts().to_dict() == {"a": 10, "b": 10, "c": 6}
    assert [patches.classes[i] for i in patches.labels] == patches.records["cls"].tolist()
    again = extract_patches(pages, images, ["a", "b", "c"], size=(20, 10), per_class=10)
    pd.testing.assert_frame_equal(patches.records, again.records)
    assert np.array_equal(patches.images, again.images)
    other = extract_patches(pages, images, ["a", "b", "c"], size=(20, 10), per_class=10,
                            seed=1)
    assert not patches.records.equals(other.records)
    alone = extract_patches(pages, images, ["a"], size=(20, 10), per_class=10)
    keys = ["page", "instance"]
    pd.testing.assert_frame_equal(
        patches.records[patches.records["cls"] == "a"][keys].reset_index(drop=True),
        alone.records[keys])
    assert (alone.labels == 0).all()
    uncapped = extract_patches(pages, images, ["c", "a"], size=(20, 10), per_class=None)
    assert len(uncapped) == 60 and set(uncapped.labels[uncapped.records["cls"] == "c"]) == {0}
    assert top_classes(pages, 2) == ["a", "b"]


def test_split_by_piece_is_disjoint_and_covers_everything():
    pages, images = many_pages()
    patches = extract_patches(pages, images, ["a", "b", "c"], size=(20, 10), per_class=None)
    splits = split_by_piece(patches, (0.6, 0.2, 0.2), seed=3)
    assert len(splits) == 3 and all(len(s) for s in splits)
    assert np.array_equal(np.sort(np.concatenate(splits)), np.arange(len(patches)))
    pieces = [set(patches.records["piece"].iloc[s]) for s in splits]
    assert sum(len(p) for p in pieces) == 3  # every piece in exactly one split
    # both fonts of a piece go to the same split
    part = patches.take(splits[0])
    assert part.records.groupby("piece")["font"].nunique().eq(2).all()
    assert len(part) == len(splits[0]) and part.images.shape[1:] == (20, 10)
    again = split_by_piece(patches.records, (0.6, 0.2, 0.2), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(splits, again, strict=True))
    with pytest.raises(ValueError, match="3 pieces cannot fill 4 splits"):
        split_by_piece(patches, (0.4, 0.2, 0.2, 0.2))


def test_split_by_piece_fills_every_split_before_a_second_piece():
    records = pd.DataFrame({"piece": ["big"] * 90 + ["small"] * 10})
    train, test = split_by_piece(records, (0.9, 0.1), seed=0)
    assert len(train) + len(test) == 100 and len(train) and len(test)


# ---- metrics -------------------------------------------------------------------------------


def test_macro_accuracy_known_answers():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 1, 1]  # recalls 2/3, 1, 0 (class 2 is never predicted)
    assert macro_accuracy(y_true, y_pred, 3) == pytest.approx(5 / 9)
    # a class absent from the truth (3) does not count, even when it is predicted
    assert macro_accuracy(y_true, [0, 0, 3, 1, 1, 2], 4) == pytest.approx((2 / 3 + 1 + 1) / 3)
    assert macro_accuracy(y_true, y_true, 3) == 1.0
    # macro, not micro: the rare class weighs as much as the common one
    assert macro_accuracy([0] * 9 + [1], [0] * 10, 2) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="outside"):
        macro_accuracy([0, 3], [0, 0], 3)
    with pytest.raises(ValueError, match="empty"):
        macro_accuracy([], [], 3)


def test_confusion_tables():
    classes = ["accidentalSharp", "keySharp", "noteheadBlack"]
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 1, 2, 1, 0, 2]
    cm = confusion_matrix(y_true, y_pred, 3)
    assert cm.tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 1]]
    table = per_class_accuracy(y_true, y_pred, classes)
    assert table["support"].tolist() == [3, 2, 1]
    assert table["accuracy"].tolist() == pytest.approx([1 / 3, 1 / 2, 1])
    assert table["precision"].tolist() == pytest.approx([1 / 2, 1 / 2, 1 / 2])
    sub = context_confusion(y_true, y_pred, classes, ["accidentalSharp", "keySharp"])
    assert sub.to_numpy().tolist() == [[1, 1, 1], [1, 1, 0]]
    assert list(sub.columns) == ["accidentalSharp", "keySharp", "other"]
    with pytest.raises(KeyError, match="augmentationDot"):
        context_confusion(y_true, y_pred, classes, ["augmentationDot", "keySharp"])
    never = per_class_accuracy([0, 0], [0, 0], ["a", "b"])
    assert np.isnan(never.loc["b", "accuracy"]) and np.isnan(never.loc["b", "precision"])


# ---- network and training ------------------------------------------------------------------


def test_symbol_resnet_shapes_and_paper_like_size():
    net = SymbolResNet(7, width=8, blocks=(1, 1, 1), in_size=(56, 32))
    assert net(torch.zeros(5, 1, 56, 32)).shape == (5, 7)
    with pytest.raises(ValueError, match=r"\(N, 1, 56, 32\)"):
        net(torch.zeros(5, 1, 220, 120))
    paper = SymbolResNet(123, in_size=PATCH_SIZE, **PAPER_LIKE)
    convs = [m for m in paper.modules()
             if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) == 25
    assert 7e6 < sum(p.numel() for p in paper.parameters()) < 9e6


def shapes(n: int, seed: int, size: tuple[int, int] = (24, 16)) -> Patches:
    """Drawn shapes, jittered and noisy: 0 vertical bar, 1 horizontal bar, 2 dot."""
    rng = np.random.default_rng(seed)
    h, w = size
    images = np.full((3 * n, h, w), 255, dtype=np.uint8)
    labels = np.repeat(np.arange(3), n)
    for i, label in enumerate(labels):
        cy, cx = h // 2 + rng.integers(-2, 3), w // 2 + rng.integers(-2, 3)
        t = int(rng.integers(1, 3))
        if label == 0:
            images[i, cy - 7:cy + 7, cx - t:cx + t] = 0
        elif label == 1:
            images[i, cy - t:cy + t, cx - 6:cx + 6] = 0
        else:
            images[i, cy - 2:cy + 2, cx - 2:cx + 2] = 0
        noise = rng.integers(0, 40, size=(h, w))
        images[i] = np.where(images[i] == 0, noise, 255 - noise)
    records = pd.DataFrame({"piece": [f"s{seed}"] * len(labels)})
    return Patches(images, labels.astype(np.int64), ("vbar", "hbar", "dot"), records)


def test_cnn_learns_separable_shapes_via_fit():
    train, test = shapes(40, seed=0), shapes(20, seed=1)
    torch.manual_seed(0)
    net = SymbolResNet(3, width=8, blocks=(1, 1), in_size=(24, 16))
    history = train_classifier(net, train, test, epochs=5, batch_size=16, progress=False)
    assert len(history) == 5 and "val_accuracy" in history.epochs[-1]
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]
    predicted = predict(net, test)
    assert predicted.shape == (60,)
    assert macro_accuracy(test.labels, predicted, 3) > 0.9
    assert history.epochs[-1]["val_accuracy"] == pytest.approx(
        float((predicted == test.labels).mean()))

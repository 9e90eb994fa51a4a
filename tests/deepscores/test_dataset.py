"""The engraved data set: split by piece across fonts, cached, engraved in worker processes
alike, its checksum and its summary."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pytest
from scores import SNIPPET, SOURCES, digest, small_dataset

from dlwild.core.cache import ArtifactCache
from dlwild.deepscores import dataset as dataset_module
from dlwild.deepscores import engrave as engrave_module
from dlwild.deepscores.dataset import (
    DataSummary,
    build_dataset,
    classes_by_piece,
    corpus_record,
    dataset_sha256,
    shared_classes,
    split_pieces,
)
from dlwild.deepscores.engrave import EngraveError


def test_malformed_score_is_skipped_and_logged(tmp_path, caplog):
    sources = {"good": SOURCES["tiny-a"], "broken": SNIPPET[: len(SNIPPET) // 2]}
    with caplog.at_level(logging.WARNING, logger="dlwild.deepscores.dataset"):
        data = build_dataset(None, ["Leipzig"], 0, sources=sources,
                             cache=ArtifactCache(tmp_path))
    assert "broken" in data.skipped and "malformed" in data.skipped["broken"]
    assert any("broken" in r.getMessage() and "malformed" in r.getMessage()
               for r in caplog.records)
    assert data.train_pieces == ["good"] and data.test_pieces == []
    with pytest.raises(EngraveError, match="no usable piece"):
        build_dataset(None, ["Leipzig"], 0, sources={"broken": sources["broken"]},
                      cache=ArtifactCache(tmp_path))


def test_dataset_split_by_piece_across_fonts_deterministic_and_cached(tmp_path, monkeypatch):
    fonts = ["Leipzig", "Bravura"]
    data = build_dataset(None, fonts, 3, sources=SOURCES, test_fraction=0.34,
                         cache=ArtifactCache(tmp_path / "a"))
    assert set(data.train_pieces) | set(data.test_pieces) == set(SOURCES)
    assert not set(data.train_pieces) & set(data.test_pieces) and len(data.test_pieces) == 1
    for side, pieces in ((data.train, data.train_pieces), (data.test, data.test_pieces)):
        assert {p.page.piece for p in side} == set(pieces)
        for piece in pieces:  # every font of a piece on the same side
            assert {p.page.font for p in side if p.page.piece == piece} == set(fonts)
    assert all(p.page.symbols for p in data.pages())
    # The masks stay in their files (a full-scale set would not fit in memory with them)
    # and are read when asked for, with the engraver's types.
    first = data.train[0]
    assert all(isinstance(p, dataset_module.StoredPage) for p in data.pages())
    assert not isinstance(tuple.__getitem__(first, 2), np.ndarray)
    assert first.class_mask.dtype == np.uint8 and first.instance_mask.dtype == np.uint16
    assert first.class_mask.shape == first.instance_mask.shape == first.image.shape
    assert first.instance_mask.max() >= len(first.page.symbols) > 0
    # Same seed, fresh cache: identical split, boxes and pixels.
    again = build_dataset(None, fonts, 3, sources=SOURCES, test_fraction=0.34,
                          cache=ArtifactCache(tmp_path / "b"))
    assert (again.train_pieces, again.test_pieces) == (data.train_pieces, data.test_pieces)
    assert [digest(p) for p in again.pages()] == [digest(p) for p in data.pages()]
    # Second call with the same cache: read back from disk, nothing engraved.
    monkeypatch.setattr(engrave_module, "engrave",
                        lambda *a, **k: pytest.fail("engraved again instead of loading"))
    cached = build_dataset(None, fonts, 3, sources=SOURCES, test_fraction=0.34,
                           cache=ArtifactCache(tmp_path / "a"))
    assert [digest(p) for p in cached.pages()] == [digest(p) for p in data.pages()]
    assert [p.page for p in cached.pages()] == [p.page for p in data.pages()]


def test_dataset_from_the_corpus(tmp_path):
    data = build_dataset(2, ["Leipzig"], 0, max_pages_per_piece=1,
                         cache=ArtifactCache(tmp_path))
    assert len(data.train_pieces) == len(data.test_pieces) == 1
    assert all(p.startswith("bach/") for p in data.train_pieces + data.test_pieces)
    assert len(data.pages()) == 2 and not data.skipped
    for engraved in data.pages():
        page = engraved.page
        assert engraved.image.shape == (page.height, page.width)
        assert len(page.symbols) > 100 and "noteheadBlack" in page.classes()
        assert page.font == "Leipzig" and page.piece in page.source


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_puts_a_class_of_some_pieces_into_test_when_it_can(seed):
    pieces = [f"piece-{i}" for i in range(8)]
    plain_train, plain_test = split_pieces(pieces, 0.25, seed)
    # "rare" occurs only in two pieces that the plain seeded shuffle puts both into train.
    rare = plain_train[:2]
    classes = {p: {"noteheadBlack", *({"keySharp"} if p in rare else ())} for p in pieces}
    assert "keySharp" not in shared_classes(plain_train, plain_test, classes)
    train, test = split_pieces(pieces, 0.25, seed, classes)
    assert len(test) == len(plain_test) and sorted(train + test) == sorted(pieces)
    assert shared_classes(train, test, classes) == {"noteheadBlack", "keySharp"}
    assert len(set(rare) & set(test)) == 1  # one in each side: learnt and tested
    assert split_pieces(pieces, 0.25, seed, classes) == (train, test)  # deterministic


def test_split_leaves_a_class_of_a_single_piece_alone():
    pieces = [f"piece-{i}" for i in range(6)]
    classes = {p: {"noteheadBlack"} for p in pieces}
    classes["piece-3"] = {"noteheadBlack", "restWhole"}
    # Nothing to gain: every candidate shares the same classes, so the plain shuffle stays.
    assert split_pieces(pieces, 0.34, 5, classes) == split_pieces(
        pieces, 0.34, 5)


def test_worker_processes_engrave_the_same_pages(tmp_path):
    serial = build_dataset(None, ["Leipzig"], 1, sources=SOURCES, test_fraction=0.34,
                           cache=ArtifactCache(tmp_path / "serial"))
    parallel = build_dataset(None, ["Leipzig"], 1, sources=SOURCES, test_fraction=0.34,
                             cache=ArtifactCache(tmp_path / "parallel"), workers=2)
    assert (parallel.train_pieces, parallel.test_pieces) == (serial.train_pieces,
                                                             serial.test_pieces)
    assert [digest(p) for p in parallel.pages()] == [digest(p) for p in serial.pages()]
    assert parallel.sha256 == serial.sha256


def test_an_engraved_piece_is_let_go_once_stored(tmp_path, monkeypatch):
    """A full-scale build engraves hundreds of pieces in worker processes: each piece's pages
    with their masks (about 8 MB a page) must be freed once stored, not held by the finished
    job until the build ends (at full scale that held 170 MB a piece, past the machine's
    memory half way)."""
    import gc
    import weakref

    alive: list[weakref.ref] = []
    held: list[int] = []
    save = dataset_module._Pieces.save

    def watched(self, piece, pages):
        gc.collect()
        held.append(sum(ref() is not None for ref in alive))
        alive.extend(weakref.ref(page.class_mask) for page in pages)
        save(self, piece, pages)

    monkeypatch.setattr(dataset_module._Pieces, "save", watched)
    kept = dataset_module._Pieces(ArtifactCache(tmp_path / "cache"),
                                 {"code": "test", "params": {}, "data": {}})
    done, _ = dataset_module._engrave_pieces(list(SOURCES), None, ["Leipzig"], SOURCES, 10.0,
                                             (2100, 2970), None, workers=2, kept=kept)
    assert len(done) == len(SOURCES) >= 3 and held == [0] * len(SOURCES)
    assert all(isinstance(page, dataset_module.StoredPage) for pages in done.values()
               for page in pages)


def test_engraving_stops_at_the_pieces_asked_for_and_skips_broken_ones():
    sources = {"a": SOURCES["tiny-a"], "broken": SNIPPET[:50], "b": SOURCES["tiny-b"],
               "c": SOURCES["tiny-c"]}
    done, skipped = dataset_module._engrave_pieces(
        ["a", "broken", "b", "c"], 2, ["Leipzig"], sources, 10.0, (2100, 2970), None)
    assert list(done) == ["a", "b"] and list(skipped) == ["broken"]


def test_corpus_record_carries_a_checksum_of_the_engraved_data():
    tiny_dataset = small_dataset()
    record = corpus_record(tiny_dataset).record()
    checksum = record["sha256"]
    assert len(checksum) == 64 and int(checksum, 16) >= 0
    assert dataset_sha256(tiny_dataset) == checksum  # same pages, same value
    # Any change of a page's pixels, its annotations or the split changes it.
    first = tiny_dataset.test[0]
    inked = first._replace(image=first.image.copy())
    inked.image[0, 0] ^= 1
    assert dataset_sha256(replace(tiny_dataset, test=[inked, *tiny_dataset.test[1:]])) != checksum
    moved = replace(first.page, symbols=first.page.symbols[1:])
    assert dataset_sha256(replace(tiny_dataset, test=[first._replace(page=moved),
                                                         *tiny_dataset.test[1:]])) != checksum
    swapped = replace(tiny_dataset, train=tiny_dataset.test, test=tiny_dataset.train)
    assert dataset_sha256(swapped) != checksum


def test_data_summary_counts_and_words():
    tiny_dataset = small_dataset()
    corpus = corpus_record(tiny_dataset)
    summary = DataSummary.of(tiny_dataset, corpus)
    assert summary.pages == {"train": len(tiny_dataset.train), "test": len(tiny_dataset.test)}
    assert summary.pieces == {"train": 2, "test": 1}
    assert summary.symbols["test"] == sum(len(p.page.symbols) for p in tiny_dataset.test)
    by_piece = classes_by_piece(tiny_dataset.pages())
    assert summary.n_classes == len(set().union(*by_piece.values()))
    assert set(summary.shared) == shared_classes(tiny_dataset.train_pieces,
                                                 tiny_dataset.test_pieces, by_piece)
    prose = summary.prose()
    assert prose["ds_n_pages"] == str(len(tiny_dataset.pages()))
    assert prose["ds_split_candidates"] == "64" and prose["ds_music21"] == corpus.music21
    one_side = prose["ds_one_side_text"]
    assert one_side == "no class is on one side only" or "only in the" in one_side
    assert list(summary.table().index) == ["train", "test"]
    assert summary.styled().caption is None  # nothing skipped
    skipped = DataSummary.of(replace(tiny_dataset, skipped={"x": "broken"}), corpus)
    assert "x (broken)" in skipped.styled().caption


def test_an_interrupted_build_resumes_with_the_pieces_it_had_engraved(tmp_path, monkeypatch):
    """Each finished piece (and each unusable one, with its reason) is kept at once; a rerun
    engraves only the rest, gives the same data set, then drops the per-piece copies."""
    sources = {**SOURCES, "broken": SNIPPET[:50]}
    whole = build_dataset(None, ["Leipzig"], 0, sources=sources,
                          cache=ArtifactCache(tmp_path / "whole"))
    real, calls = dataset_module.engrave_piece, []

    def interrupted(piece, *args):
        calls.append(piece)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the run is stopped on the third piece
        return real(piece, *args)

    store = ArtifactCache(tmp_path / "resumed")
    monkeypatch.setattr(dataset_module, "engrave_piece", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(None, ["Leipzig"], 0, sources=sources, cache=store)
    first_two = list(calls[:2])
    calls.clear()
    resumed = build_dataset(None, ["Leipzig"], 0, sources=sources, cache=store)
    assert not set(calls) & set(first_two) and len(calls) == 2  # only the two left
    assert resumed.sha256 == whole.sha256 and resumed.skipped == whole.skipped
    kept = store.root / dataset_module.PIECE_CACHE
    assert not kept.exists() or not [p for p in kept.iterdir() if p.is_dir()]


def test_a_corpus_of_every_composer_is_capped_per_composer():
    pieces = engrave_module.corpus_pieces("all")
    composers = {engrave_module.piece_composer(p) for p in pieces}
    assert {"bach", "beethoven", "palestrina", "mozart"} <= composers
    assert len(pieces) > len(engrave_module.corpus_pieces("bach")) + 1000
    capped = dataset_module.capped(pieces, 3)
    counts = {c: sum(engrave_module.piece_composer(p) == c for p in capped) for c in composers}
    assert max(counts.values()) == 3 and counts["bach"] == 3
    assert capped == [p for p in pieces if p in set(capped)]  # the order is kept
    assert dataset_module.capped(pieces, None) == pieces
    with pytest.raises(ValueError, match="per_composer"):
        dataset_module.capped(pieces, 0)
    assert engrave_module.corpus_name("all") == "music21 corpus, every composer"

"""The engraved data set: corpus pieces engraved in several fonts (:mod:`.engrave`), split
into training and test pieces, cached as an artifact, with the checksum and the record of
what it was made from."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dlwild.core.cache import ArtifactCache, code_hash, parts_key
from dlwild.deepscores import engrave as engraver
from dlwild.deepscores.annotations import Page, Symbol
from dlwild.deepscores.classes import CLASSES, FONTS
from dlwild.deepscores.engrave import INTERLINE_PX, PAPER, UNIT, EngravedPage
from dlwild.deepscores.prose import Glued, listing
from dlwild.deepscores.settings import Settings

log = logging.getLogger(__name__)

CACHE_NAME = "deepscores-engraved"
DATASET_FORMAT = 1
#: The code an engraved data set depends on (its artifact key).
ENGRAVING_CODE = ("dlwild.deepscores.engrave", "dlwild.deepscores.raster", "dlwild.deepscores.svg",
                  "dlwild.deepscores.geometry", "dlwild.deepscores.classes",
                  "dlwild.deepscores.annotations", "dlwild.deepscores.dataset")


@dataclass
class EngravedDataset:
    """Engraved pages split by piece (every font of a piece on the same side), the pieces of
    each side, the pieces skipped (name -> reason) and the build parameters."""

    train: list[EngravedPage]
    test: list[EngravedPage]
    train_pieces: list[str]
    test_pieces: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def pages(self) -> list[EngravedPage]:
        """All pages, train first."""
        return [*self.train, *self.test]

    def annotations(self) -> list[Page]:
        """Every page's annotations, train first."""
        return [p.page for p in self.pages()]

    @property
    def interline(self) -> float:
        """The interline the pages were engraved at (px)."""
        return float(self.params.get("interline", INTERLINE_PX))

    @property
    def corpus(self) -> str:
        """What the pages were engraved from, in words (e.g. "music21 Bach chorales")."""
        return engraver.corpus_name(str(self.params.get("composer", "bach")))

    @functools.cached_property
    def sha256(self) -> str:
        """The data set's content hash (:func:`dataset_sha256`), computed once."""
        return dataset_sha256(self)


#: How many seeded piece splits :func:`split_pieces` compares (the first: the plain shuffle).
SPLIT_CANDIDATES = 64


def shared_classes(train: Sequence[str], test: Sequence[str],
                   classes: Mapping[str, Iterable[str]]) -> set[str]:
    """The classes that occur on both sides of a piece split (``classes``: piece -> its
    classes): the ones a model can learn from the training pieces *and* be tested on."""
    seen_train = {c for piece in train for c in classes.get(piece, ())}
    seen_test = {c for piece in test for c in classes.get(piece, ())}
    return seen_train & seen_test


def classes_by_piece(pages: Iterable[EngravedPage]) -> dict[str, set[str]]:
    """Piece name -> the symbol classes on its pages (the input of :func:`shared_classes`)."""
    out: dict[str, set[str]] = {}
    for engraved in pages:
        out.setdefault(engraved.page.piece, set()).update(s.cls for s in engraved.page.symbols)
    return out


def split_pieces(pieces: Sequence[str], test_fraction: float, seed: int,
           classes: Mapping[str, Iterable[str]] | None = None,
           candidates: int = SPLIT_CANDIDATES) -> tuple[list[str], list[str]]:
    """Seeded split of piece names into (train, test) -- by piece, never by page, so every font
    of a piece lands on the same side; at least one piece on each side when there are two or
    more pieces and ``test_fraction`` > 0.

    Without ``classes`` the split is one seeded shuffle. With ``classes`` (piece -> the symbol
    classes on its pages), ``candidates`` seeded shuffles of the same sizes are compared and the
    first one whose test pieces hold the most classes that the training pieces hold too
    (:func:`shared_classes`) is kept: a class that occurs in several pieces then gets into the
    test pieces whenever a split of this size can put it there, while a class of a single piece
    stays wherever that piece falls (it cannot be on both sides). The first candidate is the
    plain shuffle; the result depends on ``seed`` (and the pieces) only."""
    order = sorted(pieces)
    n_test = round(test_fraction * len(order))
    if test_fraction > 0 and len(order) >= 2:
        n_test = min(max(n_test, 1), len(order) - 1)
    elif len(order) < 2:
        n_test = 0
        if test_fraction > 0:
            log.warning("only one usable piece (%s): it goes to train, test is empty", order)
    best: tuple[list[str], list[str]] | None = None
    best_score = -1
    for k in range(max(1, candidates) if classes is not None else 1):
        shuffled = list(order)
        random.Random(f"split-{seed}" if k == 0 else f"split-{seed}-{k}").shuffle(shuffled)
        train, test = sorted(shuffled[n_test:]), sorted(shuffled[:n_test])
        score = len(shared_classes(train, test, classes)) if classes is not None else 0
        if score > best_score:
            best, best_score = (train, test), score
    assert best is not None
    return best


def engrave_piece(piece: str, score: str | None, fonts: Sequence[str], interline: float,
                  paper: tuple[int, int], max_pages: int | None) -> list[EngravedPage]:
    """Every page of ``piece`` (``score``: its text, None: from music21's corpus) in every font
    of ``fonts``: the unit of work of :func:`build_dataset`, in a worker process or not."""
    text = score if score is not None else engraver.corpus_score(piece)
    return [page for font in fonts
            for page in engraver.engrave(text, piece=piece, font=font, interline=interline,
                                         paper=paper, max_pages=max_pages)]


def default_workers() -> int:
    """Engraving processes: one per CPU core this process may use (at most 8)."""
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


def capped(candidates: Sequence[str], per_composer: int | None) -> list[str]:
    """The first ``per_composer`` candidates of each composer, in the candidates' order (None:
    all): a corpus of many composers where one (Palestrina: two thirds of music21's corpus)
    would otherwise fill the data set."""
    if per_composer is None:
        return list(candidates)
    if per_composer < 1:
        raise ValueError(f"per_composer must be at least 1 (or None), got {per_composer}")
    taken: dict[str, int] = {}
    out = []
    for piece in candidates:
        composer = engraver.piece_composer(piece)
        if taken.get(composer, 0) < per_composer:
            taken[composer] = taken.get(composer, 0) + 1
            out.append(piece)
    return out


#: Where an unfinished build keeps each piece it has engraved (or found unusable), so that an
#: interrupted build resumes; removed once the whole data set is saved.
PIECE_CACHE = "deepscores-engraved-piece"


class _Pieces:
    """The per-piece store of one build: a piece's pages (or why it was skipped) under a key
    of the build's code, engraving parameters and the piece."""

    def __init__(self, store: ArtifactCache | None, parts: Mapping[str, Any]) -> None:
        self.store, self.parts, self.keys = store, parts, {}

    def _key(self, piece: str) -> str:
        params = {**self.parts["params"], "piece": piece}
        return self.keys.setdefault(piece, parts_key({**self.parts, "params": params}))

    def load(self, piece: str) -> list[EngravedPage] | str | None:
        """The piece's pages, its skip reason, or None when it was not done yet."""
        if self.store is None:
            return None
        done = self.store.load(PIECE_CACHE, self._key(piece), read_dataset)
        if done is None:
            return None
        return done.skipped[piece] if piece in done.skipped else done.train

    def save(self, piece: str, pages: list[EngravedPage] | str) -> None:
        if self.store is None:
            return
        skipped = {piece: pages} if isinstance(pages, str) else {}
        done = EngravedDataset([] if skipped else pages, [], [] if skipped else [piece], [],
                               skipped, {"piece": piece})
        params = {**self.parts["params"], "piece": piece}
        self.store.save(PIECE_CACHE, self._key(piece), lambda f: write_dataset(done, f),
                        {**self.parts, "params": params})

    def clear(self) -> None:
        """Remove every piece this build saved (the whole data set now holds them)."""
        if self.store is not None:
            for key in self.keys.values():
                self.store.remove(PIECE_CACHE, key)


def _engrave_pieces(candidates: Sequence[str], n_pieces: int | None, fonts: Sequence[str],
                    sources: Mapping[str, str] | None, interline: float,
                    paper: tuple[int, int], max_pages: int | None, workers: int = 1,
                    kept: _Pieces | None = None,
                    ) -> tuple[dict[str, list[EngravedPage]], dict[str, str]]:
    """The first ``n_pieces`` candidates (in order) that engrave in every font; a piece that
    fails in any font is skipped and logged. With ``workers`` > 1 the pieces are engraved in
    that many processes, a batch of the pieces still needed at a time: the same pieces and
    pages as one process makes. ``kept``: where each finished piece is saved at once and
    found again by a rerun (see :class:`_Pieces`)."""
    from dlwild.core.progress import progress_bar

    kept = kept if kept is not None else _Pieces(None, {})
    done: dict[str, list[EngravedPage]] = {}
    skipped: dict[str, str] = {}
    queue = list(candidates)
    pool = None
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    total = len(queue) if n_pieces is None else min(n_pieces, len(queue))
    bar = progress_bar(total=total, desc="engraving", unit="piece", disable=total < 50)
    try:
        while queue and (n_pieces is None or len(done) < n_pieces):
            wanted = len(queue) if n_pieces is None else n_pieces - len(done)
            batch, queue = queue[:wanted], queue[wanted:]
            before = {piece: kept.load(piece) for piece in batch}
            args = [(piece, sources[piece] if sources is not None else None, list(fonts),
                     interline, paper, max_pages) for piece in batch]
            jobs = [pool.submit(engrave_piece, *a) if pool is not None and before[a[0]] is None
                    else None for a in args]
            for index, (piece, arg) in enumerate(zip(batch, args, strict=True)):
                # A finished job holds its pages with their masks (about 8 MB a page) until
                # it is dropped: taken out of the list here, it goes once the piece is stored.
                job, jobs[index] = jobs[index], None
                result = before.pop(piece)
                if result is None:
                    try:
                        result = job.result() if job is not None else engrave_piece(*arg)
                    except engraver.EngraveError as exc:
                        log.warning("skipping piece %s: %s", piece, exc)
                        result = str(exc)
                    del job
                    kept.save(piece, result)
                    result = kept.load(piece) or result  # the stored copy: masks on disk
                if isinstance(result, str):
                    skipped[piece] = result
                else:
                    done[piece] = result
                    bar.update(1)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return done, skipped


def build_dataset(n_pieces: int | None = 8, fonts: Sequence[str] = ("Leipzig",), seed: int = 0,
                  *, composer: str = "bach", sources: Mapping[str, str] | None = None,
                  test_fraction: float = 0.25, interline: float = INTERLINE_PX,
                  paper: tuple[int, int] = PAPER, max_pages_per_piece: int | None = None,
                  per_composer: int | None = None, cache: ArtifactCache | None = None,
                  workers: int = 1) -> EngravedDataset:
    """Engrave ``n_pieces`` usable pieces (None: all) in every font of ``fonts`` and split them
    by piece, deterministically for ``seed`` (of :data:`SPLIT_CANDIDATES` seeded splits, the
    first whose test pieces share the most classes with the training pieces:
    :func:`split_pieces`); cached as an artifact keyed by code and parameters (``cache``: an
    ArtifactCache, default the user's).

    Pieces come from music21's corpus for ``composer`` ("all": every composer; seeded order,
    at most ``per_composer`` candidates of each, at most ``max_pages_per_piece`` pages of
    each piece), or from ``sources`` (name -> MusicXML/MEI text). Unusable pieces are skipped
    and logged; EngraveError when none is usable. ``workers`` processes engrave side by side
    (the pages do not change). Each finished piece is kept until the whole set is saved, so
    an interrupted build resumes where it stopped."""
    fonts = list(fonts)
    bad = [f for f in fonts if f not in FONTS]
    if not fonts or bad or len(set(fonts)) != len(fonts):
        raise ValueError(f"fonts must be distinct names from {', '.join(FONTS)}, got {fonts}")
    if n_pieces is not None and n_pieces < 1:
        raise ValueError(f"n_pieces must be at least 1 (or None for all), got {n_pieces}")
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must lie in [0, 1), got {test_fraction}")
    params = {"n_pieces": n_pieces, "fonts": fonts, "seed": seed, "composer": composer,
              "test_fraction": test_fraction, "interline": interline, "paper": list(paper),
              "unit": UNIT, "max_pages_per_piece": max_pages_per_piece,
              "split_candidates": SPLIT_CANDIDATES}
    if per_composer is not None:
        params["per_composer"] = per_composer
    if sources is not None:
        data: dict[str, Any] = {"sources": {name: hashlib.sha256(text.encode()).hexdigest()
                                            for name, text in sorted(sources.items())}}
    else:
        data = {"corpus": composer, "music21": engraver.music21_version()}
    data["verovio"] = engraver.verovio_version()
    parts = {"code": code_hash(*ENGRAVING_CODE), "params": params, "data": data}
    store = cache if cache is not None else ArtifactCache()
    piece_parts = {**parts, "params": {k: params[k] for k in
                                       ("fonts", "interline", "paper", "unit",
                                        "max_pages_per_piece")}}
    kept = _Pieces(store, piece_parts)

    def build() -> EngravedDataset:
        candidates = sorted(sources) if sources is not None else engraver.corpus_pieces(composer)
        random.Random(seed).shuffle(candidates)
        done, skipped = _engrave_pieces(capped(candidates, per_composer), n_pieces, fonts,
                                        sources, interline, paper, max_pages_per_piece,
                                        workers, kept)
        if not done:
            reasons = "; ".join(skipped.values()) or "no candidate pieces"
            where = composer if sources is None else "given sources"
            raise engraver.EngraveError(f"no usable piece for the engraved data set "
                                        f"({where}): {reasons}")
        if n_pieces is not None and len(done) < n_pieces:
            log.warning("only %d of %d pieces could be engraved", len(done), n_pieces)
        piece_classes = classes_by_piece(p for pages in done.values() for p in pages)
        train_pieces, test_pieces = split_pieces(list(done), test_fraction, seed,
                                                 piece_classes, SPLIT_CANDIDATES)
        return EngravedDataset(
            train=[p for piece in train_pieces for p in done[piece]],
            test=[p for piece in test_pieces for p in done[piece]],
            train_pieces=train_pieces, test_pieces=test_pieces, skipped=skipped,
            params=params)

    key = parts_key(parts)
    dataset = store.load(CACHE_NAME, key, read_dataset)
    if dataset is None:
        built = build()
        store.save(CACHE_NAME, key, lambda folder: write_dataset(built, folder), parts)
        del built  # its pages read their masks from the pieces' copies, removed below
        dataset = store.load(CACHE_NAME, key, read_dataset)
    kept.clear()
    return dataset


def _page_record(page: Page) -> dict[str, Any]:
    """JSON-able form of a Page."""
    return {"id": page.id, "width": page.width, "height": page.height, "piece": page.piece,
            "font": page.font, "source": page.source,
            "symbols": [{"cls": s.cls, "bbox": list(s.bbox), "instance": s.instance,
                         "obbox": list(s.obbox) if s.obbox is not None else None,
                         "comments": s.comments} for s in page.symbols]}


def _page_from_record(record: Mapping[str, Any]) -> Page:
    """Inverse of :func:`_page_record`."""
    symbols = [Symbol(cls=s["cls"], bbox=tuple(s["bbox"]), instance=s["instance"],
                      obbox=tuple(s["obbox"]) if s["obbox"] is not None else None,
                      comments=s["comments"]) for s in record["symbols"]]
    return Page(id=record["id"], width=record["width"], height=record["height"],
                symbols=symbols, piece=record["piece"], font=record["font"],
                source=record["source"])


def write_dataset(dataset: EngravedDataset, folder: Path) -> None:
    """Write ``dataset`` to ``folder``: index.json (split, skipped pieces, class list, pages
    with symbols) and per page three PNGs: image (8-bit grey), class mask (8-bit), instance
    mask (16-bit)."""
    from PIL import Image

    folder = Path(folder)
    (folder / "pages").mkdir(parents=True, exist_ok=True)
    records = []
    for split, pages in (("train", dataset.train), ("test", dataset.test)):
        for engraved in pages:
            page = engraved.page
            names = {kind: f"pages/{page.id}.{kind}.png"
                     for kind in ("image", "class", "instance")}
            Image.fromarray(engraved.image).save(folder / names["image"])
            Image.fromarray(engraved.class_mask).save(folder / names["class"])
            Image.fromarray(engraved.instance_mask.astype(np.uint16)).save(
                folder / names["instance"])
            records.append({"split": split, "files": names, "page": _page_record(page)})
    index = {"format": DATASET_FORMAT, "classes": list(CLASSES), "params": dataset.params,
             "train_pieces": dataset.train_pieces, "test_pieces": dataset.test_pieces,
             "skipped": dataset.skipped, "pages": records}
    (folder / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")


class StoredPage(EngravedPage):
    """An engraved page read from a data-set folder whose class and instance masks stay in
    their PNGs until asked for (each access reads them afresh): the chapter's training and
    evaluation need only the images and annotations, and the full scale's thousands of pages
    would otherwise hold three times their images' memory in masks (15 GB at half of it).
    Its mask fields hold the files; ``class_mask`` and ``instance_mask`` give the arrays."""

    __slots__ = ()

    @property
    def class_mask(self) -> np.ndarray:
        return _read_png(tuple.__getitem__(self, 2), np.uint8)

    @property
    def instance_mask(self) -> np.ndarray:
        return _read_png(tuple.__getitem__(self, 3), np.uint16)


def _read_png(path: Path, dtype: type) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im).astype(dtype, copy=False)


def read_dataset(folder: Path) -> EngravedDataset:
    """Read a folder written by :func:`write_dataset`: images and annotations into memory,
    the masks read when asked for (:class:`StoredPage`)."""
    folder = Path(folder)
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    if index.get("format") != DATASET_FORMAT or index.get("classes") != list(CLASSES):
        raise ValueError(f"{folder}: not an engraved data set of this dlwild version")
    dataset = EngravedDataset([], [], index["train_pieces"], index["test_pieces"],
                              index["skipped"], index["params"])
    for record in index["pages"]:
        files = record["files"]
        engraved = StoredPage(_page_from_record(record["page"]),
                              _read_png(folder / files["image"], np.uint8),
                              folder / files["class"], folder / files["instance"])
        (dataset.train if record["split"] == "train" else dataset.test).append(engraved)
    return dataset


# --- the chapter's data set ------------------------------------------------------------

def engraved_dataset(settings: Settings, *, fonts: Sequence[str] | None = None,
                     pages: int | None = None, seed: int = 0,
                     cache: ArtifactCache | None = None) -> EngravedDataset:
    """The chapter's engraved pages (cached): ``fonts`` and about ``pages`` pages (whole
    pieces, at least two) override the settings' fonts and pieces (the chapter parameters)."""
    fonts = tuple(fonts) if fonts else settings.fonts
    pieces = max(2, math.ceil(pages / len(fonts))) if pages else settings.pieces
    return build_dataset(n_pieces=pieces, fonts=fonts, seed=seed, composer=settings.corpus,
                         per_composer=settings.per_composer,
                         max_pages_per_piece=settings.max_pages_per_piece,
                         interline=settings.interline, cache=cache, workers=default_workers())


def dataset_sha256(dataset: EngravedDataset) -> str:
    """A checksum of the engraved data set as the chapter uses it: the build parameters, the
    train/test pieces, and per page (in order) its side, annotations and the bytes of its
    image and masks; two runs that engraved and split alike print the same value."""
    digest = hashlib.sha256()
    head = {"params": dataset.params, "train_pieces": dataset.train_pieces,
            "test_pieces": dataset.test_pieces}
    digest.update(json.dumps(head, sort_keys=True).encode())
    for side, pages in (("train", dataset.train), ("test", dataset.test)):
        for engraved in pages:
            page = engraved.page
            digest.update(json.dumps(
                {"side": side, "id": page.id, "size": [page.width, page.height],
                 "symbols": [[s.cls, list(s.bbox), None if s.obbox is None else list(s.obbox)]
                             for s in page.symbols]}).encode())
            for array in (engraved.image, engraved.class_mask, engraved.instance_mask):
                digest.update(str((array.dtype.str, array.shape)).encode())
                digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Corpus:
    """The real source of the engraved pages, for the results record: music21's corpus
    engraved here by Verovio (``run.use_data`` takes it like a download)."""

    name: str
    pieces: list[str]
    fonts: list[str]
    pages: int
    music21: str
    verovio: str
    sha256: str
    skipped: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The data set entry of the results record."""
        return {"name": self.name, "pieces": len(self.pieces),
                "fonts": self.fonts, "pages": self.pages, "music21": self.music21,
                "verovio": self.verovio, "sha256": self.sha256, "skipped": self.skipped,
                "sha256_of": "the engraved data set: its split, every page's annotations and "
                             "pixels (dataset_sha256)",
                "note": "real scores from the corpus shipped with music21, engraved here by "
                        "Verovio; not the DeepScores pages (engraved by LilyPond)"}


def corpus_record(dataset: EngravedDataset) -> Corpus:
    """What the engraved data set was made from, with its checksum (:func:`dataset_sha256`)."""
    return Corpus(name=engraver.corpus_name(dataset.params.get("composer", "bach")),
                  pieces=[*dataset.train_pieces, *dataset.test_pieces],
                  fonts=list(dataset.params.get("fonts", [])), pages=len(dataset.pages()),
                  music21=engraver.music21_version(), verovio=engraver.verovio_version(),
                  sha256=dataset.sha256, skipped=dict(dataset.skipped))


#: Skipped pieces the data-set table's caption names (the rest are counted).
SKIPS_NAMED = 12


@dataclass(frozen=True)
class DataSummary(Glued):
    """The engraved data set in numbers: pieces, pages and symbols per side, the classes the
    split shares and those on one side only, and the engraver's versions."""

    fonts: list[str]
    pieces: dict[str, int]
    pages: dict[str, int]
    symbols: dict[str, int]
    n_classes: int
    shared: list[str]
    one_side: dict[str, list[str]]
    split_candidates: int
    skipped: dict[str, str]
    corpus: Corpus

    @classmethod
    def of(cls, dataset: EngravedDataset, corpus: Corpus) -> DataSummary:
        """The summary of ``dataset`` (``corpus``: its :func:`corpus_record`)."""
        by_piece = classes_by_piece(dataset.pages())
        shared = shared_classes(dataset.train_pieces, dataset.test_pieces, by_piece)
        sides = {"training": dataset.train_pieces, "test": dataset.test_pieces}
        one_side = {side: sorted({c for piece in pieces for c in by_piece[piece]} - shared)
                    for side, pieces in sides.items()}
        return cls(fonts=list(dataset.params.get("fonts", [])),
                   pieces={"train": len(dataset.train_pieces), "test": len(dataset.test_pieces)},
                   pages={"train": len(dataset.train), "test": len(dataset.test)},
                   symbols={side: sum(len(p.page.symbols) for p in pages)
                            for side, pages in (("train", dataset.train),
                                                ("test", dataset.test))},
                   n_classes=len(set().union(*by_piece.values())), shared=sorted(shared),
                   one_side=one_side,
                   split_candidates=int(dataset.params.get("split_candidates", 1)),
                   skipped=dict(dataset.skipped), corpus=corpus)

    def table(self) -> pd.DataFrame:
        """Pieces, pages and symbols of each side, and the fonts."""
        return pd.DataFrame({"pieces": self.pieces, "pages": self.pages,
                             "symbols": self.symbols}).assign(fonts=", ".join(self.fonts))

    def styled(self) -> Any:
        """:meth:`table` as the page shows it, the pieces the engraver could not handle (if
        any) named in its caption."""
        styled = self.table().style.format({"symbols": "{:,d}"})
        if self.skipped:
            named = list(self.skipped.items())
            more = (f"; and {len(named) - SKIPS_NAMED} more (all in the results record)"
                    if len(named) > SKIPS_NAMED else "")
            styled = styled.set_caption(
                f"Skipped, the engraver could not handle {len(named)} pieces: " + "; ".join(
                    f"{piece} ({why})" for piece, why in named[:SKIPS_NAMED]) + more)
        return styled

    def prose(self) -> dict[str, str]:
        one_side = "; ".join(f"only in the {side} pieces: {listing(names)}"
                             for side, names in self.one_side.items() if names)
        return {"ds_n_pages": str(sum(self.pages.values())),
                "ds_corpus": self.corpus.name,
                "ds_n_pieces": str(sum(self.pieces.values())),
                "ds_n_skipped": str(len(self.skipped)),
                "ds_verovio": self.corpus.verovio.split("-")[0],
                "ds_music21": self.corpus.music21,
                "ds_split_candidates": str(self.split_candidates),
                "ds_shared_classes": str(len(self.shared)),
                "ds_n_classes": str(self.n_classes),
                "ds_one_side_text": one_side or "no class is on one side only"}

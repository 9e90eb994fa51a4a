"""DeepScores (ICPR 2018) and the Deep Watershed Detector (ISMIR 2018): engraved music pages
with exact annotations of tiny symbols, their file formats, and a one-stage detector.

The chapter: :mod:`~dlwild.deepscores.chapter` (its declaration), :mod:`~.settings` (settings
per scale), :mod:`~.dataset` (the engraved data set), :mod:`~.detector` and :mod:`~.pipeline`
(what the notebook calls), :mod:`~.figures`, :mod:`~.prose` and :mod:`~.claims`.

The methods: :mod:`~.annotations` (the page/symbol data model), :mod:`~.classes` (the SMuFL
class vocabulary and context rules), :mod:`~.svg` and :mod:`~.engrave` (real scores engraved
with Verovio), :mod:`~.geometry` (oriented boxes, background shares, instance maps),
:mod:`~.format_v1`, :mod:`~.format_v2` and :mod:`~.format_files` (DeepScores v1 and V2 readers
and writers), :mod:`~.real_pages` (pages at the detector's scale, real DeepScores pages),
:mod:`~.stats` (data-set statistics beside the paper's), :mod:`~.classify` (symbol patches and
the classification baseline), :mod:`~.dwd_targets`, :mod:`~.dwd` and :mod:`~.dwd_loss` (the
detector: targets, network, losses), :mod:`~.watershed` (decoding) and :mod:`~.evaluate`
(COCO-style AP per class)."""

"""DeepScores (ICPR 2018) and the Deep Watershed Detector (ISMIR 2018): engraved music pages
with exact annotations of tiny symbols, their file formats, and a one-stage detector.

Submodules: :mod:`~dlwild.deepscores.annotations` (the page/symbol data model),
:mod:`~dlwild.deepscores.classes` (the SMuFL class vocabulary and context rules),
:mod:`~dlwild.deepscores.engrave` (real scores engraved with Verovio),
:mod:`~dlwild.deepscores.formats` (DeepScores v1 and V2 readers and writers),
:mod:`~dlwild.deepscores.stats` (dataset statistics beside the paper's),
:mod:`~dlwild.deepscores.classify` (symbol patches and the classification baseline),
:mod:`~dlwild.deepscores.dwd` (the detector: targets, network, losses, decoding) and
:mod:`~dlwild.deepscores.evaluate` (COCO-style AP per class)."""

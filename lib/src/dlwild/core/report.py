"""What a chapter's notebook uses to report: the paper's claims and our measurements, glued
values for prose, and the results contract. A facade over :mod:`dlwild.core.claims`,
:mod:`~dlwild.core.run`, :mod:`~dlwild.core.results`, :mod:`~dlwild.core.provenance` and
:mod:`~dlwild.core.html`, so a notebook imports one module."""

from __future__ import annotations

from dlwild.core.claims import VERDICTS, Claim, Measured, compare, verdict
from dlwild.core.provenance import duration, training_seconds
from dlwild.core.results import ResultsError, load_record, load_results, undefined_as_null
from dlwild.core.run import Run, glue, glue_value

__all__ = [
    "VERDICTS", "Claim", "Measured", "ResultsError", "Run", "compare", "duration", "glue",
    "glue_value", "load_record", "load_results", "training_seconds", "undefined_as_null",
    "verdict",
]

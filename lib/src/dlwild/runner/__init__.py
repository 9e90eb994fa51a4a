"""The book machine: run chapters with Papermill, publish only real runs, build the book.

A chapter is a MyST notebook ``notebooks/<name>.md`` listed in ``_toc.yml`` and declared in
``dlwild/<name>/chapter.py`` (:class:`dlwild.core.chapter.Chapter`). Modules:
:mod:`~dlwild.runner.project` (folders, chapters), :mod:`~dlwild.runner.parameters`
(parameters cell, declaration, command-line values), :mod:`~dlwild.runner.freshness`
(skipping), :mod:`~dlwild.runner.execution` (Papermill) and
:mod:`~dlwild.runner.publishing` (pages, records, the book)."""

from dlwild.runner.execution import Outcome, run_book, run_chapter
from dlwild.runner.parameters import parse_assignment
from dlwild.runner.project import ChapterError, Project
from dlwild.runner.publishing import build_book, load_all_results, save_record

__all__ = ["ChapterError", "Outcome", "Project", "build_book", "load_all_results",
           "parse_assignment", "run_book", "run_chapter", "save_record"]

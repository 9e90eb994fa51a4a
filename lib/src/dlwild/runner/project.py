"""The book's folders and its chapters, found from ``_toc.yml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dlwild.core import config


class ChapterError(RuntimeError):
    """A chapter could not be run or published; the message says which and why."""


@dataclass(frozen=True)
class Project:
    """The book's folders, found from its root (the folder holding ``_toc.yml``)."""

    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        """The project containing ``start`` (default: the current folder)."""
        root = config.project_root(start)
        if root is None:
            raise ChapterError(
                f"no book found: neither {Path(start or Path.cwd()).resolve()} nor a parent "
                "holds _toc.yml (run dlwild from the book's checkout, or pass --root)"
            )
        return cls(root)

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def records(self) -> Path:
        return self.root / "book" / "records"

    @property
    def generated(self) -> Path:
        """``book/_generated``: pages the runner writes from results and declarations."""
        return self.root / "book" / "_generated"

    @property
    def build(self) -> Path:
        return self.root / "_build"

    @property
    def staging(self) -> Path:
        return self.build / "staging"

    @property
    def html(self) -> Path:
        return self.build / "html"

    def chapters(self) -> list[str]:
        """Chapter names, in book order: the ``_toc.yml`` entries under ``notebooks/``."""
        try:
            toc = yaml.safe_load((self.root / "_toc.yml").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ChapterError(f"cannot read {self.root / '_toc.yml'}: {exc}") from exc
        names: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                target = node.get("file")
                if isinstance(target, str) and target.startswith("notebooks/"):
                    names.append(Path(target).stem)
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(toc)
        return names

    def source(self, chapter: str) -> Path:
        """The MyST notebook of ``chapter``; unknown chapters are an error listing the known."""
        known = self.chapters()
        if chapter not in known:
            listing = ", ".join(known) if known else "none yet"
            raise ChapterError(f"unknown chapter {chapter!r}; the book's chapters: {listing}")
        path = self.notebooks / f"{chapter}.md"
        if not path.is_file():
            raise ChapterError(f"chapter {chapter!r} is in _toc.yml but {path} does not exist")
        return path

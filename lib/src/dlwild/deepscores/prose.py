"""Numbers the chapter's prose quotes: every typed result of the chapter names and formats
its own (``prose()``, tested) and glues them for ``{glue:text}`` roles (``glue()``), so the
notebook states no number itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dlwild.core.run import glue_value


class Glued:
    """A result whose numbers the page quotes: :meth:`prose` formats them by glue name."""

    def prose(self) -> dict[str, str]:
        """Glue name -> the formatted text the page shows."""
        raise NotImplementedError

    def glue(self) -> None:
        """Glue every text of :meth:`prose` (outside a kernel: nothing)."""
        glue_texts(self.prose())


def glue_texts(texts: Mapping[str, str]) -> None:
    """Glue each formatted text under its name."""
    for name, text in texts.items():
        glue_value(name, text)


def listing(names: Iterable[str], empty: str = "none") -> str:
    """Names separated by commas, or ``empty`` when there are none."""
    names = list(names)
    return ", ".join(names) if names else empty


def has_have(names: Iterable[object]) -> str:
    """'has' for one name, 'have' for several (for glued sentences)."""
    return "has" if len(list(names)) == 1 else "have"

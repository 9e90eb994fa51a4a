"""The data layer's errors, shared by the registry, the manifests and the fetcher."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ChecksumError", "DataError", "RegistryError", "UnknownDataset"]


class DataError(RuntimeError):
    """Base class of the data layer's errors."""


class ChecksumError(DataError, ValueError):
    """A file's content differs from its pinned sha256: it is refused, never used."""

    def __init__(self, file: str, expected: str, actual: str, where: str | Path = "") -> None:
        self.file, self.expected, self.actual, self.where = file, expected, actual, str(where)
        at = f" at {where}" if where else ""
        super().__init__(
            f"checksum mismatch for {file!r}{at}: expected sha256 {expected}, got {actual}. "
            "The file is corrupt, truncated or a different version; it was not used."
        )


class UnknownDataset(DataError, KeyError):
    """No data set of that name is registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class RegistryError(DataError, ValueError):
    """A data set file (toml) or its manifest (tsv) is malformed; the message names the file."""

"""The record of a training run, one dict per epoch: what :func:`dlwild.core.train.fit` returns,
what chapters plot and report, and what the artifact cache keeps beside the weights."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["History"]


@dataclass
class History:
    """Per-epoch records of a :func:`fit` run, JSON-able so chapters can put it in results.

    ``epochs`` holds one dict per epoch (``epoch`` counted from 1, ``train_loss``, ``val_loss``
    when there is validation data, the ``evaluate`` metrics, ``lr`` and ``seconds``).
    ``best_epoch`` is the epoch whose weights the model holds after early stopping (``None``
    without early stopping, where the model keeps the last epoch's weights); ``stopped_early``
    says whether patience ran out before ``epochs`` was reached. ``hardware`` names what the
    epochs ran on (e.g. ``"NVIDIA H200"``), so a model trained elsewhere and loaded from the
    cache still says where its learning curve was measured.
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    hardware: str | None = None

    def __len__(self) -> int:
        return len(self.epochs)

    def to_frame(self):
        """The records as a ``pandas.DataFrame`` indexed by epoch."""
        import pandas as pd

        frame = pd.DataFrame(self.epochs)
        return frame.set_index("epoch") if "epoch" in frame else frame

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy (plain lists, dicts, numbers); inverse of :meth:`from_dict`."""
        return {
            "epochs": [dict(record) for record in self.epochs],
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "hardware": self.hardware,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Rebuild a History from :meth:`to_dict` output (e.g. read back from JSON)."""
        best = data.get("best_epoch")
        return cls(
            epochs=[dict(record) for record in data.get("epochs", [])],
            best_epoch=None if best is None else int(best),
            stopped_early=bool(data.get("stopped_early", False)),
            hardware=data.get("hardware"),
        )

    def final(self, key: str) -> Any:
        """``key`` at the epoch whose weights the model ends with: ``best_epoch`` when early
        stopping restored one, else the last epoch."""
        if not self.epochs:
            raise KeyError(f"{key!r}: the history is empty (no epoch was trained)")
        record = self.epochs[-1]
        if self.best_epoch is not None:
            record = next((r for r in self.epochs if r.get("epoch") == self.best_epoch), record)
        if key not in record:
            raise KeyError(f"{key!r} is not recorded; the epochs have {', '.join(record)}")
        return record[key]

    def add_hardware(self, here: str) -> None:
        """Name ``here`` as hardware the epochs ran on (once, appended when resumed elsewhere)."""
        if self.hardware is None:
            self.hardware = here
        elif here not in self.hardware.split(" + "):
            self.hardware = f"{self.hardware} + {here}"

"""One execution of a chapter (made by :meth:`dlwild.core.chapter.Chapter.start`): its
resolved parameters, the data it used, its comparison with the paper, glued values, and the
results record it writes."""

from __future__ import annotations

import datetime as _dt
import html
import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlwild import __version__
from dlwild.core import config
from dlwild.core.claims import VERDICTS, Claim, Measured, claims_frame, compare, format_value
from dlwild.core.hardware import hardware_record
from dlwild.core.html import (
    banner_html,
    claims_html,
    display_html,
    provenance_html,
    record_settings_html,
    sweep_html,
)
from dlwild.core.provenance import (
    git_commit,
    package_versions,
    settings_data,
    training_seconds,
)
from dlwild.core.results import (
    SCHEMA_VERSION,
    ResultsError,
    dumps,
    load_record,
    load_sweep,
    validate,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import torch

    from dlwild.core.chapter import Chapter

@dataclass
class Run:
    """One execution of a chapter: its resolved parameters, the data it used, its claims and
    the results it writes. Made by ``CHAPTER.start(...)``, which validated the parameters,
    seeded everything and resolved ``device`` to a ``torch.device``; :meth:`use_data`,
    :meth:`compare` and :meth:`finish` fill and write ``results/<chapter>.json``."""

    chapter: Chapter
    scale: str
    seed: int
    device: torch.device
    data: str
    params: dict[str, Any] = field(default_factory=dict)
    datasets: list[dict[str, Any]] = field(default_factory=list, init=False)
    rows: list[dict[str, Any]] = field(default_factory=list, init=False)
    synthetic_reasons: list[str] = field(default_factory=list, init=False)
    training_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.started = _dt.datetime.now(_dt.UTC)
        self._t0 = time.perf_counter()

    @property
    def name(self) -> str:
        """The chapter's name (results file, glue names)."""
        return self.chapter.name

    @property
    def settings(self) -> Any:
        """The chapter's settings at this run's scale, or those of the ``protocol`` the run
        asked for (a chapter's :attr:`~dlwild.core.chapter.Chapter.protocols`)."""
        protocol = self.params.get("protocol", "book")
        if protocol != "book" and protocol in self.chapter.protocols:
            return self.chapter.protocols[protocol]
        return self.chapter.settings[self.scale]

    def glue_paper_values(self, claims: Iterable[Claim], fmt: str = ".4g") -> None:
        """Glue each claim's published value as ``paper_<claim id>`` for the prose that
        states the paper's claims (the values live in the library, not in the prose)."""
        for claim in claims:
            glue_value(f"paper_{claim.id}", claim.paper_value, fmt)

    # data ------------------------------------------------------------------
    def use_data(self, name: str, fetched: Any, *, generator: str = "") -> Any:
        """Record a data set the chapter uses: ``fetched`` from ``data.resolve`` (real) or
        None (the chapter's ``generator`` stands in; a banner says so, which the runner lifts to
        the top of the page)."""
        if fetched is not None:
            entry = {"source": "real", **fetched.record()}
            entry["name"] = name
        else:
            if not generator:
                raise ValueError(f"{name}: no real data and no generator named for the banner")
            why = ("The run asked for data='synthetic'" if self.data == "synthetic"
                   else f"The real data set '{name}' could not be reached (no cache, mirror "
                        "or network)")
            reason = f"{why}, so this run used {generator}."
            self.synthetic_reasons.append(reason)
            entry = {"name": name, "source": "synthetic", "generator": generator}
            display_html(banner_html(reason))
        self.datasets.append(entry)
        return fetched

    def use_training(self, history: Any) -> None:
        """Record a trained network the results rest on (``core.train.History``), trained now
        or loaded from the artifact cache: its training time goes into the provenance, so a
        run that loads cached networks is not taken for a cheap one."""
        self.training_s += training_seconds(history)

    @property
    def data_source(self) -> str:
        """``real`` when every data set was real, else ``synthetic``."""
        if any(d["source"] == "synthetic" for d in self.datasets):
            return "synthetic"
        return "real"

    # claims ----------------------------------------------------------------
    def compare(self, claims: Iterable[Claim], measured: Mapping[str, Measured],
                *, show: bool = True) -> pd.DataFrame:
        """Compare with the paper, glue every value, show the table; returns it as a frame."""
        self.rows = compare(claims, measured)
        for row in self.rows:
            stem = f"{self.name}_{row['id']}"
            glue(f"{stem}_paper", _plain(row["paper_value"], row["fmt"]))
            glue(f"{stem}_ours", _plain(row["ours"], row["fmt"]))
            glue(f"{stem}_verdict", _plain(row["verdict"]))
        counts = {v: sum(r["verdict"] == v for r in self.rows) for v in VERDICTS}
        for word, n in counts.items():
            glue(f"{self.name}_n_{word.replace(' ', '_')}", _plain(n))
        if show:
            display_html(claims_html(self.rows, f"Paper vs ours ({self.scale} scale)"))
        return claims_frame(self.rows)

    # finish ----------------------------------------------------------------
    def record(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """The results record of this run (see :func:`validate`)."""
        return {
            "schema": SCHEMA_VERSION,
            "chapter": self.name,
            "scale": self.scale,
            "data": {"source": self.data_source, "datasets": self.datasets},
            "provenance": {
                "commit": git_commit(),
                "dlwild_version": __version__,
                "params": {"scale": self.scale, "seed": self.seed, "device": str(self.device),
                           "data": self.data, **self.params},
                "seed": self.seed,
                "python": sys.version.split()[0],
                "packages": package_versions(),
                "hardware": hardware_record(self.device),
                "started": self.started.isoformat(timespec="seconds"),
                "wall_s": round(time.perf_counter() - self._t0, 2),
                "run_id": os.environ.get("DLWILD_RUN_ID", ""),
                **({"training_s": round(self.training_s, 1)} if self.training_s else {}),
                "settings": settings_data(self.settings),
            },
            "claims": list(self.rows),
            "metrics": dict(metrics),
        }

    def finish(self, metrics: Mapping[str, Any] | None = None, *, show: bool = True) -> None:
        """Write ``results/<chapter>.json`` atomically, glue the wall time, show provenance.
        (Returns nothing, so a notebook's last cell shows no path; see :attr:`results_path`.)"""
        record = self.record(metrics or {})
        problems = validate(record)
        if problems:
            raise ResultsError(f"{self.name}: results break the contract: {problems}")
        config.atomic_write_text(self.results_path, dumps(record))
        glue(f"{self.name}_wall_s", _plain(record["provenance"]["wall_s"], ".0f"))
        if show:
            display_html(provenance_html(record))

    @property
    def results_path(self) -> Path:
        """Where :meth:`finish` writes this chapter's results."""
        return config.results_dir() / f"{self.name}.json"

    def show_record(self, records_dir: Path | None = None) -> dict[str, Any] | None:
        """Show the committed full-scale record of this chapter beside the live run, and its
        committed sweep over seeds where there is one."""
        sweep = load_sweep(self.name, records_dir)
        if sweep is not None:
            display_html(sweep_html(sweep, f"Committed sweep over {len(sweep['seeds'])} seeds "
                                           f"({sweep['scale']} scale)"))
        record = load_record(self.name, records_dir)
        if record is None:
            display_html('<p class="dlwild-no-record">No full-scale record of this chapter is '
                          "committed yet (<code>book/records/" + html.escape(self.name)
                          + ".full.json</code>).</p>")
            return None
        when = record["provenance"]["started"]
        now = self.chapter.settings.get(record["scale"])
        display_html(claims_html(record["claims"], f"Committed full-scale record ({when})",
                                 record=True)
                      + record_settings_html(record, settings_data(now))
                      + provenance_html(record, "Provenance of the full-scale record"))
        return record



class _Plain:
    """A value glued as plain text in the chosen format. Its text/plain is a quoted string
    literal: myst-nb's ``{glue:text}`` reads it with ``ast.literal_eval``, which takes the
    quotes off and keeps the text as it is (a bare "0.850" would come back as 0.85)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return repr(self.text)


def _plain(value: Any, fmt: str = "") -> _Plain:
    if isinstance(value, bool) or value is None:
        return _Plain(format_value(value, fmt or ".3f"))
    if isinstance(value, (int, float)) and fmt:
        return _Plain(format_value(value, fmt))
    return _Plain(str(value))



def glue(name: str, value: Any) -> None:
    """Glue a value for ``{glue:text}`name``` in prose; outside a kernel this is a no-op."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    if get_ipython() is None:
        return
    from myst_nb import glue as _glue

    _glue(name, value, display=False)


def glue_value(name: str, value: Any, fmt: str = "") -> None:
    """Glue a computed number or text for prose (``{glue:text}`name```), in format ``fmt``."""
    glue(name, _plain(value, fmt))

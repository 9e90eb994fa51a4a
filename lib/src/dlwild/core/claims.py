"""Paper vs ours: a published claim (kept in the library beside its source), our
measurement of it, and the verdict with its reason."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

VERDICTS = ("holds", "differs", "not comparable")
KINDS = ("value", "at_most", "at_least", "holds")


@dataclass(frozen=True)
class Claim:
    """One published, testable statement of a paper, stored with its source.

    ``kind``: ``value`` (ours within ``tolerance`` of ``paper_value``), ``at_most`` /
    ``at_least`` (ours no worse than the paper's bound, within tolerance) or ``holds``
    (a relative claim such as "A beats B": ``paper_value`` is True, ours is a bool)."""

    id: str
    paper: str
    source: str
    metric: str
    paper_value: float | bool
    kind: Literal["value", "at_most", "at_least", "holds"] = "value"
    tolerance: float = 0.0
    statement: str = ""
    fmt: str = ".3f"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "holds" and not isinstance(self.paper_value, bool):
            raise ValueError(f"claim {self.id!r}: a 'holds' claim needs paper_value True/False")
        if self.tolerance < 0:
            raise ValueError(f"claim {self.id!r}: tolerance must be >= 0")


@dataclass(frozen=True)
class Measured:
    """Our side of one claim: the value, what it was measured on, and why it may not compare."""

    value: float | bool | None
    data: str
    scale: str
    not_comparable: str | None = None
    note: str = ""


def _finite(value: Any) -> bool:
    return isinstance(value, bool) or (
        isinstance(value, (int, float)) and math.isfinite(float(value))
    )


def verdict(claim: Claim, ours: Measured) -> tuple[str, str]:
    """The verdict (``holds`` / ``differs`` / ``not comparable``) and its reason."""
    if ours.not_comparable:
        return "not comparable", ours.not_comparable
    if ours.value is None or not _finite(ours.value):
        return "not comparable", ours.note or "no finite value was measured in this run"
    if claim.kind == "holds":
        if not isinstance(ours.value, bool):
            raise ValueError(f"claim {claim.id!r} is relative: pass True/False, got {ours.value!r}")
        same = ours.value == claim.paper_value
        found = "holds" if ours.value else "does not hold"
        return ("holds" if same else "differs"), f"the relation {found} in our run"
    value, paper, tol = float(ours.value), float(claim.paper_value), claim.tolerance
    gap = value - paper
    slack = tol + 1e-9 * max(1.0, abs(paper))  # float rounding must not flip a verdict
    if claim.kind == "value":
        ok = abs(gap) <= slack
        reason = f"|ours - paper| = {abs(gap):{claim.fmt}} {'<=' if ok else '>'} {tol:{claim.fmt}}"
    elif claim.kind == "at_most":
        ok = value <= paper + slack
        reason = f"ours {'<=' if ok else '>'} paper + {tol:{claim.fmt}} (lower is better)"
    else:
        ok = value >= paper - slack
        reason = f"ours {'>=' if ok else '<'} paper - {tol:{claim.fmt}} (higher is better)"
    return ("holds" if ok else "differs"), reason


#: Thousands separator in glued and tabled numbers: a narrow no-break space (SI style). A comma
#: would make myst-nb's ``{glue:text}`` read "221,706" as the tuple (221, 706).
THOUSANDS = "\u202f"


def format_value(value: Any, fmt: str) -> str:
    """A value as tables and prose show it: yes/no, a dash for none, SI thousands."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and fmt.endswith("d"):
        return format(value, fmt).replace(",", THOUSANDS)
    if isinstance(value, (int, float)):
        if not math.isfinite(float(value)):
            return "–"
        return format(float(value), fmt).replace(",", THOUSANDS)
    return str(value)


def compare(claims: Iterable[Claim], measured: Mapping[str, Measured]) -> list[dict[str, Any]]:
    """One row per claim: paper value, ours, data, scale, tolerance, verdict and reason.

    Every claim must be measured (or marked not comparable with a reason) and every
    measurement must belong to a claim, so nothing is dropped silently."""
    claims = list(claims)
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate claim ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    missing = [i for i in ids if i not in measured]
    unknown = [k for k in measured if k not in ids]
    if missing or unknown:
        raise KeyError(f"claims without a measurement: {missing}; "
                       f"measurements of no claim: {unknown}")
    rows = []
    for claim in claims:
        ours = measured[claim.id]
        word, reason = verdict(claim, ours)
        value = ours.value
        if value is not None and not isinstance(value, bool):
            value = float(value) if _finite(value) else None
        rows.append({
            "id": claim.id,
            "paper": claim.paper,
            "source": claim.source,
            "metric": claim.metric,
            "statement": claim.statement,
            "kind": claim.kind,
            "paper_value": claim.paper_value,
            "ours": value,
            "data": ours.data,
            "scale": ours.scale,
            "tolerance": claim.tolerance,
            "verdict": word,
            "note": reason if ours.note in ("", reason) else f"{reason}; {ours.note}",
            "fmt": claim.fmt,
        })
    return rows


def claims_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The paper-vs-ours table as shown on a page and in ``dlwild status``."""
    return pd.DataFrame([{
        "claim": r["statement"] or r["metric"],
        "paper": f"{r['paper']} ({r['source']})",
        "metric": r["metric"],
        "paper value": format_value(r["paper_value"], r.get("fmt", ".3f")),
        "ours": format_value(r["ours"], r.get("fmt", ".3f")),
        "data": r["data"],
        "scale": r["scale"],
        "tolerance": (format_value(r["tolerance"], r.get("fmt", ".3f"))
                      if r["kind"] != "holds" else "–"),
        "verdict": r["verdict"],
        "reason": r["note"],
    } for r in rows])

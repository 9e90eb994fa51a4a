"""``dlwild cite <claim>``: one claim of the book as a ready citation, with everything a
reader needs to find and check the number (value, paper's value, scale, data and its
checksum, seed, commit, book version, the row's address on its chapter page)."""

from __future__ import annotations

from typing import Any

import yaml

from dlwild import __version__
from dlwild.core.claims import format_value
from dlwild.core.html import claim_anchor, dataset_line
from dlwild.runner.project import ChapterError, Project
from dlwild.runner.publishing import load_all_results


def _book_url(project: Project) -> str:
    """The published site's address, ``html.baseurl`` in ``_config.yml`` (set by whoever
    publishes the book); without it, pages are named by their path in the site."""
    config = yaml.safe_load((project.root / "_config.yml").read_text(encoding="utf-8")) or {}
    base = str((config.get("html") or {}).get("baseurl") or "").rstrip("/")
    return base or "<the book's site>"


def find_claims(project: Project, reference: str) -> list[tuple[dict[str, Any], dict]]:
    """(record, claim) pairs for ``<id>`` or ``<chapter>:<id>``, the full-scale record's
    first; an unknown id is a ChapterError listing the known ones."""
    chapter, _, claim_id = reference.rpartition(":")
    found = [(record, claim) for record in load_all_results(project)
             for claim in record["claims"]
             if claim["id"] == claim_id and chapter in ("", record["chapter"])]
    if not found:
        known = sorted({f"{r['chapter']}:{c['id']}" for r in load_all_results(project)
                        for c in r["claims"]})
        raise ChapterError(f"no claim {reference!r} in the book's results; known: "
                           + (", ".join(known) or "none (run the chapters first)"))
    return sorted(found, key=lambda pair: not pair[0].get("_record"))


def citation(project: Project, record: dict[str, Any], claim: dict[str, Any]) -> str:
    """The citation text of one claim as one run measured it."""
    fmt, prov = claim.get("fmt", ".3f"), record["provenance"]
    is_record = bool(record.get("_record"))
    run = "committed full-scale record" if is_record else f"{record['scale']}-scale run"
    data = "; ".join(dataset_line(d) for d in record["data"]["datasets"]) or "none"
    page = (f"{_book_url(project)}/notebooks/{record['chapter']}.html"
            f"#{claim_anchor(claim['id'], is_record)}")
    return "\n".join([
        f"{record['chapter']}:{claim['id']} - {claim.get('statement') or claim['metric']}",
        f"  ours {format_value(claim['ours'], fmt)} ({claim['metric']}); paper "
        f"{format_value(claim['paper_value'], fmt)} ({claim['paper']}, {claim['source']}); "
        f"verdict: {claim['verdict']} ({claim['note']})",
        f"  {run}, {record['data']['source']} data: {data}; seed {prov['seed']}; "
        f"commit {prov['commit']}; started {prov['started']}",
        f"  Deep Learning in the Wild: a reproducible book, dlwild {__version__}, {page}",
    ])


def cite(project: Project, reference: str) -> str:
    """Every measurement of the claim ``reference`` in the book, each as a citation."""
    return "\n\n".join(citation(project, record, claim)
                       for record, claim in find_claims(project, reference))

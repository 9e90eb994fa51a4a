"""The speaker papers' claims are well formed and traceable to the bibliography."""

from __future__ import annotations

import re

from conftest import ROOT
from dlwild.speakers.claims import CLAIMS


def test_claims_are_unique_sourced_and_cited():
    keys = set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "book/references.bib").read_text(), re.M))
    ids = [c.id for c in CLAIMS]
    assert len(ids) == len(set(ids))
    for claim in CLAIMS:
        assert claim.paper in keys, claim.id
        assert re.search(r"(Table|Fig\.|Sect\.)", claim.source), claim.id
        assert claim.statement and claim.metric
        if claim.kind == "value":
            assert 0 <= claim.paper_value <= 1 and claim.tolerance > 0

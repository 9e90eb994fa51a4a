"""The HTML a chapter page shows: the paper-vs-ours table, the generated-data banner and
the provenance box."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from dlwild.core.claims import format_value
from dlwild.core.provenance import duration, settings_changes


def claim_anchor(claim_id: str, record: bool = False) -> str:
    """The HTML id of a claim's row on its chapter page (``claim-<id>`` in the page's own
    run, ``claim-<id>-full`` in the committed full-scale record): stable, so it can be
    linked and cited (``dlwild cite``)."""
    return f"claim-{claim_id}" + ("-full" if record else "")


def claims_html(rows: list[dict[str, Any]], caption: str = "", record: bool = False,
                link: str | None = None) -> str:
    """HTML of the paper-vs-ours table, narrow enough for a book page: the claim with its id
    (an anchor), metric and source, the paper's value, ours with its data and scale, and the
    verdict with its reason. Each cell names its column (``data-label``) so that a narrow
    screen shows the rows as stacked cards. With ``link`` (the chapter page, for a table on
    another page) the ids link to the rows there, and the rows carry no anchor."""
    esc = html.escape
    body = []
    for r in rows:
        fmt = r.get("fmt", ".3f")
        tolerance = ("" if r["kind"] == "holds" or r["tolerance"] is None
                     else f" ± {esc(format_value(r['tolerance'], fmt))}")
        anchor = claim_anchor(r["id"], record)
        row_id = "" if link else f' id="{esc(anchor)}"'
        body.append(
            f"<tr{row_id}>"
            f'<td data-label="claim">{esc(r["statement"] or r["metric"])}'
            f'<div class="dlwild-sub"><a class="dlwild-claim-id" '
            f'href="{esc(link or "")}#{esc(anchor)}">'
            f'{esc(r["id"])}</a> · {esc(r["metric"])}<br>{esc(r["paper"])}, '
            f'{esc(r["source"])}</div></td>'
            f'<td class="num" data-label="paper">{esc(format_value(r["paper_value"], fmt))}'
            f"{tolerance}</td>"
            f'<td class="num" data-label="ours">{esc(format_value(r["ours"], fmt))}'
            f'<div class="dlwild-sub">{esc(r["data"])}; {esc(r["scale"])}</div></td>'
            + _verdict_cell(r["verdict"], r["note"]) + "</tr>")
    return _table("dlwild-claims", caption, ("claim", "paper", "ours", "verdict"), body)


def _verdict_cell(verdict: str, note: str) -> str:
    css = "verdict-" + str(verdict).replace(" ", "-")
    return (f'<td data-label="verdict"><span class="verdict {css}">{html.escape(verdict)}'
            f'</span><div class="dlwild-sub">{html.escape(note)}</div></td>')


def _table(css: str, caption: str, heads: tuple[str, ...], body: list[str]) -> str:
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{c}</th>" for c in heads)
    return (f'<table class="{css}">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def sweep_html(sweep: Mapping[str, Any], caption: str = "") -> str:
    """HTML of a sweep's paper-vs-ours table (``dlwild sweep``): per claim the paper's value,
    ours as mean ± standard deviation over the seeds (each seed's value on hover), in how
    many seeds it holds, and the sweep's verdict."""
    esc = html.escape
    body = []
    for r in sweep["claims"]:
        fmt = r.get("fmt", ".3f")
        if r["mean"] is None:
            ours = ", ".join(format_value(v, fmt) for v in r["values"])
        else:
            spread = "" if r["std"] is None else f" ± {format_value(r['std'], fmt)}"
            ours = f"{format_value(r['mean'], fmt)}{spread}"
        each = "; ".join(f"seed {s}: {format_value(v, fmt)}"
                         for s, v in zip(sweep["seeds"], r["values"], strict=False))
        body.append(
            "<tr>"
            f'<td data-label="claim">{esc(r.get("statement") or r["metric"])}'
            f'<div class="dlwild-sub">{esc(r["id"])} · {esc(r["metric"])}</div></td>'
            f'<td class="num" data-label="paper">{esc(format_value(r["paper_value"], fmt))}</td>'
            f'<td class="num" data-label="ours" title="{esc(each)}">{esc(ours)}'
            f'<div class="dlwild-sub">{r["seeds"]} seeds</div></td>'
            + _verdict_cell(r["verdict"], r.get("reason")
                            or f"holds in {r['holds_in']} of {r['seeds']} seeds")
            + "</tr>")
    return _table("dlwild-claims dlwild-sweep", caption,
                  ("claim", "paper", "ours over seeds", "verdict"), body)


def dataset_line(entry: Mapping[str, Any]) -> str:
    """One data set of a run, for its provenance: real ones with their checksum, generated
    ones with their generator."""
    if entry.get("source") == "synthetic":
        return f"{entry['name']} (generated: {entry.get('generator', 'the chapter generator')})"
    digest = str(entry.get("sha256") or "")
    checksum = f", sha256 {digest[:12]}" if digest else ""
    return f"{entry['name']} ({entry.get('source', 'real')}{checksum})"


BANNER_CLASS = "dlwild-banner"  # marks the banner, which the runner lifts to the page's top


def banner_html(reason: str) -> str:
    """The warning shown at the top of a page whose chapter ran on generated data."""
    return (
        f'<div class="admonition warning {BANNER_CLASS}"><p class="admonition-title">'
        "This page ran on generated data</p><p>" + html.escape(reason) + " The numbers below "
        "come from the chapter's generator, not from the real data set, and are not "
        "comparable with the paper's.</p></div>"
    )


def provenance_html(record: Mapping[str, Any], title: str = "Provenance of this run") -> str:
    """A collapsible box with the run's commit, parameters, data, packages and hardware."""
    prov = record["provenance"]
    rows = [
        ("chapter", record["chapter"]), ("scale", record["scale"]),
        ("data", record["data"]["source"]),
        ("data sets", "; ".join(dataset_line(d) for d in record["data"]["datasets"])
         or "none"),
        ("commit", prov["commit"]), ("dlwild", prov["dlwild_version"]),
        ("parameters", json.dumps(prov["params"], sort_keys=True)),
        ("seed", prov["seed"]), ("python", prov["python"]),
        ("packages", ", ".join(f"{k} {v}" for k, v in sorted(prov["packages"].items()))),
        ("hardware", ", ".join(f"{k}: {v}" for k, v in prov["hardware"].items())),
        ("started", prov["started"]), ("wall time", f"{prov['wall_s']:.1f} s"),
    ]
    if prov.get("settings") is not None:
        rows.append(("settings", json.dumps(prov["settings"], sort_keys=True)))
    if prov.get("training_s"):
        rows.append(("network training", f"{duration(prov['training_s'])} (the networks the "
                                         "results rest on, trained in this run or before it)"))
    table = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return (f'<details class="dlwild-provenance"><summary>{html.escape(title)}</summary>'
            f"<table>{table}</table></details>")


def display_html(markup: str) -> None:
    """Show HTML in a notebook; print it elsewhere (scripts, tests)."""
    from IPython import get_ipython
    from IPython.display import HTML, display

    if get_ipython() is None:
        print(markup)
    else:
        display(HTML(markup))


def record_settings_html(record: Mapping[str, Any], now: Any, shown: int = 6) -> str:
    """A line under a committed record whose run had other settings than the chapter has
    today (``now``, as :func:`~dlwild.core.provenance.settings_data`), or that does not say
    which it had; nothing where they are the same."""
    then = record["provenance"].get("settings")
    if then is None:
        text = ("This record does not carry the settings its run had (it predates records "
                "that do); its commit, in the provenance below, fixes them. The page "
                "describes the chapter's settings of today.")
    else:
        changed = settings_changes(then, now)
        if not changed:
            return ""
        names = ", ".join(changed[:shown]) + (", …" if len(changed) > shown else "")
        text = (f"The {record['scale']} scale has changed since this record was made "
                f"({len(changed)} setting{'s' if len(changed) != 1 else ''}: {names}): the "
                "page describes today's settings, the record what its run did. The next "
                "full run replaces it.")
    return f'<p class="dlwild-record-settings">{html.escape(text)}</p>'

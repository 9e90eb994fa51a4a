"""Sphinx extension for the book: each page loads each script once.

Sphinx 7.4 records an inline script registered after the builder started
(``app.add_js_file(None, body=...)``) twice, once under the filename ``None`` and once under
``""``, and the two do not compare equal. sphinx-thebe registers its configuration that way,
so every page declared ``const THEBE_JS_URL`` twice and the browser raised a SyntaxError.
"""

from __future__ import annotations

from typing import Any


def script_key(script: Any) -> tuple:
    """What makes two script entries the same script (``None`` and ``""`` name no file)."""
    filename = getattr(script, "filename", script)
    attributes = getattr(script, "attributes", {})
    return (str(filename or ""), getattr(script, "priority", 0), tuple(sorted(attributes.items())))


def unique_scripts(scripts: list) -> list:
    """``scripts`` in order, each kept at its first occurrence."""
    seen, kept = set(), []
    for script in scripts:
        key = script_key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def _dedupe_page_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        scripts[:] = unique_scripts(scripts)


def setup(app) -> dict:
    # late, so that scripts other extensions add to this page are seen too
    app.connect("html-page-context", _dedupe_page_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Sphinx extension for the book: every figure of a chapter page says what it shows.

myst-nb writes a notebook's images without alt text (it takes ``alt`` only from a cell's
metadata, one for the whole cell), so a screen reader heard the file's name. A chapter's
figures carry their own sentence in their PNG output's metadata
(:func:`dlwild.core.plots.attach_alt_text`); this extension finds each image's output by
the hash myst-nb names it with and puts that sentence on the image."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from docutils import nodes


def alt_texts(notebook: dict) -> dict[str, str]:
    """``{sha256 of the PNG bytes: alt text}`` of a notebook's outputs that carry one."""
    found = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            alt = output.get("metadata", {}).get("image/png", {}).get("alt")
            if png and alt:
                raw = base64.b64decode("".join(png) if isinstance(png, list) else png)
                found[hashlib.sha256(raw).hexdigest()] = str(alt)
    return found


def add_alt_text(app, doctree: nodes.document, docname: str) -> None:
    """Give the images of ``docname`` (a notebook) the alt text of their outputs."""
    source = Path(app.env.doc2path(docname))
    if source.suffix != ".ipynb":
        return
    texts = alt_texts(json.loads(source.read_text(encoding="utf-8")))
    for image in doctree.findall(nodes.image):
        digest = Path(str(image.get("uri", ""))).stem
        if digest in texts and not image.get("alt"):
            image["alt"] = texts[digest]


def setup(app) -> dict:
    app.connect("doctree-resolved", add_alt_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

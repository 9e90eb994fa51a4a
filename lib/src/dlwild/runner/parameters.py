"""A chapter's parameters as the runner sees them: its notebook's parameters cell, the
chapter's declaration, and ``key=value`` from the command line."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import yaml

from dlwild.core import config
from dlwild.core.chapter import Chapter
from dlwild.core.chapter import load as load_declaration
from dlwild.runner.project import ChapterError


def read_notebook(path: Path):
    """Read a MyST notebook with Jupytext; an unreadable one is an error naming the file."""
    import jupytext

    try:
        notebook = jupytext.read(path)
    except Exception as exc:  # jupytext raises many types for a broken file
        raise ChapterError(f"cannot read notebook {path}: {exc}") from exc
    if not notebook.metadata.get("kernelspec"):
        raise ChapterError(f"notebook {path} has no kernelspec in its header (Papermill needs "
                           "one: add `kernelspec: {name: python3, ...}` to the jupytext header)")
    return notebook


def notebook_parameters(notebook) -> dict[str, Any]:
    """Names and default values of the cell tagged ``parameters`` (literal assignments)."""
    cells = [c for c in notebook.cells
             if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ChapterError("a chapter needs exactly one cell tagged 'parameters', "
                           f"found {len(cells)}")
    defaults: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            try:
                defaults[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError as exc:
                raise ChapterError(f"parameter {node.targets[0].id} is not a literal") from exc
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            defaults[node.target.id] = ast.literal_eval(node.value) if node.value else None
    return defaults


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is read as YAML (numbers, lists, None)."""
    if "=" not in text:
        raise config.ConfigError(f"parameter {text!r} is not of the form key=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key.isidentifier():
        raise config.ConfigError(f"parameter name {key!r} is not a valid identifier")
    if raw.strip() in {"None", "none", "null"}:
        return key, None
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    return key, value


def chapter_declaration(project_source: Path, chapter: str) -> tuple[Chapter, Any]:
    """The declaration of ``chapter`` and its notebook, checked against each other (the
    parameters cell must hold exactly the declared parameters and defaults)."""
    notebook = read_notebook(project_source)
    declared = load_declaration(chapter, notebook.metadata)
    declared.check_notebook(notebook_parameters(notebook))
    return declared, notebook


"""The book's Sphinx extension keeps one copy of each script a page loads."""

from sphinx.builders.html._assets import _JavaScript

from dlwild.sphinx_scripts import unique_scripts


def test_inline_script_registered_as_none_and_empty_is_kept_once():
    body = 'const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"'
    scripts = [_JavaScript("_static/doctools.js", priority=200),
               _JavaScript(None, priority=500, body=body),
               _JavaScript("_static/sphinx-thebe.js", priority=500, **{"async": "async"}),
               _JavaScript("", priority=500, body=body)]
    kept = unique_scripts(scripts)
    assert kept == scripts[:3]
    assert [s.filename for s in kept] == ["_static/doctools.js", None, "_static/sphinx-thebe.js"]


def test_different_scripts_with_the_same_file_or_body_stay():
    scripts = [_JavaScript("", body="const a = 1"), _JavaScript("", body="const b = 2"),
               _JavaScript("x.js", priority=200), _JavaScript("x.js", priority=800),
               "plain.js"]
    assert unique_scripts(scripts) == scripts
    assert unique_scripts(scripts + scripts) == scripts

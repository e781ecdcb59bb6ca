"""Documentation trees become sections: real anchors, chrome and navigation pages dropped, files confined."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from ai_stack.docs_search.parsers import source_files
from ai_stack.docs_search.parsers.doctree import parse_tree
from ai_stack.docs_search.parsers.rst_sections import rst_page
from ai_stack.docs_search.sections import ParsedSource, Section
from docutils.core import publish_doctree

PG_MANUAL = Path("/usr/share/doc/postgresql-doc-15/html")


def by_key(parsed: ParsedSource) -> dict[str, Section]:
    return {section.key: section for section in parsed.sections}


def pages(parsed: ParsedSource) -> set[str]:
    return {section.key.split("#")[0] for section in parsed.sections}


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- The PostgreSQL 15 manual (DocBook XSL output), parsed once --------------------------------------


@pytest.fixture(scope="module")
def manual() -> ParsedSource:
    if not (PG_MANUAL / "index.html").is_file():
        pytest.skip("the postgresql-doc-15 package is not installed")
    return parse_tree(PG_MANUAL, "html")


def test_pg_reference_page_has_a_section_per_heading_with_the_manuals_anchors(manual: ParsedSource) -> None:
    sections = by_key(manual)
    storage = sections["sql-createtable.html#SQL-CREATETABLE-STORAGE-PARAMETERS"]
    assert storage.title == "CREATE TABLE"
    assert storage.heading_path == ("CREATE TABLE", "Parameters", "Storage Parameters")
    assert storage.url == "sql-createtable.html#SQL-CREATETABLE-STORAGE-PARAMETERS"
    assert "fillfactor" in storage.text
    description = sections["sql-createtable.html#SQL-CREATETABLE-DESCRIPTION"]
    # Subsections are their own sections, not part of their parent's text.
    assert "fillfactor" not in description.text
    examples = sections["sql-createtable.html#SQL-CREATETABLE-EXAMPLES"].text
    assert "```\nCREATE TABLE films (\n    code        char(5) CONSTRAINT firstkey PRIMARY KEY," in examples
    assert examples.count("```") % 2 == 0


def test_pg_navigation_chrome_is_in_no_section(manual: ParsedSource) -> None:
    for section in manual.sections:
        assert not re.search(r"\b(Prev|Home)\b", section.text), section.key
        assert not re.search(r"^\|? ?(Up|Next) ?\|", section.text, re.MULTILINE), section.key
    first = by_key(manual)["sql-createtable.html#SQL-CREATETABLE"]
    # The nav header's "SQL Commands" (the parent part) and the TOC heading stay out.
    assert first.text == "CREATE TABLE — define a new table"
    assert not any("Table of Contents" in s.heading_path for s in manual.sections)


def test_pg_admonition_titles_do_not_cut_sections(manual: ParsedSource) -> None:
    basics = by_key(manual)["ddl-basics.html#DDL-BASICS"].text
    tip = basics.index("Tip\n\nWhen you create many interrelated tables")
    # The paragraph after the Tip box is still in the section, after the box.
    assert basics.index("There is a limit on how many columns a table can contain.") > tip
    assert not any(s.heading_path[-1] in {"Tip", "Note", "Warning", "Caution"} for s in manual.sections)


def test_pg_each_page_is_indexed_once_and_only_toc_pages_are_skipped(manual: ParsedSource) -> None:
    files = {path.name for path in PG_MANUAL.glob("*.html")}
    indexed = pages(manual)
    assert len({s.key for s in manual.sections}) == len(manual.sections)
    assert "bookindex.html" not in indexed
    skipped = files - indexed - {"bookindex.html"}
    with_toc = {name for name in files if 'class="toc"' in (PG_MANUAL / name).read_text()}
    assert skipped <= with_toc  # only pages that are a table of contents, and nothing else, are left out
    assert {"brin.html", "appendixes.html"} <= skipped
    assert "ddl.html#DDL" in by_key(manual)  # a chapter page with an introduction keeps it
    assert manual.errors == []


def test_pg_version_comes_from_the_manual_title(manual: ParsedSource) -> None:
    assert manual.version is not None
    assert re.fullmatch(r"15\.\d+", manual.version)


# --- A Sphinx HTML build -------------------------------------------------------------------------------

SPHINX_PAGE = """<!DOCTYPE html>
<html><head><title>Install &#8212; Widget 2.4.1 documentation</title>
<script src="_static/documentation_options.js"></script></head>
<body>
<div class="related" role="navigation"><h3>Navigation</h3><ul><li><a href="genindex.html">index</a></li>
<li><a href="usage.html">next</a> |</li></ul></div>
<div class="document"><div class="documentwrapper"><div class="body" role="main">
<section id="install">
<span id="install-label"></span><h1>Install<a class="headerlink" href="#install" title="Link">¶</a></h1>
<p>Widget installs with pip.</p>
<section id="from-source">
<h2>From source<a class="headerlink" href="#from-source" title="Link">¶</a></h2>
<div class="highlight-python notranslate">
<div class="highlight"><pre><span></span><span class="k">def</span> f():
    <span class="c1"># build &amp; test</span>

    return 1
</pre></div></div>
<div class="admonition note"><p class="admonition-title">Note</p><p>Needs a compiler.</p></div>
</section></section>
</div></div></div>
<div class="sphinxsidebar" role="navigation"><h3>Quick search</h3>
<form class="search"><input name="q"/></form>
<h3>Table of Contents</h3><ul><li><a href="#">Install</a></li></ul></div>
<div class="footer">&#169; Copyright 2024, Widget team. Created using Sphinx.</div>
</body></html>
"""


@pytest.fixture
def sphinx_build(tmp_path: Path) -> Path:
    write(tmp_path, "install.html", SPHINX_PAGE)
    write(tmp_path, "_static/documentation_options.js", "const DOCUMENTATION_OPTIONS = {VERSION: '2.4.1'};")
    write(tmp_path, "_static/jquery-docs.html", "<h1>Asset</h1><p>asset text</p>")
    write(tmp_path, "_sources/install.rst.txt", "Install\n=======\n\nWidget installs with pip.\n")
    write(tmp_path, "_sources/copy.html", "<h1>Copy</h1><p>copied text</p>")
    write(
        tmp_path, "genindex.html", "<h1 id='index'>Index</h1><table><tr><td>f() (built-in)</td></tr></table>"
    )
    write(tmp_path, "search.html", "<h1 id='search'>Search</h1><p>Please activate JavaScript.</p>")
    write(tmp_path, "py-modindex.html", "<h1>Python Module Index</h1><p>widget</p>")
    return tmp_path


def test_sphinx_sections_use_section_ids_and_drop_sidebar_and_headerlinks(sphinx_build: Path) -> None:
    parsed = parse_tree(sphinx_build, "html")
    assert [s.key for s in parsed.sections] == ["install.html#install", "install.html#from-source"]
    install, source = parsed.sections
    assert install.title == "Install"
    assert install.text == "Widget installs with pip."
    assert source.heading_path == ("Install", "From source")
    assert source.url == "install.html#from-source"
    everything = " ".join(s.text + " ".join(s.heading_path) for s in parsed.sections)
    for chrome in ("¶", "Navigation", "Quick search", "Table of Contents", "Copyright", "next"):
        assert chrome not in everything


def test_sphinx_code_block_is_fenced_and_whole(sphinx_build: Path) -> None:
    source = parse_tree(sphinx_build, "html").sections[1]
    assert "```\ndef f():\n    # build & test\n\n    return 1\n```" in source.text
    assert source.text.endswith("Note\n\nNeeds a compiler.")


def test_sphinx_navigation_pages_and_copies_are_skipped_and_version_read(sphinx_build: Path) -> None:
    parsed = parse_tree(sphinx_build, "html")
    assert pages(parsed) == {"install.html"}
    assert parsed.version == "2.4.1"
    assert parsed.errors == []
    # The `_sources/` copies are .txt: a text source over the same build must not pick them up either.
    assert parse_tree(sphinx_build, "text").sections == []


def test_html_anchor_order_heading_id_then_named_anchor_and_a_slug_only_in_the_key(tmp_path: Path) -> None:
    write(
        tmp_path,
        "page.html",
        "<h1 id='top'>Top</h1><p>intro</p>"
        "<div id='wrapper'><p>text</p><a name='legacy'></a><h2>Old Style</h2><p>old</p></div>"
        "<h2>No Anchor</h2><p>plain</p>"
        "<div class='note'><h3 class='title'>Note</h3><p>boxed</p></div><p>after the box</p>",
    )
    keys = {s.key: s for s in parse_tree(tmp_path, "html").sections}
    assert list(keys) == ["page.html#top", "page.html#legacy", "page.html#no-anchor"]
    assert keys["page.html#legacy"].url == "page.html#legacy"
    assert keys["page.html#no-anchor"].url == "page.html"  # no such anchor on the page: no fragment
    assert keys["page.html#no-anchor"].text == "plain\n\nNote\n\nboxed\n\nafter the box"


def test_html_meta_charset_is_used_when_the_bytes_are_not_utf8(tmp_path: Path) -> None:
    html = (
        b'<html><head><meta charset="windows-1252"></head><body><h1>Q</h1><p>\x93quoted\x94</p></body></html>'
    )
    (tmp_path / "legacy.html").write_bytes(html)
    assert parse_tree(tmp_path, "html").sections[0].text == "\u201cquoted\u201d"


# --- Markdown --------------------------------------------------------------------------------------------

MARKDOWN = """---
title: "Widget Guide"
tags: [a, b]
---

Intro before any heading.

## Usage

First usage.

```sh
# not a heading
widget run
```

## Usage

Second usage.

## Foo & Bar

Punctuation.

## The `run()` [call](api.md)

Markup.

## Empty

### Child

Under empty.
"""


def test_markdown_front_matter_title_github_slugs_and_code_kept(tmp_path: Path) -> None:
    write(tmp_path, "docs/guide.md", MARKDOWN)
    sections = by_key(parse_tree(tmp_path, "markdown"))
    assert list(sections) == [
        "docs/guide.md",
        "docs/guide.md#usage",
        "docs/guide.md#usage-1",
        "docs/guide.md#foo--bar",
        "docs/guide.md#the-run-call",
        "docs/guide.md#child",
    ]
    assert sections["docs/guide.md"].text == "Intro before any heading."
    assert all(s.title == "Widget Guide" for s in sections.values())
    first = sections["docs/guide.md#usage"]
    assert first.heading_path == ("Widget Guide", "Usage")
    assert first.text == "First usage.\n\n```sh\n# not a heading\nwidget run\n```"
    assert sections["docs/guide.md#usage-1"].text == "Second usage."
    # A heading with nothing under it gives no section, but stays in its children's path.
    assert sections["docs/guide.md#child"].heading_path == ("Widget Guide", "Empty", "Child")
    assert "tags:" not in " ".join(s.text for s in sections.values())


def test_markdown_title_falls_back_to_first_h1_then_file_stem(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "Some intro.\n\n# Alpha\n\nText.\n\n## Beta\n\nMore.\n")
    write(tmp_path, "notes.markdown", "## Only second level\n\nBody.\n")
    write(tmp_path, "c.mdx", "import X from './x'\n\n# Gamma <X/>\n\nVisible.\n\n<!-- hidden -->\n")
    sections = by_key(parse_tree(tmp_path, "markdown"))
    assert sections["a.md#beta"].heading_path == ("Alpha", "Beta")
    assert sections["a.md"].heading_path == ("Alpha",)
    assert sections["notes.markdown#only-second-level"].heading_path == ("notes", "Only second level")
    assert sections["c.mdx#gamma"].text == "Visible."
    assert "c.mdx" not in sections  # the import line alone is no intro


# --- reStructuredText with Sphinx's extensions ------------------------------------------------------

RST = """\
Widget
======

See :ref:`the setup <setup-label>`, :func:`~widget.core.run`, :doc:`usage` and :unknownrole:`x`.

.. toctree::
   :maxdepth: 2

   usage

.. _setup-label:

Setup
-----

.. code-block:: python
   :linenos:
   :emphasize-lines: 2

   # a comment, not a title
   run()

.. note:: Mind the gap.

.. versionadded:: 2.1
   The setup step.

.. py:function:: run(fast=False)

   Runs the widget.

.. someextension:: arg
   :flag:

   Extension content.

.. include:: /etc/passwd

.. raw:: html

   <script>alert(1)</script>

Empty
-----
"""


def test_rst_sphinx_directives_and_roles_keep_their_text_without_errors(tmp_path: Path) -> None:
    write(tmp_path, "index.rst", RST)
    parsed = parse_tree(tmp_path, "rst")
    assert parsed.errors == []
    assert [s.key for s in parsed.sections] == ["index.rst#widget", "index.rst#setup"]
    intro, setup = parsed.sections
    assert intro.text == "See the setup, `run`, usage and x."
    assert setup.heading_path == ("Widget", "Setup")
    assert setup.text == (
        "```python\n# a comment, not a title\nrun()\n```\n\n"
        "Note: Mind the gap.\n\n"
        "New in version 2.1: The setup step.\n\n"
        "`run(fast=False)`\n\nRuns the widget.\n\n"
        "arg\n\nExtension content."
    )
    for leak in ("root:", "<script>", "Unknown", "Error", "directive", "usage\n"):
        assert leak not in intro.text + setup.text


def test_rst_leniency_does_not_change_docutils_for_other_users(tmp_path: Path) -> None:
    write(tmp_path, "index.rst", RST)
    parse_tree(tmp_path, "rst")
    tree = publish_doctree(".. versionadded:: 2.1\n", settings_overrides={"report_level": 5})
    assert 'Unknown directive type "versionadded"' in tree.pformat()


def test_rst_txt_files_count_only_in_a_sphinx_source_and_release_is_the_version(tmp_path: Path) -> None:
    write(tmp_path, "topic.txt", "Topic\n=====\n\nDjango-style source.\n")
    assert parse_tree(tmp_path, "rst").sections == []
    write(tmp_path, "conf.py", "project = 'Widget'\nversion = '2.4'\nrelease = '2.4.1'\n")
    parsed = parse_tree(tmp_path, "rst")
    assert [s.key for s in parsed.sections] == ["topic.txt#topic"]
    assert parsed.version == "2.4.1"


# --- Plain text ------------------------------------------------------------------------------------------


def test_text_files_split_at_underlined_titles_and_capitalised_names_count(tmp_path: Path) -> None:
    write(tmp_path, "README", "Widget\n======\n\nA tool.\n\nBuilding\n--------\n\nRun make.\n   ----\n")
    write(tmp_path, "notes.txt", "Just some notes\nwith no titles.\n")
    write(tmp_path, "Makefile", "all:\n\techo not docs\n")
    sections = by_key(parse_tree(tmp_path, "text"))
    assert list(sections) == ["README#widget", "README#building", "notes.txt"]
    assert sections["README#building"].heading_path == ("Widget", "Building")
    assert sections["README#building"].text == "Run make.\n   ----"
    assert sections["README#building"].url == "README"
    assert sections["notes.txt"].title == "notes"


# --- Confinement and errors ------------------------------------------------------------------------------


def test_symlinks_leading_out_of_the_root_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, "secret.md", "# Secret\n\ntoken=hunter2\n")
    root = tmp_path / "root"
    write(root, "page.md", "# Page\n\nPublic.\n")
    (root / "leak.md").symlink_to(outside / "secret.md")
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    (root / "alias.md").symlink_to(root / "page.md")  # inside the root: fine
    parsed = parse_tree(root, "markdown")
    assert "hunter2" not in " ".join(s.text for s in parsed.sections)
    assert pages(parsed) == {"page.md", "alias.md"}
    assert len(parsed.errors) == 1
    assert parsed.errors[0].startswith("leak.md:")


def test_binary_oversize_and_failing_files_are_reported_and_the_rest_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "good.rst", "Good\n====\n\nFine.\n")
    (tmp_path / "binary.rst").write_bytes(b"Title\n=====\n\x00\x01\x02\xff")
    write(tmp_path, "huge.rst", "Huge\n====\n\n" + "x" * 200)
    write(tmp_path, "boom.rst", "Boom\n====\n\ntext\n")
    monkeypatch.setattr(source_files, "MAX_FILE_BYTES", 100)

    def failing_on_boom(text: str, fallback_title: str) -> object:
        if fallback_title == "boom":
            raise RecursionError("maximum recursion depth exceeded")
        return rst_page(text, fallback_title)

    monkeypatch.setattr("ai_stack.docs_search.parsers.doctree.rst_page", failing_on_boom)
    parsed = parse_tree(tmp_path, "rst")
    assert pages(parsed) == {"good.rst"}
    errors = sorted(parsed.errors)
    assert len(errors) == 3
    assert errors[0].startswith("binary.rst:") and "binary" in errors[0]
    assert errors[1].startswith("boom.rst: cannot parse: RecursionError")
    assert errors[2].startswith("huge.rst:") and "cap" in errors[2]


def test_a_directory_that_cannot_be_listed_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "ok.md", "# Ok\n\nFine.\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: str) -> object:  # root reads any directory, so the refusal is simulated
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(locked))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    parsed = parse_tree(tmp_path, "markdown")
    assert pages(parsed) == {"ok.md"}
    assert parsed.errors == ["locked: cannot list: Permission denied"]


def test_latin1_is_the_last_resort_for_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_bytes("Caf\xe9 notes\n".encode("latin-1"))
    parsed = parse_tree(tmp_path, "text")
    assert parsed.errors == []
    assert parsed.sections[0].text == "Café notes"

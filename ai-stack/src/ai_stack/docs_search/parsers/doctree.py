"""A directory of documentation (Markdown, HTML, reStructuredText or plain text) to its sections.

Which files are pages, by kind:

- markdown: `.md`, `.markdown`, `.mdx`.
- html: `.html`, `.htm`, `.xhtml`, except pages that are only navigation: Sphinx `genindex*`,
  `search`, `*modindex`, `404`, DocBook `bookindex`; and pages left with no text once their chrome and
  tables of contents are dropped (the PostgreSQL manual's chapter pages that only list sections).
- rst: `.rst`, `.rest`; `.txt` too in a Sphinx source tree (a `conf.py`), as Django's docs use it.
- text: `.txt`, `.text`, and files without a suffix named in capitals (`README`, `INSTALL`).

Never entered: hidden directories, `node_modules`, Sphinx's `_static`, `_images`, `_sources`
(copies of the pages), `_downloads`; for HTML also `_modules` (highlighted source code); for the
source kinds also `_build` (output, not source).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from ai_stack.docs_search.parsers.html_sections import html_page
from ai_stack.docs_search.parsers.markdown_sections import markdown_page
from ai_stack.docs_search.parsers.page_sections import Page, page_sections
from ai_stack.docs_search.parsers.rst_sections import rst_page
from ai_stack.docs_search.parsers.source_files import (
    SKIPPED_DIRS,
    SourceFileError,
    TreeKind,
    read_source,
    walk_files,
)
from ai_stack.docs_search.parsers.text_sections import text_page
from ai_stack.docs_search.parsers.tree_version import sphinx_conf, tree_version
from ai_stack.docs_search.sections import ParsedSource

_SUFFIXES: dict[TreeKind, frozenset[str]] = {
    "markdown": frozenset({".md", ".markdown", ".mdx"}),
    "html": frozenset({".html", ".htm", ".xhtml"}),
    "rst": frozenset({".rst", ".rest"}),
    "text": frozenset({".txt", ".text"}),
}
_NAVIGATION_PAGES = re.compile(r"(genindex(-\w+)?|search|(\w+-)?modindex|404|bookindex)\.html?")
_CAPITALISED_NAME = re.compile(r"[A-Z][A-Z0-9_-]*")
_SKIPPED_DIRS: dict[TreeKind, frozenset[str]] = {
    "html": SKIPPED_DIRS | {"_modules"},
    "markdown": SKIPPED_DIRS | {"_build"},
    "rst": SKIPPED_DIRS | {"_build"},
    "text": SKIPPED_DIRS | {"_build"},
}


def parse_tree(root: Path, kind: TreeKind) -> ParsedSource:
    """Every page of `kind` under `root` as sections; a file that fails goes into `errors`, never raises.

    Keys and URLs are `<path relative to root>#<anchor>`. Files are read only inside `root`
    (symlinks leading out are refused) and up to `source_files.MAX_FILE_BYTES`.
    """
    base = root.resolve()
    parsed = ParsedSource(version=tree_version(base, kind))
    for relative in walk_files(base, _page_filter(base, kind), _SKIPPED_DIRS[kind], parsed.errors):
        try:
            page = _parse_page(kind, read_source(base, relative, html=kind == "html"), relative)
        except SourceFileError as error:
            parsed.errors.append(str(error))
            continue
        except Exception as error:  # untrusted input through third-party parsers: one file, not the tree
            parsed.errors.append(f"{relative}: cannot parse: {type(error).__name__}: {error}")
            continue
        parsed.sections.extend(page_sections(relative.as_posix(), page))
    return parsed


def _page_filter(root: Path, kind: TreeKind) -> Callable[[PurePosixPath], bool]:
    suffixes = _SUFFIXES[kind]
    if kind == "rst" and sphinx_conf(root) is not None:
        suffixes = suffixes | {".txt"}

    def wanted(relative: PurePosixPath) -> bool:
        suffix = relative.suffix.lower()
        if kind == "html" and _NAVIGATION_PAGES.fullmatch(relative.name):
            return False
        if kind == "text" and not suffix:
            return _CAPITALISED_NAME.fullmatch(relative.name) is not None
        return suffix in suffixes

    return wanted


def _parse_page(kind: TreeKind, text: str, relative: PurePosixPath) -> Page:
    if kind == "html":
        return html_page(text, relative.stem)
    if kind == "markdown":
        return markdown_page(text, relative.stem, mdx=relative.suffix.lower() == ".mdx")
    if kind == "rst":
        return rst_page(text, relative.stem)
    return text_page(text, relative.stem)

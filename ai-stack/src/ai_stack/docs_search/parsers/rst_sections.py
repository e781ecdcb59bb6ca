"""A reStructuredText page to sections: docutils sections, their ids as anchors (pure)."""

from __future__ import annotations

from docutils import nodes, utils

from ai_stack.docs_search.parsers.page_sections import Page, PagePart
from ai_stack.docs_search.parsers.rst_lenient import LenientRstParser, safe_settings
from ai_stack.docs_search.parsers.rst_render import render_blocks


def rst_page(text: str, fallback_title: str) -> Page:
    """The page's parts; its title is its first section title, else `fallback_title`.

    Only the parser runs, none of the publisher's transforms: the document title stays a section
    (its id kept as an anchor), and references stay as written, which is all search needs.
    """
    document = utils.new_document(fallback_title, safe_settings())
    LenientRstParser().parse(text, document)
    parts: list[PagePart] = []
    _collect(document, 0, parts)
    headings = [part.heading for part in parts if part.level]
    return Page(headings[0] if headings else fallback_title, parts)


def _collect(node: nodes.Element, level: int, parts: list[PagePart]) -> None:
    """Appends `node`'s own text as one part, then each subsection's, depth first."""
    body = [child for child in node.children if not isinstance(child, (nodes.section, nodes.title))]
    heading = ""
    if level:
        titles = [child for child in node.children if isinstance(child, nodes.title)]
        heading = " ".join(titles[0].astext().split()) if titles else ""
    ids = node.get("ids", [])
    parts.append(PagePart(level, heading, ids[0] if ids and level else "", render_blocks(body)))
    for child in node.children:
        if isinstance(child, nodes.section):
            _collect(child, level + 1, parts)

"""An HTML page to heading sections: chrome dropped, anchors from the page's own ids (pure).

One pass with the stdlib HTMLParser finds the headings, their anchors and the navigation chrome, and
cuts the page's source into one HTML fragment per heading; `html_to_text` renders each fragment, so
code, lists and tables come out as they do everywhere else in ai-stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser

from ai_stack.docs_search.parsers.page_sections import Page, PagePart
from ai_stack.text.html import html_to_text

_HEADINGS = {f"h{level}": level for level in range(1, 7)}
# Never on the open-element stack: void elements, and those whose end tag HTML lets authors omit.
_UNSTACKED = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option",
        "optgroup", "colgroup", "caption", "rb", "rt", "rtc", "rp", "html", "head", "body",
    }
)  # fmt: skip
_CHROME_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "nav", "form", "button", "iframe"}
)
# Page-level header and footer are chrome; inside an article they belong to it.
_PAGE_CHROME_TAGS = frozenset({"header", "footer"})
_MAIN_TAGS = frozenset({"main", "article"})
_CHROME_ROLES = frozenset({"navigation", "search", "banner", "contentinfo"})
_CHROME_CLASSES = frozenset(
    {
        # DocBook XSL (the PostgreSQL manual): Prev/Up/Home/Next tables and tables of contents.
        "navheader", "navfooter", "toc", "list-of-tables", "list-of-figures", "list-of-examples",
        "list-of-equations", "list-of-procedures",
        # Sphinx and its common themes (basic/alabaster, Read the Docs, Furo, PyData).
        "sphinxsidebar", "related", "footer", "headerlink", "viewcode-link", "wy-nav-side", "wy-breadcrumbs",
        "rst-footer-buttons", "rst-versions", "prev-next-area", "related-pages", "sidebar-drawer",
        "toc-drawer", "bd-sidebar", "bd-header", "bd-footer", "breadcrumbs", "skip-link",
        # MkDocs and Material for MkDocs.
        "md-header", "md-sidebar", "md-footer", "md-search", "md-tabs", "md-source",
    }
)  # fmt: skip
_CHROME_IDS = frozenset({"searchbox", "sidebar"})
# Boxes whose heading titles the box, not a section: DocBook's `div.note > h3.title` "Note". Such a
# heading is kept in the text as a paragraph, so the text after the box stays in its section.
_BOX_CLASSES = frozenset(
    {"note", "tip", "hint", "caution", "warning", "important", "danger", "attention", "admonition", "sidebar"}
)
# Elements whose id names the section they open (DocBook `div.sect1`, Sphinx and HTML5 `section`).
_SECTION_CONTAINERS = frozenset({"div", "section", "article"})


@dataclass
class _Open:
    """An element on the open-element stack and what it changes while it is open."""

    tag: str
    order: int
    anchor: str = ""
    chrome: bool = False
    main: bool = False
    box: bool = False
    heading: bool = False


@dataclass
class _Heading:
    """A heading being read: its words and every anchor it could have, best first in `anchor()`."""

    level: int
    own: str
    container: str
    loose: str
    inner: str = ""
    headerlink: str = ""
    words: list[str] = field(default_factory=list)

    def anchor(self) -> str:
        return self.own or self.inner or self.headerlink or self.container or self.loose


@dataclass
class _Draft:
    """A part being collected: its heading and the page source under it, chrome left out."""

    level: int = 0
    heading: str = ""
    anchor: str = ""
    source: list[str] = field(default_factory=list)


class _PageReader(HTMLParser):
    """Splits a page into drafts at its headings; everything inside chrome is dropped."""

    def __init__(self) -> None:
        # Character references stay raw, so fragments are the page's source and re-parse the same.
        super().__init__(convert_charrefs=False)
        self.drafts: list[_Draft] = [_Draft()]
        self.title: list[str] = []
        self._stack: list[_Open] = []
        self._open: dict[str, int] = {}
        self._chrome = 0
        self._main = 0
        self._boxes = 0
        self._order = 0
        self._text_order = 0  # `_order` when visible text was last seen
        self._loose_anchor = ""  # the last id of an element no longer open, since that text
        self._in_title = False
        self._heading: _Heading | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, dict(attrs), closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, dict(attrs), closed=True)

    def handle_endtag(self, tag: str) -> None:
        visible = not self._chrome and self._heading is None
        self._close(tag)
        if visible:
            # A heading's end tag reaches the text only when the heading titles a box.
            self.drafts[-1].source.append("</p>" if tag in _HEADINGS else f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self._text(data, data)

    def handle_entityref(self, name: str) -> None:
        self._text(f"&{name};", unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self._text(f"&#{name};", unescape(f"&#{name};"))

    def finish(self) -> None:
        """Ends what unclosed tags left open."""
        self.close()
        self._close_all()

    def _start(self, tag: str, attrs: dict[str, str | None], *, closed: bool) -> None:
        self._order += 1
        entry = _Open(tag, self._order)
        if self._heading is not None:
            self._heading_child(entry, attrs)
        elif self._chrome:
            pass
        elif tag == "title":
            entry.chrome = self._in_title = True
        elif self._is_chrome(tag, attrs):
            entry.chrome = True
        elif tag in _HEADINGS and not self._boxes:
            entry.heading = True
            self._start_heading(_HEADINGS[tag], attrs.get("id") or "")
        else:
            self._visible_start(entry, attrs)
        if not closed and tag not in _UNSTACKED:
            self._push(entry)

    def _visible_start(self, entry: _Open, attrs: dict[str, str | None]) -> None:
        source = "<p>" if entry.tag in _HEADINGS else self.get_starttag_text() or ""
        self.drafts[-1].source.append(source)
        entry.main = entry.tag in _MAIN_TAGS or attrs.get("role") == "main"
        entry.box = not _BOX_CLASSES.isdisjoint((attrs.get("class") or "").split())
        anchor = attrs.get("id") or (attrs.get("name") if entry.tag == "a" else None) or ""
        if anchor and entry.tag in _SECTION_CONTAINERS:
            entry.anchor = anchor
        elif anchor:
            self._loose_anchor = anchor

    def _is_chrome(self, tag: str, attrs: dict[str, str | None]) -> bool:
        if tag in _CHROME_TAGS or (tag in _PAGE_CHROME_TAGS and not self._main):
            return True
        if attrs.get("role") in _CHROME_ROLES or attrs.get("id") in _CHROME_IDS:
            return True
        classes = attrs.get("class")
        return bool(classes) and not _CHROME_CLASSES.isdisjoint((classes or "").split())

    def _start_heading(self, level: int, own: str) -> None:
        container = next(
            (
                entry.anchor
                for entry in reversed(self._stack)
                if entry.anchor and entry.order > self._text_order
            ),
            "",
        )
        self._heading = _Heading(level, own, container, self._loose_anchor)

    def _heading_child(self, entry: _Open, attrs: dict[str, str | None]) -> None:
        heading = self._heading
        if heading is None or self._chrome:
            return
        classes = (attrs.get("class") or "").split()
        href = attrs.get("href") or ""
        if entry.tag == "a" and "headerlink" in classes and href.startswith("#"):
            heading.headerlink = href[1:]
        elif entry.tag == "a" and not heading.inner:
            heading.inner = attrs.get("id") or attrs.get("name") or ""
        entry.chrome = self._is_chrome(entry.tag, attrs)

    def _text(self, raw: str, plain: str) -> None:
        if self._in_title:
            self.title.append(plain)
        elif self._chrome:
            pass
        elif self._heading is not None:
            self._heading.words.append(plain)
        else:
            self.drafts[-1].source.append(raw)
            if not plain.isspace():
                self._text_order, self._loose_anchor = self._order, ""

    def _push(self, entry: _Open) -> None:
        self._stack.append(entry)
        self._open[entry.tag] = self._open.get(entry.tag, 0) + 1
        self._chrome += entry.chrome
        self._main += entry.main
        self._boxes += entry.box

    def _close(self, tag: str) -> None:
        """Closes `tag` and whatever opened inside it and was left open; a stray end tag is ignored."""
        if not self._open.get(tag):
            return
        while self._stack:
            entry = self._stack.pop()
            self._leave(entry)
            if entry.tag == tag:
                return

    def _close_all(self) -> None:
        while self._stack:
            self._leave(self._stack.pop())

    def _leave(self, entry: _Open) -> None:
        self._open[entry.tag] -= 1
        self._chrome -= entry.chrome
        self._main -= entry.main
        self._boxes -= entry.box
        if entry.tag == "title":
            self._in_title = False
        if entry.heading:
            self._end_heading()

    def _end_heading(self) -> None:
        heading, self._heading = self._heading, None
        if heading is None:
            return
        # A heading with no words (an icon, an empty tag) does not start a part.
        if text := " ".join("".join(heading.words).split()):
            self.drafts.append(_Draft(heading.level, text, heading.anchor()))
            self._text_order, self._loose_anchor = self._order, ""


def html_page(html: str, fallback_title: str) -> Page:
    """The page's parts; its title is its first heading, else `<title>`, else `fallback_title`."""
    reader = _PageReader()
    reader.feed(html)
    reader.finish()
    parts = [
        PagePart(draft.level, draft.heading, draft.anchor, html_to_text("".join(draft.source))[1])
        for draft in reader.drafts
    ]
    headings = [part.heading for part in parts if part.level]
    title = headings[0] if headings else " ".join("".join(reader.title).split())
    return Page(title or fallback_title, parts)

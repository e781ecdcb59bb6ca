"""HTML to Markdown-shaped text for ingestion: headings, paragraphs and code kept, markup dropped (pure)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Raw-text or invisible elements; each needs its closing tag, which HTML requires for all of them.
_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg"})
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "br", "dd", "details", "div", "dl", "dt",
        "figcaption", "figure", "footer", "form", "header", "hr", "li", "main", "nav", "ol", "p",
        "section", "summary", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip
_SPACES = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    """Collects blocks: paragraphs (whitespace collapsed), `#` headings, fenced `<pre>` contents."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.title: list[str] = []
        self._buffer: list[str] = []
        self._skipping = 0
        self._in_title = False
        self._in_pre = False
        self._heading = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIPPED:
            self._skipping += 1
        elif tag in _HEADINGS or tag in _BLOCKS or tag == "pre":
            self.flush()
            self._heading = _HEADINGS.get(tag, 0)
            self._in_pre = tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _HEADINGS or tag in _BLOCKS or tag == "pre":
            self.flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skipping:
            self._buffer.append(data)

    def flush(self) -> None:
        raw = "".join(self._buffer)
        self._buffer.clear()
        if self._in_pre and raw.strip():
            self.blocks.append("```\n" + raw.strip("\n") + "\n```")
        elif text := _SPACES.sub(" ", raw).strip():
            self.blocks.append("#" * self._heading + " " + text if self._heading else text)
        self._in_pre, self._heading = False, 0


def html_to_text(html: str) -> tuple[str, str]:
    """(title, text): the `<title>` and the visible text, with `#` headings and fenced `<pre>` blocks."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    parser.flush()
    return _SPACES.sub(" ", "".join(parser.title)).strip(), "\n\n".join(parser.blocks)

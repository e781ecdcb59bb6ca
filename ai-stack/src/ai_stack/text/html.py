"""HTML to Markdown-shaped text: headings, paragraphs, lists, tables and code kept, markup dropped (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Raw-text or invisible elements; each needs its closing tag, which HTML requires for all of them.
_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg"})
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "div",
        "dl", "dt", "figcaption", "figure", "footer", "form", "header", "hr", "main", "nav", "p",
        "section", "summary",
    }
)  # fmt: skip
_LISTS = frozenset({"ul", "ol"})
_ROW_TAGS = frozenset({"tr", "td", "th"})
_SPACES = re.compile(r"\s+")
_BACKTICK_RUNS = re.compile(r"`+")


@dataclass
class _ListLevel:
    """One open `<ul>`/`<ol>`: where its markers start and where its item text continues."""

    ordered: bool
    indent: int
    content: int
    number: int = 0

    def next_marker(self) -> str:
        self.number += 1
        marker = f"{self.number}. " if self.ordered else "- "
        self.content = self.indent + len(marker)
        return marker


@dataclass
class _Table:
    """The rows of the outermost open table; tables nested in a cell only add their text to it."""

    rows: list[list[str]] = field(default_factory=list)
    in_cell: bool = False
    nested: int = 0


class _TextExtractor(HTMLParser):
    """Collects blocks: paragraphs (whitespace collapsed), `#` headings, lists, tables, fenced `<pre>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.title: list[str] = []
        self._buffer: list[str] = []
        self._skipping = 0
        self._in_title = False
        self._in_pre = False
        self._heading = 0
        self._lists: list[_ListLevel] = []
        self._list_lines: list[str] = []
        self._marker: str | None = None
        self._table: _Table | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipping:
            self._skipping += tag in _SKIPPED  # nested, so an inner </svg> does not end the skipping
        elif tag in _SKIPPED:
            self._skipping = 1
        elif tag == "title":
            self._in_title = True
        elif self._table_tag(tag, start=True):
            pass
        elif tag in _LISTS:
            self.flush()
            indent = self._lists[-1].content if self._lists else 0
            self._lists.append(_ListLevel(tag == "ol", indent, indent))
        elif tag == "li" and self._lists:
            self.flush()
            self._marker = self._lists[-1].next_marker()
        elif tag == "table":
            self.flush()
            self._table = _Table()
        elif tag in _HEADINGS or tag in _BLOCKS or tag in {"pre", "li"}:
            self.flush()
            self._heading = _HEADINGS.get(tag, 0)
            self._in_pre = tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            self._skipping -= tag in _SKIPPED
        elif tag == "title":
            self._in_title = False
        elif self._table_tag(tag, start=False):
            pass
        elif tag in _LISTS and self._lists:
            self.flush()
            self._close_list()
        elif tag in _HEADINGS or tag in _BLOCKS or tag in {"pre", "li"}:
            self.flush()

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._in_title:
            self.title.append(data)
        else:
            self._buffer.append(data)

    def _table_tag(self, tag: str, *, start: bool) -> bool:
        """Handles a tag met inside a table; False when it is not the table's business."""
        table = self._table
        if table is None:
            return False
        if tag == "table" and not start and table.nested == 0:
            self._close_table()
        elif tag == "table":
            table.nested += 1 if start else -1
            self._buffer.append(" ")
        elif table.nested == 0 and tag in _ROW_TAGS:
            self._close_cell()
            if start and (tag == "tr" or not table.rows):
                table.rows.append([])
            table.in_cell = start and tag != "tr"
        elif table.in_cell:
            self._buffer.append(" ")  # any other tag in a cell only separates words
        else:
            return False
        return True

    def _close_cell(self) -> None:
        table = self._table
        if table is None or not table.in_cell:
            self.flush()  # text between cells belongs before the table, as browsers show it
            return
        table.rows[-1].append(_SPACES.sub(" ", "".join(self._buffer)).strip().replace("|", "\\|"))
        self._buffer.clear()
        table.in_cell = False

    def _close_table(self) -> None:
        self._close_cell()
        rows = [row for row in self._table.rows if any(row)] if self._table else []
        self._table = None
        if rows:
            self._emit(_render_table(rows))

    def _close_list(self) -> None:
        self._lists.pop()
        self._marker = None
        if not self._lists and self._list_lines:
            self.blocks.append("\n".join(self._list_lines))
            self._list_lines.clear()

    def flush(self) -> None:
        """Turns the text collected since the last block boundary into a block."""
        raw = "".join(self._buffer)
        self._buffer.clear()
        if self._in_pre and raw.strip():
            self._emit(_fenced(raw.strip("\n")))
        elif text := _SPACES.sub(" ", raw).strip():
            self._emit("#" * self._heading + " " + text if self._heading else text)
        self._in_pre, self._heading = False, 0

    def _emit(self, block: str) -> None:
        if not self._lists:
            self.blocks.append(block)
            return
        level = self._lists[-1]
        first = " " * level.indent + self._marker if self._marker else " " * level.content
        continuation = " " * level.content
        lines = block.split("\n")
        self._list_lines.append(first + lines[0])
        self._list_lines.extend(continuation + line if line else line for line in lines[1:])
        self._marker = None

    def finish(self) -> None:
        """Flushes what unclosed tags left open."""
        if self._table is not None:
            self._close_table()
        self.flush()
        while self._lists:
            self._close_list()


def _render_table(rows: list[list[str]]) -> str:
    """A Markdown table: the first row is the header, short rows are padded."""
    width = max(len(row) for row in rows)
    padded = [row + [""] * (width - len(row)) for row in rows]
    lines = [padded[0], ["---"] * width, *padded[1:]]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def _fenced(code: str) -> str:
    """A backtick fence longer than any backtick run in `code`, so the code cannot close it."""
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{code}\n{fence}"


def html_to_text(html: str) -> tuple[str, str]:
    """(title, text): the `<title>` and the visible text as Markdown-shaped blocks."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    parser.finish()
    return _SPACES.sub(" ", "".join(parser.title)).strip(), "\n\n".join(parser.blocks)

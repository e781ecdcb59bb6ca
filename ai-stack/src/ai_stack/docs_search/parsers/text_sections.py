"""A plain text file to sections: one per file, split at underlined titles when it has them (pure)."""

from __future__ import annotations

import re

from ai_stack.docs_search.parsers.page_sections import Page, PagePart

# A title underline: one punctuation character repeated, at least three times (`=====`, `-----`).
_UNDERLINE = re.compile(r"([=\-~^*#+])\1{2,}")
_MAX_TITLE = 100


def text_page(text: str, fallback_title: str) -> Page:
    """The file's parts; a title is a short line after a blank line, underlined at least as long.

    Levels follow the order in which underline styles first appear, as in reStructuredText; an
    overline of the same character is taken with its title.
    """
    lines = text.split("\n")
    styles: list[str] = []
    parts: list[PagePart] = []
    level, heading, start, index = 0, "", 0, 0
    while index < len(lines) - 1:
        if not _is_title(lines, index):
            index += 1
            continue
        style = lines[index + 1].strip()[0]
        overlined = index >= 1 and lines[index - 1].strip().startswith(style * 3)
        parts.append(PagePart(level, heading, "", _body(lines[start : index - int(overlined)])))
        if style not in styles:
            styles.append(style)
        level, heading = styles.index(style) + 1, lines[index].strip()
        start = index = index + 2
    parts.append(PagePart(level, heading, "", _body(lines[start:])))
    headings = [part.heading for part in parts if part.level]
    return Page(headings[0] if headings else fallback_title, parts)


def _is_title(lines: list[str], index: int) -> bool:
    title = lines[index].strip()
    underline = lines[index + 1].rstrip()
    if not title or len(title) > _MAX_TITLE or not _UNDERLINE.fullmatch(underline):
        return False
    if len(underline) < len(title):
        return False
    before = lines[index - 1].strip() if index else ""
    # After a blank line, or after its own overline (which itself follows a blank line or the start).
    return not before or (_UNDERLINE.fullmatch(before) is not None and before[0] == underline[0])


def _body(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n")

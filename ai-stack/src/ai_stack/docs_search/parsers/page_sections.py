"""What page parsers yield (a title, heading-delimited parts) and how parts become Sections (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ai_stack.docs_search.sections import Section

# GitHub's slugger drops punctuation and symbols, keeps letters, digits, `_`, `-`, and turns each
# space into `-` without collapsing runs ("Foo & Bar" -> "foo--bar").
_SLUG_DROPPED = re.compile(r"[^\w\- ]")
_BACKTICK_RUNS = re.compile(r"`+")


@dataclass(frozen=True)
class PagePart:
    """A heading and the text under it up to the next heading (level 0: text before the first heading)."""

    level: int
    heading: str
    anchor: str  # the anchor the page itself has for the heading; "" when it has none
    text: str


@dataclass
class Page:
    """One parsed file: its title and parts in document order."""

    title: str
    parts: list[PagePart] = field(default_factory=list)


class Slugger:
    """GitHub-style heading anchors: a repeated slug gets `-1`, `-2`, ... in document order."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def slug(self, heading: str) -> str:
        original = _SLUG_DROPPED.sub("", heading.lower()).replace(" ", "-")
        slug = original
        while slug in self._seen:
            self._seen[original] += 1
            slug = f"{original}-{self._seen[original]}"
        self._seen[slug] = 0
        return slug


def fenced(code: str, language: str = "") -> str:
    """A backtick fence longer than any backtick run in `code`, so the code cannot close it."""
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"


def page_sections(relpath: str, page: Page) -> list[Section]:
    """Sections of one page: heading paths from the title down, anchors unique, empty parts skipped.

    A heading with no text of its own gives no Section; it still appears in the heading paths of
    the parts below it. A heading path always starts with the page title, so sibling top headings
    (the PostgreSQL manual puts a reference page's "Synopsis" at its title's level) read as children.
    """
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    slugger = Slugger()
    used: set[str] = set()
    for part in page.parts:
        if part.level:
            while stack and stack[-1][0] >= part.level:
                stack.pop()
            stack.append((part.level, part.heading))
        # Every heading takes its slug, so later duplicates number as GitHub numbers them.
        slug = slugger.slug(part.heading) if part.level else ""
        if not part.text.strip():
            continue
        # Without an anchor of the page's own the key takes a slug, but the URL stays the page's.
        anchor = _unique(part.anchor or slug or ("section" if part.level else ""), used)
        path = tuple(heading for _, heading in stack)
        if not path or path[0] != page.title:
            path = (page.title, *path)
        key = f"{relpath}#{anchor}" if anchor else relpath
        url = f"{relpath}#{part.anchor}" if part.anchor else relpath
        sections.append(Section(key, page.title, path, url, part.text.strip()))
    return sections


def _unique(anchor: str, used: set[str]) -> str:
    """`anchor`, or `anchor-N` when a part of this page already took it (keys must stay unique)."""
    candidate, number = anchor, 0
    while candidate in used:
        number += 1
        candidate = f"{anchor}-{number}"
    used.add(candidate)
    return candidate

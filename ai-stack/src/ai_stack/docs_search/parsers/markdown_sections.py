"""A Markdown page to heading sections with GitHub-style anchors, via markdown-it (pure)."""

from __future__ import annotations

import re

from ai_stack.docs_search.parsers.page_sections import Page, PagePart, Slugger
from ai_stack.text.markdown import markdown_blocks

_ATX_LEVEL = re.compile(r" {0,3}(#{1,6})")
_FRONT_MATTER_CLOSERS = frozenset({"---", "..."})
_FRONT_MATTER_TITLE = re.compile(r"title\s*:\s*(.*?)\s*$")
# Inline markup a heading's anchor and path leave out: images and links keep their text, and the
# emphasis markers, code backticks, HTML tags and backslash escapes go.
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|!?\[([^\]]*)\]\[[^\]]*\]")
_MARKUP = re.compile(r"<[^>]+>|`+|\*+|(?<!\w)_+|_+(?!\w)")
_ESCAPE = re.compile(r"\\(.)")
_MDX_STATEMENT = re.compile(r"(import|export)\s")
_COMMENTS_ONLY = re.compile(r"(\s*<!--.*?-->)+\s*", re.DOTALL)


def markdown_page(text: str, fallback_title: str, *, mdx: bool = False) -> Page:
    """The page's parts; its title is front matter `title:`, else the first `#` heading, else fallback.

    Blocks that are only HTML comments are dropped, and in MDX those only of `import`/`export` lines.
    """
    lines = text.split("\n")
    front_matter_end, front_title = _front_matter(lines)
    blocks = list(markdown_blocks(text))
    if front_matter_end:
        blocks = blocks[1:]  # markdown_blocks yields front matter as its first block
    slugger = Slugger()
    parts: list[PagePart] = []
    level, heading, anchor = 0, "", ""
    body: list[str] = []
    for block in blocks:
        if block.is_heading:
            parts.append(PagePart(level, heading, anchor, "\n\n".join(body)))
            level, heading, body = _level(block.text), _plain(block.headings[-1]), []
            anchor = slugger.slug(heading)
        elif not _invisible(block.text, mdx=mdx):
            body.append(block.text)
    parts.append(PagePart(level, heading, anchor, "\n\n".join(body)))
    first_h1 = next((part.heading for part in parts if part.level == 1), "")
    return Page(front_title or first_h1 or fallback_title, parts)


def _invisible(source: str, *, mdx: bool) -> bool:
    """An HTML comment block, or in MDX an import/export block: nothing a reader sees."""
    if mdx and all(_MDX_STATEMENT.match(line) for line in source.split("\n")):
        return True
    return source.startswith("<!--") and _COMMENTS_ONLY.fullmatch(source) is not None


def _front_matter(lines: list[str]) -> tuple[int, str]:
    """(lines taken by a leading `---` block, its `title:`), by markdown_blocks' own rule."""
    if len(lines) < 3 or lines[0].rstrip() != "---" or not lines[1].strip():
        return 0, ""
    for index in range(1, len(lines)):
        if lines[index].rstrip() in _FRONT_MATTER_CLOSERS:
            titles = (_FRONT_MATTER_TITLE.match(line) for line in lines[1:index])
            title = next((match.group(1) for match in titles if match), "")
            # A YAML block scalar (`title: >`) is left to the next fallback.
            return index + 1, "" if title in {"|", ">"} else title.strip("'\"")
    return 0, ""


def _level(source: str) -> int:
    """The heading level of an ATX (`## x`) or setext (`x` over `===`/`---`) heading's source."""
    if match := _ATX_LEVEL.match(source):
        return len(match.group(1))
    return 1 if source.rstrip().endswith("=") else 2


def _plain(heading: str) -> str:
    """The heading as a reader sees it, the text GitHub slugs."""
    text = _LINK.sub(lambda match: match.group(1) or match.group(2) or "", heading)
    text = _ESCAPE.sub(r"\1", _MARKUP.sub("", text))
    return " ".join(text.split())

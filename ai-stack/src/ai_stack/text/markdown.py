"""Markdown to blocks with heading paths, parsed by markdown-it (CommonMark plus tables) (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Configured once like a compiled regex: parse() keeps no state between calls. Only the block rules
# run, because blocks keep their source text and inline markup is never rendered.
_PARSER = MarkdownIt("commonmark").enable("table").disable("inline")
# How markdown-it splits lines before parsing, so token maps index exactly these lines.
_NEWLINE = re.compile(r"\r\n?|\n")
_FRONT_MATTER_CLOSERS = frozenset({"---", "..."})


@dataclass(frozen=True)
class Block:
    """A unit the splitter keeps whole when it can: a paragraph, a code block, a table, a heading."""

    text: str
    headings: tuple[str, ...]
    is_heading: bool = False


def markdown_blocks(text: str) -> Iterator[Block]:
    """Top-level Markdown blocks, each exactly its source lines, with the path of headings above it."""
    lines = _NEWLINE.split(text)
    body = _front_matter_end(lines)
    if body:
        yield Block("\n".join(lines[:body]), ())
    # Front matter lines parse as blank lines, so token maps still index `lines`.
    tokens = _PARSER.parse("\n" * body + "\n".join(lines[body:]))
    headings: list[str] = []
    cursor = body
    for index, token in enumerate(tokens):
        if token.level != 0 or token.map is None:
            continue
        start, end = token.map
        # Lines no token covers (link reference definitions) are kept as text.
        yield from _text_block(lines[cursor:start], headings)
        cursor = max(cursor, end)
        if token.type == "heading_open":
            _enter_heading(headings, token, tokens[index + 1])
            yield Block(_source(lines[start:end]), _path(headings), is_heading=True)
        else:
            yield from _text_block(lines[start:end], headings)
    yield from _text_block(lines[cursor:], headings)


def _text_block(lines: list[str], headings: list[str]) -> Iterator[Block]:
    source = _source(lines)
    if source.strip():
        yield Block(source, _path(headings))


def _source(lines: list[str]) -> str:
    """The lines as written, without the blank lines around them."""
    filled = [index for index, line in enumerate(lines) if line.strip()]
    return "\n".join(lines[filled[0] : filled[-1] + 1]) if filled else ""


def _enter_heading(headings: list[str], token: Token, inline: Token) -> None:
    """Replaces the heading of this level and every deeper one (levels skipped stay empty)."""
    level = int(token.tag[1:])
    del headings[level - 1 :]
    headings.extend([""] * (level - 1 - len(headings)))
    headings.append(" ".join(inline.content.split()))


def _path(headings: list[str]) -> tuple[str, ...]:
    return tuple(h for h in headings if h)


def _front_matter_end(lines: list[str]) -> int:
    """Lines taken by a leading `---` front matter block, closing line included (0 without one)."""
    # A blank line right after `---` means a thematic break, not front matter.
    if len(lines) < 3 or lines[0].rstrip() != "---" or not lines[1].strip():
        return 0
    for index in range(1, len(lines)):
        if lines[index].rstrip() in _FRONT_MATTER_CLOSERS:
            return index + 1
    return 0

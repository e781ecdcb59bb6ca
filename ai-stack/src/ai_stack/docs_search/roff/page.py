"""A man page as readable parts, and the builder both macro interpreters write into (pure).

The builder knows text layout only: paragraphs, literal blocks, tagged items and indentation
depth. Which requests mean what is the interpreters' business (`man.py`, `mdoc.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ai_stack.docs_search.roff.escapes import GLUE, NBSP

BULLETS = frozenset({"\u2022", "-", "*", "o", "+", "\u00b7", "\u2013", "\u2014"})  # •, ·, en and em dash
# Sections whose tagged items are never options, even when a tag starts with a dash.
NOT_OPTIONS = frozenset({"NAME", "SYNOPSIS"})
_OPTION_TAG = re.compile("^[-\u2212]")  # a hyphen or a minus sign
_ENUMERATION = re.compile(r"^\(?\d{1,2}[.)]?$")
_SPACES = re.compile(r"[ \t]+")


@dataclass
class Item:
    """A tagged paragraph whose tag is an option (`-R, --recursive`), with its body."""

    tag: str
    subsection: str | None
    depth: int  # indentation of the tag
    body_depth: int  # indentation of the body: going back below it ends the item
    blocks: list[str] = field(default_factory=list)


@dataclass
class Part:
    """One `.SH`/`.Sh` section: its blocks (Markdown paragraphs and fences) and its option items."""

    heading: str
    blocks: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    def text(self) -> str:
        return "\n\n".join(self.blocks)


@dataclass
class Page:
    """What a page says, in order; `name` and `section` come from `.TH`/`.Dt` when given."""

    name: str = ""
    section: str = ""
    parts: list[Part] = field(default_factory=list)

    def part(self, heading: str) -> Part | None:
        return next((p for p in self.parts if p.heading == heading), None)


class PageBuilder:
    """Collects text into paragraphs, literal blocks and items as the interpreter reads a page."""

    def __init__(self) -> None:
        self.page = Page()
        self._part: Part | None = None
        self._subsection: str | None = None
        self._item: Item | None = None
        self._lines: list[str] = []  # the open paragraph, one entry per output line
        self._glue = False  # the last text ended in \c
        self._literal: list[str] | None = None
        self._tag: list[str] | None = None  # collecting the tag of a `.TP`
        self._tag_depth = 0
        self._extra_tag = False  # the tag being collected belongs to the item just opened (.TQ)
        self._prefix = ""  # a bullet waiting for its paragraph

    # -- structure

    def section(self, heading: str) -> None:
        self.flush()
        self._close_item()
        self._part = Part(_clean(heading) or "(untitled)")
        self.page.parts.append(self._part)
        self._subsection = None

    def subsection(self, title: str) -> None:
        self.flush()
        self._close_item()
        self._subsection = _clean(title)
        if self._subsection:
            self._add_block(f"### {self._subsection}")

    def paragraph(self, depth: int | None = None) -> None:
        """Ends the paragraph; with `depth`, also the option item it belongs to when not deeper.

        In a literal block it is a blank line of the block: only `.fi`/`.EE`/`.Ed` end one.
        """
        if self._literal is not None:
            if self._literal and self._literal[-1]:
                self._literal.append("")
            return
        self.flush()
        self._prefix = ""
        if depth is not None and self._item is not None and depth <= self._item.depth:
            self._close_item()

    def outdent(self, depth: int) -> None:
        """Indentation went back to `depth`: an item whose body was deeper is over."""
        self.flush()
        if self._item is not None and depth < self._item.body_depth:
            self._close_item()

    def line_break(self) -> None:
        if self._literal is None and self._lines and self._lines[-1]:
            self._lines.append("")

    def literal(self, on: bool) -> None:
        """Starts or ends a block kept line for line (`.nf`/`.fi`, `.EX`/`.EE`, `.Bd -literal`)."""
        if on and self._literal is None:
            self.flush()
            self._literal = []
        elif not on and self._literal is not None:
            lines, self._literal = self._literal, None
            while lines and not lines[-1].strip():
                lines.pop()
            if lines:
                self._add_block("```\n" + "\n".join(lines) + "\n```", code=True)

    # -- items

    def expect_tag(self, depth: int) -> None:
        """`.TP`: the next line of text is an item's tag."""
        self.flush()
        self._tag, self._tag_depth, self._extra_tag = [], depth, False

    def extra_tag(self) -> None:
        """`.TQ`: one more tag line for the item just tagged (groff)."""
        self.flush()
        self._tag, self._extra_tag = [], self._item is not None and len(self._item.blocks) == 1

    def item(self, tag: str, depth: int, body_depth: int | None = None) -> None:
        """A tagged paragraph starts: an option item, a nested entry, a bullet or a plain tag."""
        self.flush()
        tag = _clean(tag)
        if not tag:
            return
        if tag in BULLETS or _ENUMERATION.match(tag):
            self._prefix = "- " if tag in BULLETS else f"{tag} "
            return
        if self._item is not None and depth > self._item.depth:
            self._add_block(tag)
            return
        if self._item is not None and len(self._item.blocks) == 1 and _OPTION_TAG.match(tag):
            self._extend_tag(tag)  # tags in a row share the body that follows them
            return
        self._close_item()
        heading = self._part.heading.upper() if self._part else "NAME"
        if heading not in NOT_OPTIONS and _OPTION_TAG.match(tag):
            self._item = Item(tag, self._subsection, depth, depth if body_depth is None else body_depth)
        self._add_block(tag)

    def paragraph_as_tag(self, depth: int) -> bool:
        """Docbook's `.PP`, one line, `.RS`: that line was an option's tag. False when it is not one."""
        if self._literal is not None or len(self._lines) != 1 or not _OPTION_TAG.match(self._lines[0]):
            return False
        tag, self._lines = self._lines[0], []
        self.item(tag, depth, depth + 1)
        return True

    def _extend_tag(self, tag: str) -> None:
        if self._item is None or self._part is None:
            return
        self._item.tag += ", " + tag
        self._item.blocks[0] = self._part.blocks[-1] = self._item.tag

    # -- text

    def space(self) -> None:
        """The next text starts a new word, whatever glue was pending (mdoc's `.Sm on`)."""
        self._glue = False

    def text(self, text: str) -> None:
        if self._literal is not None:
            self._literal.append(text.replace(GLUE, "").replace(NBSP, " ").rstrip())
            return
        glue_next = text.endswith(GLUE)
        if text.startswith(GLUE):
            self._glue = True  # mdoc: the line opens with punctuation or `Ns` and joins the last one
        text = _SPACES.sub(" ", text.replace(GLUE, "")).strip()
        if self._tag is not None:
            self._tag_text(text, glue_next)
            return
        if not text:
            self._glue = glue_next
            return
        if not self._lines:
            self._lines.append(self._prefix)
            self._prefix = ""
        joiner = "" if self._glue or not self._lines[-1] or self._lines[-1].endswith(" ") else " "
        self._lines[-1] += joiner + text
        self._glue = glue_next

    def _tag_text(self, text: str, glue_next: bool) -> None:
        tag = self._tag if self._tag is not None else []
        if text:
            tag.append(text if not tag or self._glue else " " + text)
        self._glue = glue_next
        if not tag or glue_next:
            return  # still waiting: an empty line, or a tag continued by \c
        self._tag = None
        joined = _clean("".join(tag))
        if self._extra_tag and self._item is not None:
            self._extend_tag(joined)
        else:
            self.item(joined, self._tag_depth)
        self._extra_tag = False

    # -- output

    def flush(self) -> None:
        """Ends the open paragraph (and literal block) and stores them."""
        if self._literal is not None:
            self.literal(False)
        if self._tag is not None and not self._tag:
            self._tag = None
        paragraph = "\n".join(line.strip() for line in self._lines if line.strip())
        self._lines, self._glue = [], False
        if paragraph:
            self._add_block(paragraph)

    def finish(self) -> Page:
        self.flush()
        self._close_item()
        return self.page

    def _add_block(self, block: str, code: bool = False) -> None:
        if self._part is None:
            return  # text before the first heading (a preamble) is not part of any section
        for blocks in (self._part.blocks, self._item.blocks if self._item else None):
            if blocks is None:
                continue
            if code and blocks and blocks[-1].endswith("\n```") and blocks[-1].startswith("```"):
                blocks[-1] = blocks[-1][: -len("\n```")] + block[len("```") :]  # consecutive .Dl lines
            else:
                blocks.append(block)

    def _close_item(self) -> None:
        if self._item is not None and self._part is not None:
            self._part.items.append(self._item)
        self._item = None


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text.replace(GLUE, "").replace(NBSP, " ")).strip()

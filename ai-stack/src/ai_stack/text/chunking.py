"""Token-aware chunking that keeps Markdown headings, paragraphs, code, tables and lists whole (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from ai_stack.text.markdown import Block, markdown_blocks

CountTokens = Callable[[str], int]
_BLANK_LINES = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Chunk:
    """One piece of a document as it is embedded and searched."""

    position: int
    text: str
    heading_path: tuple[str, ...]
    token_count: int


@dataclass
class ChunkingOptions:
    """Sizes in model tokens."""

    max_tokens: int = 256
    overlap_tokens: int = 32
    markdown: bool = True

    def __post_init__(self) -> None:
        if self.max_tokens < 16 or not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ValueError("max_tokens must be >= 16 and overlap_tokens in [0, max_tokens/2)")


def plain_blocks(text: str) -> Iterator[Block]:
    """Blank-line separated paragraphs (source code, plain text)."""
    for part in _BLANK_LINES.split(text):
        if part.strip():
            yield Block(part.strip("\n"), ())


def _split_oversized(text: str, max_tokens: int, count: CountTokens) -> list[str]:
    """Lines first, then words, so no piece exceeds `max_tokens`."""
    separator = "\n" if "\n" in text else " "
    pieces: list[str] = []
    current: list[str] = []
    for unit in _units(text, max_tokens, count):
        if current and count(separator.join([*current, unit])) > max_tokens:
            pieces.append(separator.join(current))
            current = [unit]
        else:
            current.append(unit)
    if current:
        pieces.append(separator.join(current))
    return pieces


def _units(text: str, max_tokens: int, count: CountTokens) -> Iterator[str]:
    for line in text.split("\n") if "\n" in text else [text]:
        yield from _fitted(line, max_tokens, count)


def _fitted(line: str, max_tokens: int, count: CountTokens) -> Iterator[str]:
    """`line` in pieces of at most `max_tokens`: runs of whole words, else halves of one long word."""
    size = count(line)
    if size <= max_tokens or len(line) < 2:
        yield line
        return
    words = line.split(" ")
    if len(words) > 1:
        # An estimate from the average word: a piece denser than the line is split again.
        step = max(1, len(words) * max_tokens // size - 1)
        pieces = [" ".join(words[start : start + step]) for start in range(0, len(words), step)]
    else:
        pieces = [line[: len(line) // 2], line[len(line) // 2 :]]  # a URL or base64 blob
    for piece in pieces:
        yield from _fitted(piece, max_tokens, count)


class _Part(NamedTuple):
    text: str
    is_heading: bool


@dataclass
class _Builder:
    options: ChunkingOptions
    count: CountTokens
    chunks: list[Chunk] = field(default_factory=list)
    parts: list[_Part] = field(default_factory=list)
    headings: tuple[str, ...] = ()

    def add(self, block: Block) -> None:
        if block.is_heading and any(not p.is_heading for p in self.parts):
            self.flush(carry_overlap=False)
        pieces = [block.text]
        if self.count(block.text) > self.options.max_tokens:
            pieces = _split_oversized(block.text, self.options.max_tokens, self.count)
        for piece in pieces:
            if self.parts and self._too_big(piece):
                self.flush(carry_overlap=True)
                if self._too_big(piece):
                    self.parts = []  # the overlap would push this chunk over the limit
            if not self.parts:
                self.headings = block.headings
            self.parts.append(_Part(piece, block.is_heading))

    def _too_big(self, piece: str) -> bool:
        return self.count(self._joined(piece)) > self.options.max_tokens

    def _joined(self, *more: str) -> str:
        return "\n\n".join([*(p.text for p in self.parts), *more])

    def flush(self, carry_overlap: bool) -> None:
        if not self.parts:
            return
        text = self._joined()
        self.chunks.append(Chunk(len(self.chunks), text, self.headings, self.count(text)))
        self.parts = self._overlap() if carry_overlap else []

    def _overlap(self) -> list[_Part]:
        if self.options.overlap_tokens == 0:
            return []
        last = self.parts[-1]
        words = last.text.split(" ")
        tail: list[str] = []
        while words and self.count(" ".join([words[-1], *tail])) <= self.options.overlap_tokens:
            tail.insert(0, words.pop())
        return [_Part(" ".join(tail), last.is_heading)] if tail else []


def chunk_text(text: str, count: CountTokens, options: ChunkingOptions | None = None) -> list[Chunk]:
    """Splits `text` into chunks of at most `max_tokens` tokens (as counted by `count`)."""
    options = options or ChunkingOptions()
    builder = _Builder(options, count)
    blocks = markdown_blocks(text) if options.markdown else plain_blocks(text)
    for block in blocks:
        builder.add(block)
    builder.flush(carry_overlap=False)
    return builder.chunks

"""Token-aware chunking that respects Markdown headings, paragraphs and code blocks (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

TokenCounter = Callable[[str], int]
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^(```|~~~)")


@dataclass(frozen=True)
class Block:
    """A unit the splitter keeps whole when it can: a paragraph, a code block, a heading."""

    text: str
    headings: tuple[str, ...]
    is_heading: bool = False


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


def markdown_blocks(text: str) -> Iterator[Block]:
    """Headings, fenced code blocks and blank-line separated paragraphs, with heading paths."""
    headings: list[str] = []
    lines = text.splitlines()
    buffer: list[str] = []
    fence: str | None = None

    def flush() -> Iterator[Block]:
        body = "\n".join(buffer).strip("\n")
        buffer.clear()
        if body.strip():
            yield Block(body, tuple(headings))

    for line in lines:
        if fence is not None:
            buffer.append(line)
            if line.strip().startswith(fence):
                fence = None
                yield from flush()
            continue
        fence_match = _FENCE.match(line.strip())
        if fence_match:
            yield from flush()
            fence = fence_match.group(1)
            buffer.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            yield from flush()
            level = len(heading.group(1))
            del headings[level - 1 :]
            headings.extend([""] * (level - 1 - len(headings)))
            headings.append(heading.group(2))
            yield Block(line, tuple(h for h in headings if h), is_heading=True)
            continue
        if not line.strip():
            yield from flush()
            continue
        buffer.append(line)
    yield from flush()


def plain_blocks(text: str) -> Iterator[Block]:
    """Blank-line separated paragraphs (source code, plain text)."""
    for part in re.split(r"\n\s*\n", text):
        if part.strip():
            yield Block(part.strip("\n"), ())


def _split_oversized(text: str, max_tokens: int, count: TokenCounter) -> list[str]:
    """Lines first, then words, so no piece exceeds `max_tokens`."""
    pieces: list[str] = []
    current: list[str] = []
    for unit in _units(text, max_tokens, count):
        candidate = "\n".join([*current, unit]) if "\n" in text else " ".join([*current, unit])
        if current and count(candidate) > max_tokens:
            pieces.append(("\n" if "\n" in text else " ").join(current))
            current = [unit]
        else:
            current.append(unit)
    if current:
        pieces.append(("\n" if "\n" in text else " ").join(current))
    return pieces


def _units(text: str, max_tokens: int, count: TokenCounter) -> Iterator[str]:
    for line in text.split("\n") if "\n" in text else [text]:
        if count(line) <= max_tokens:
            yield line
            continue
        words = line.split(" ")
        step = max(1, len(words) * max_tokens // max(count(line), 1) - 1)
        for start in range(0, len(words), step):
            yield " ".join(words[start : start + step])


@dataclass
class _Builder:
    options: ChunkingOptions
    count: TokenCounter
    chunks: list[Chunk] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    headings: tuple[str, ...] = ()

    def add(self, block: Block) -> None:
        if block.is_heading and self._has_body():
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
            self.parts.append(piece)

    def _too_big(self, piece: str) -> bool:
        return self.count("\n\n".join([*self.parts, piece])) > self.options.max_tokens

    def _has_body(self) -> bool:
        return any(not _HEADING.match(p) for p in self.parts)

    def flush(self, carry_overlap: bool) -> None:
        if not self.parts:
            return
        text = "\n\n".join(self.parts)
        self.chunks.append(Chunk(len(self.chunks), text, self.headings, self.count(text)))
        self.parts = self._overlap() if carry_overlap else []

    def _overlap(self) -> list[str]:
        if self.options.overlap_tokens == 0:
            return []
        words = self.parts[-1].split(" ")
        tail: list[str] = []
        while words and self.count(" ".join([words[-1], *tail])) <= self.options.overlap_tokens:
            tail.insert(0, words.pop())
        return [" ".join(tail)] if tail else []


def chunk_text(text: str, count: TokenCounter, options: ChunkingOptions | None = None) -> list[Chunk]:
    """Splits `text` into chunks of at most `max_tokens` tokens (as counted by `count`)."""
    options = options or ChunkingOptions()
    builder = _Builder(options, count)
    blocks = markdown_blocks(text) if options.markdown else plain_blocks(text)
    for block in blocks:
        builder.add(block)
    builder.flush(carry_overlap=False)
    return builder.chunks

"""Chunking respects token limits, headings, paragraphs and code blocks."""

from __future__ import annotations

import pytest
from ai_stack.aidb.chunking import ChunkingOptions, chunk_text, markdown_blocks
from ai_stack.embeddings.settings import DEFAULT_MODEL
from ai_stack.embeddings.tokens import TokenCounter


def words(text: str) -> int:
    return len(text.split())


DOC = """# Install

Run the installer.

## Requirements

You need PostgreSQL 15 and Redis.

```bash
apt-get install postgresql

apt-get install redis-server
```

# Usage

Start the stack with one command.
"""


def test_heading_paths_and_code_blocks_stay_whole() -> None:
    blocks = list(markdown_blocks(DOC))
    code = [b for b in blocks if b.text.startswith("```")]
    assert len(code) == 1 and "redis-server" in code[0].text  # the blank line inside did not split it
    assert code[0].headings == ("Install", "Requirements")
    assert next(b for b in blocks if "one command" in b.text).headings == ("Usage",)


def test_each_section_starts_a_new_chunk() -> None:
    chunks = chunk_text(DOC, words, ChunkingOptions(max_tokens=200, overlap_tokens=0))
    assert [c.heading_path for c in chunks] == [("Install",), ("Install", "Requirements"), ("Usage",)]
    assert chunks[2].text.startswith("# Usage")
    assert [c.position for c in chunks] == [0, 1, 2]


def test_no_chunk_exceeds_the_limit_and_nothing_is_lost() -> None:
    paragraphs = [" ".join(f"w{p}_{i}" for i in range(37)) for p in range(20)]
    text = "\n\n".join(paragraphs)
    chunks = chunk_text(text, words, ChunkingOptions(max_tokens=100, overlap_tokens=10))
    assert all(c.token_count <= 100 for c in chunks)
    joined = " ".join(c.text for c in chunks)
    assert all(f"w{p}_{i}" in joined for p in range(20) for i in range(37))


def test_overlap_repeats_the_tail_of_the_previous_chunk() -> None:
    text = "\n\n".join(" ".join(f"p{p}w{i}" for i in range(30)) for p in range(4))
    chunks = chunk_text(text, words, ChunkingOptions(max_tokens=40, overlap_tokens=8))
    assert len(chunks) >= 3
    assert chunks[1].text.split()[0] in chunks[0].text


def test_one_huge_line_is_split_by_words() -> None:
    text = " ".join(f"x{i}" for i in range(1000))
    chunks = chunk_text(text, words, ChunkingOptions(max_tokens=64, overlap_tokens=0, markdown=False))
    assert all(c.token_count <= 64 for c in chunks)
    assert sum(c.token_count for c in chunks) == 1000


def test_real_tokenizer_limits() -> None:
    count = TokenCounter.for_model(DEFAULT_MODEL)
    text = DOC * 30
    chunks = chunk_text(text, count, ChunkingOptions(max_tokens=64, overlap_tokens=8))
    assert all(count(c.text) <= 64 for c in chunks)
    assert all(c.token_count == count(c.text) for c in chunks)
    assert len(chunks) > 10
    assert count("PostgreSQL") < 10


def test_nonsense_options() -> None:
    with pytest.raises(ValueError):
        ChunkingOptions(max_tokens=8)
    with pytest.raises(ValueError):
        ChunkingOptions(max_tokens=100, overlap_tokens=60)

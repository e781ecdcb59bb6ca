"""Chunking respects token limits, headings, paragraphs, code blocks, tables and lists."""

from __future__ import annotations

import pytest
from ai_stack.text.chunking import ChunkingOptions, chunk_text, plain_blocks
from ai_stack.text.markdown import markdown_blocks
from ai_stack.text.model_files import DEFAULT_MODEL
from ai_stack.text.tokenizer import TokenCounter


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


SETEXT = """Install
=======

Run the installer.

Requirements
------------

You need PostgreSQL 15.
"""


def test_setext_headings_start_sections() -> None:
    chunks = chunk_text(SETEXT, words, ChunkingOptions(max_tokens=200, overlap_tokens=0))
    assert [c.heading_path for c in chunks] == [("Install",), ("Install", "Requirements")]
    assert chunks[1].text.startswith("Requirements\n------------")


def test_a_longer_fence_is_not_closed_by_a_shorter_one() -> None:
    text = "# Fences\n\n````markdown\n```python\nx = 1\n```\n\n# not a heading\n````\n\nAfter.\n"
    blocks = list(markdown_blocks(text))
    assert [b.text for b in blocks] == [
        "# Fences",
        "````markdown\n```python\nx = 1\n```\n\n# not a heading\n````",
        "After.",
    ]
    assert all(b.headings == ("Fences",) for b in blocks)


TABLE_AND_LIST = """# Reference

| name | default |
|------|---------|
| port | 8080    |
| host | 0.0.0.0 |

- first
  - nested one
  - nested two
- second
"""


def test_tables_and_nested_lists_keep_a_line_per_row_and_item() -> None:
    chunks = chunk_text(TABLE_AND_LIST, words, ChunkingOptions(max_tokens=200, overlap_tokens=0))
    assert len(chunks) == 1
    assert chunks[0].text == TABLE_AND_LIST.strip("\n")
    assert chunks[0].heading_path == ("Reference",)


def test_a_table_over_the_limit_is_split_between_rows() -> None:
    rows = "\n".join(f"| key{i} | value {i} with some words |" for i in range(40))
    text = f"| key | value |\n|---|---|\n{rows}\n"
    chunks = chunk_text(text, words, ChunkingOptions(max_tokens=50, overlap_tokens=0))
    assert len(chunks) > 1 and all(c.token_count <= 50 for c in chunks)
    lines = [line for c in chunks for line in c.text.split("\n")]
    assert lines == text.strip("\n").split("\n")  # whole rows, none cut, none repeated


def test_front_matter_is_text_not_a_heading() -> None:
    blocks = list(markdown_blocks("---\ntitle: Guide\n---\n\n# Guide\n\nBody.\n"))
    assert blocks[0].text == "---\ntitle: Guide\n---" and blocks[0].headings == ()
    assert [b.headings for b in blocks[1:]] == [("Guide",), ("Guide",)]


def test_blocks_are_the_source_lines_and_nothing_is_dropped() -> None:
    text = "Intro with *markup* and a [link][ref].\n\n[ref]: https://example.com\n\n<div>\nraw\n</div>\n"
    assert [b.text for b in markdown_blocks(text)] == [
        "Intro with *markup* and a [link][ref].",
        "[ref]: https://example.com",
        "<div>\nraw\n</div>",
    ]


def test_plain_text_splits_on_blank_lines_only() -> None:
    blocks = list(plain_blocks("def f():\n    return 1\n\n\n# comment\nx = f()\n"))
    assert [b.text for b in blocks] == ["def f():\n    return 1", "# comment\nx = f()"]
    assert not any(b.is_heading or b.headings for b in blocks)


def test_dense_words_and_one_huge_word_are_cut_to_the_limit() -> None:
    text = " ".join(["a"] * 200 + ["b" * 60] * 10) + "\n" + "c" * 500
    chunks = chunk_text(text, len, ChunkingOptions(max_tokens=64, overlap_tokens=0, markdown=False))
    assert all(c.token_count <= 64 for c in chunks)
    assert "".join("".join(c.text.split()) for c in chunks) == "".join(text.split())

"""What the model and BM25 read for a chunk: the header always for BM25, within the window for the model."""

from __future__ import annotations

from typing import Any

from ai_stack.aidb.indexer import IndexedText


def words(text: str) -> int:
    return len(text.split())


def chunk(text: str, tokens: int) -> dict[str, Any]:
    return {"text": text, "token_count": tokens, "heading_path": ["Archiving"]}


def test_bm25_always_reads_the_header_and_the_model_only_where_it_fits() -> None:
    indexed = IndexedText(words, window_tokens=10)
    document = {"title": "WAL"}
    roomy = indexed(document, chunk("Set archive_mode to on.", 4))  # type: ignore[arg-type]
    assert roomy == ("WAL > Archiving\n\nSet archive_mode to on.",) * 2
    full = indexed(document, chunk("one two three four five six seven eight nine ten", 10))  # type: ignore[arg-type]
    assert full[0] == "one two three four five six seven eight nine ten"
    assert full[1].startswith("WAL > Archiving\n\n")


def test_without_headers_both_read_the_chunk_as_written() -> None:
    assert IndexedText()({"title": "WAL"}, chunk("body", 1)) == ("body", "body")  # type: ignore[arg-type]

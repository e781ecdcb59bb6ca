"""Token counts come from the embedding model's own tokenizer.json."""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_stack.text.model_files import DEFAULT_MODEL, resolve_model_path
from ai_stack.text.tokenizer import TokenCounter


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter.for_model(DEFAULT_MODEL)


def test_the_default_model_resolves_to_the_offline_copy() -> None:
    assert (Path(resolve_model_path(DEFAULT_MODEL)) / "tokenizer.json").is_file()
    assert resolve_model_path("all-MiniLM-L6-v2") == resolve_model_path(DEFAULT_MODEL)
    assert resolve_model_path("/models/other") == "/models/other"


def test_counts_exclude_special_tokens(counter: TokenCounter) -> None:
    assert counter("hello world") == 2
    assert counter("") == 0


def test_count_many_includes_special_tokens_by_default(counter: TokenCounter) -> None:
    assert counter.count_many(["hello world", ""]) == [4, 2]  # [CLS] ... [SEP]
    assert counter.count_many(["hello world"], special_tokens=False) == [2]


def test_long_texts_are_neither_padded_nor_truncated(counter: TokenCounter) -> None:
    text = " ".join(["word"] * 600)
    assert counter(text) == 600
    assert counter.count_many([text, "a"]) == [602, 3]

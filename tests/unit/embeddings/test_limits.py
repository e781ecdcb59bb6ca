"""Per-request limits."""

from __future__ import annotations

import pytest
from ai_stack.embeddings.limits import (
    EmptyInputError,
    InputLimitError,
    as_list,
    check_count,
    check_tokens,
    fit_lengths,
)


def test_single_text_becomes_a_list() -> None:
    assert as_list("a") == ["a"]
    assert as_list(["a", "b"]) == ["a", "b"]


def test_count_limits() -> None:
    with pytest.raises(EmptyInputError, match="empty"):
        check_count([], 4)
    with pytest.raises(InputLimitError, match="5 inputs sent, at most 4"):
        check_count(["x"] * 5, 4)
    check_count(["x"] * 4, 4)


def test_length_limit_refuses_or_truncates() -> None:
    with pytest.raises(InputLimitError, match=r"inputs\[1\] has 6 characters"):
        fit_lengths(["ok", "toolong"[:6]], 5, truncate=False)
    assert fit_lengths(["ok", "toolong"], 5, truncate=True) == ["ok", "toolo"]


def test_token_limit_only_tokenizes_long_texts() -> None:
    seen: list[list[str]] = []

    def count(texts: list[str]) -> list[int]:
        seen.append(texts)
        return [len(t.split()) + 2 for t in texts]

    check_tokens(["short"], 10, count)
    assert seen == []
    with pytest.raises(InputLimitError, match=r"inputs\[1\] has 14 tokens"):
        check_tokens(["short", " ".join(["w"] * 12)], 10, count)

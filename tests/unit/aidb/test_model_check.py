"""What differs between the served model and aidb's settings is named, each in one sentence."""

from __future__ import annotations

from ai_stack.aidb.model_check import mismatches
from ai_stack.clients.embeddings import ModelInfo


def info(dimension: int = 384, tokenizer: str | None = "abc") -> ModelInfo:
    return ModelInfo(
        model="m",
        dimension=dimension,
        tokenizer_sha256=tokenizer,
        max_sequence_length=256,
        max_batch_size=32,
        max_inputs_per_request=64,
        max_chars_per_input=10_000,
    )


def test_the_same_model_fits() -> None:
    assert mismatches(info(), 384, "abc", "m") == []


def test_another_dimension_and_tokenizer_are_each_named() -> None:
    problems = mismatches(info(dimension=768, tokenizer="xyz"), 384, "abc", "mine")
    assert len(problems) == 2
    assert "768-d vectors" in problems[0] and "AI_STACK_AIDB_EMBEDDING_DIMENSION" in problems[0]
    assert "tokenizer differs from mine" in problems[1]


def test_an_unknown_tokenizer_is_not_a_mismatch() -> None:
    assert mismatches(info(tokenizer=None), 384, "abc", "m") == []
    assert mismatches(info(), 384, None, "m") == []

"""Per-request limits on inputs (pure functions)."""

from __future__ import annotations

from collections.abc import Callable, Sequence


class InputLimitError(ValueError):
    """An input breaks a limit and the caller did not ask for truncation."""


class EmptyInputError(ValueError):
    """No text to embed: a validation error, not an over-limit body."""


def as_list(inputs: str | list[str]) -> list[str]:
    """A single text becomes a one-item list."""
    return [inputs] if isinstance(inputs, str) else inputs


def check_count(texts: Sequence[str], max_inputs: int) -> None:
    """Refuses an empty request or one with more than `max_inputs` texts."""
    if not texts:
        raise EmptyInputError("the input list is empty; send at least one text")
    if len(texts) > max_inputs:
        raise InputLimitError(f"{len(texts)} inputs sent, at most {max_inputs} per request")


def fit_lengths(texts: list[str], max_chars: int, truncate: bool) -> list[str]:
    """Cuts texts to `max_chars` when truncating, else refuses the first one that is longer."""
    if truncate:
        return [t[:max_chars] if len(t) > max_chars else t for t in texts]
    for index, text in enumerate(texts):
        if len(text) > max_chars:
            raise InputLimitError(
                f"inputs[{index}] has {len(text)} characters, at most {max_chars} are allowed "
                "(send truncate: true to cut it)"
            )
    return texts


def check_tokens(texts: list[str], max_tokens: int, count_tokens: Callable[[list[str]], list[int]]) -> None:
    """Refuses texts the model would silently cut (when the caller did not ask for that)."""
    # A WordPiece/BPE token covers at least one character, so short texts cannot overflow;
    # only the longer ones are worth tokenizing.
    candidates = [(i, t) for i, t in enumerate(texts) if len(t) + 2 > max_tokens]
    if not candidates:
        return
    counts = count_tokens([t for _, t in candidates])
    for (index, _), tokens in zip(candidates, counts, strict=True):
        if tokens > max_tokens:
            raise InputLimitError(
                f"inputs[{index}] has {tokens} tokens, the model takes at most {max_tokens} "
                "(send truncate: true to cut it)"
            )

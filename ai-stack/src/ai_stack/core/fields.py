"""Reusable pydantic field types for text that a database or an engine must accept (pure)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field

# In the schema so API fuzzers and clients know; the validator enforces it with a message a
# person can act on (a regex failure would only quote the pattern).
NO_NUL_PATTERN = "^[^\\u0000]*$"


def refuse_nul(value: str) -> str:
    """PostgreSQL text and jsonb cannot hold U+0000: refuse it here, with a clear message."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character (U+0000)")
    return value


def at_most_bytes(limit: int) -> AfterValidator:
    """A validator bounding the UTF-8 size (what an index row is measured in, not characters)."""

    def check(value: str) -> str:
        size = len(value.encode("utf-8"))
        if size > limit:
            raise ValueError(f"is {size} bytes in UTF-8, at most {limit} are allowed")
        return value

    return AfterValidator(check)


NUL_FREE = AfterValidator(refuse_nul)


def nul_free(**constraints: Any) -> Any:
    """`Field(**constraints)` that also documents "no U+0000"; pair it with NUL_FREE.

    Length constraints go before the validators in `Annotated[...]`, so that pydantic reports
    them in its string wording."""
    return Field(json_schema_extra={"pattern": NO_NUL_PATTERN}, **constraints)


SafeText = Annotated[str, nul_free(), NUL_FREE]
"""A string PostgreSQL can store: any Unicode but U+0000."""

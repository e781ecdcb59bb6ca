"""Normalized text of a memory, and its fingerprint: two memories that differ only in case,
white space or punctuation are the same memory (pure)."""

from __future__ import annotations

import hashlib
import unicodedata

FINGERPRINT_HEX = 32


def normalized(text: str) -> str:
    """NFKC, case-folded, punctuation dropped, white space collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(c).startswith(("P", "Z", "C")) else c for c in folded)
    return " ".join(kept.split())


def fingerprint(text: str) -> str:
    """A short stable id of the normalized text (used as the memory's path in aidb)."""
    return hashlib.sha256(normalized(text).encode("utf-8")).hexdigest()[:FINGERPRINT_HEX]

"""Whether two similar statements are different facts (pure). Figures: bench/memory_dedup.py.

Embeddings put "uses PostgreSQL 15" and "uses PostgreSQL 16", or "prefers tabs over spaces" and
"prefers spaces over tabs", closer than most paraphrases (cosine 0.94-0.99), so cosine alone
cannot decide a merge: on the labelled pairs no threshold reached precision 0.95. Two guards
refuse a merge: a differing number or a negation on one side only, and a sentence that is the
other with one short span replaced (the shape of an update, not of a rewording).
"""

from __future__ import annotations

import difflib
import re

from ai_stack.hybrid.normalize import normalized

SWAP_MAX_WORDS = 2
# Versions, ports and counts, with dotted parts kept whole: "3.11" against "3.12", not "3"/"11".
_NUMBER = re.compile(r"\d+(?:\.\d+)*")
# Hyphenated words stay whole, so "back-off" or "trade-off" do not read as "off".
_WORD = re.compile(r"[a-z]+(?:['-][a-z]+)*")
# Grammatical negators plus words that state "switched off"; "without" and "avoid" are left out
# because they qualify more often than they negate.
_NEGATIONS = frozenset(
    {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "cannot"}
    | {"disabled", "disable", "off", "false"}
)


def _negated(text: str) -> bool:
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    return any(w in _NEGATIONS or w.endswith("n't") for w in words)


def conflicting_details(a: str, b: str) -> bool:
    """True when both texts state numbers but not the same ones, or only one of them is negated."""
    numbers_a, numbers_b = set(_NUMBER.findall(a)), set(_NUMBER.findall(b))
    if numbers_a and numbers_b and numbers_a != numbers_b:
        return True
    return _negated(a) != _negated(b)


def template_swap(a: str, b: str) -> bool:
    """True when the texts are one sentence with a single short span replaced ("uses PostgreSQL
    15" / "16", "prefers dark mode" / "light mode")."""
    words_a, words_b = normalized(a).split(), normalized(b).split()
    matcher = difflib.SequenceMatcher(a=words_a, b=words_b, autojunk=False)
    edits = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if len(edits) != 1 or edits[0][0] != "replace":
        return False
    _, start_a, end_a, start_b, end_b = edits[0]
    return end_a - start_a <= SWAP_MAX_WORDS and end_b - start_b <= SWAP_MAX_WORDS


def different_facts(a: str, b: str) -> bool:
    """Either guard: the two statements must not be merged."""
    return conflicting_details(a, b) or template_swap(a, b)

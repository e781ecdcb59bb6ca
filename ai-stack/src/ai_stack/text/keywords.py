"""Keyword analysis that treats code and configuration text as first-class (pure).

Prose words are lower-cased, stop-word-free and stemmed, as in any BM25 analyzer. Identifiers are
indexed whole as well as by their parts, so that an exact name finds the page that defines it
instead of every page that uses its common parts:

- `__init_subclass__`  → `__init_subclass__`, init, subclass
- `services.openssh.enable` → the whole path, each segment (services, openssh, enable)
- `subprocess.CalledProcessError` → the whole path, subprocess, calledprocesserror, called,
  process, error (CamelCase adds its parts to the word it is)
- `--check-hash-based-pycs`, `-X` → the flag whole (dashes kept), and its words
- `**kwargs`, `*args` → the starred name whole, and the name
- `:=`, `->`, `**`, `//`, `!=` … standing alone → the operator

A whole is kept exactly (lower-cased, not stemmed): it matches only the same identifier. The same
analysis runs on documents and queries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import Stemmer

# A run of word characters joined by connectors (. :: / -), optionally led by a flag's dashes or a
# parameter's stars (`**kwargs`, not Markdown's `**Note**`). A connector must have word characters
# on both sides, so a sentence's final period or a dash between spaces is not part of a token.
_TOKEN = re.compile(r"(?:(?<![\w\-*])(?:--?(?=\w)|\*\*?(?=[a-z_])))?\w+(?:(?:::|[./\-])\w+)*")
# Operators that stand alone between spaces (or a line's ends) in code and its documentation.
_OPERATOR = re.compile(r"(?<!\S)(:=|->|=>|\*\*|//|!=|==|<=|>=|<<|>>|\+=|-=|\|\||&&|\.\.\.)(?!\S)")
_SEGMENTS = re.compile(r"::|[./]")
_WORDS = re.compile(r"[^\W_]+")
# CamelCase boundaries: lower→Upper ("calledProcess"), and an acronym's end ("SSLContext").
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
# A short, conservative list: BM25's IDF already discounts common words.
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there"
    " these they this to was will with".split()
)
MAX_WORD = 40
MAX_WHOLE = 80


@dataclass
class KeywordAnalyzer:
    """Text → the terms BM25 counts (documents and queries alike)."""

    language: str = "english"
    _stemmer: Stemmer.Stemmer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._stemmer = Stemmer.Stemmer(self.language)

    def terms(self, text: str) -> list[str]:
        words: list[str] = []
        wholes: list[str] = []
        for match in _TOKEN.finditer(text):
            self._token(match.group(), words, wholes)
        wholes.extend(_OPERATOR.findall(text))
        return [*self._stemmer.stemWords(words), *wholes]

    def _token(self, token: str, words: list[str], wholes: list[str]) -> None:
        bare = token.lstrip("-*")
        if bare != token or not _WORDS.fullmatch(bare):  # a flag, a starred name, a joined identifier
            if len(token) <= MAX_WHOLE:
                wholes.append(token.lower())
        segments = _SEGMENTS.split(bare)
        for segment in segments:
            if len(segments) > 1 and segment and not _WORDS.fullmatch(segment) and len(segment) <= MAX_WHOLE:
                wholes.append(segment.lower())  # pg_class in pg_catalog.pg_class
            for word in _WORDS.findall(segment):
                words.extend(_word_terms(word))


def _word_terms(word: str) -> Iterator[str]:
    """The word itself, then its CamelCase parts when it has any (lower-cased, stop words out)."""
    lowered = word.lower()
    if len(lowered) < MAX_WORD and lowered not in STOPWORDS:
        yield lowered
    if lowered != word and not word.isupper():
        parts = _CAMEL.findall(word)
        if len(parts) > 1:
            for part in parts:
                part = part.lower()
                if part not in STOPWORDS and len(part) < MAX_WORD:
                    yield part

"""Realistic, unique English sentences for benchmarks: the standard library's docstrings."""

from __future__ import annotations

import importlib
import re
import sys

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Importing these has side effects (opening a browser, printing, needing a display).
_SKIP = {"antigravity", "this", "idlelib", "turtle", "turtledemo", "tkinter", "pydoc_data"}


def docstring_sentences(limit: int, min_chars: int = 40, max_chars: int = 400) -> list[str]:
    """Up to `limit` distinct sentences, in a stable order."""
    seen: set[str] = set()
    sentences: list[str] = []
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or "test" in name or name in _SKIP:
            continue
        try:
            module = importlib.import_module(name)
        except BaseException:  # some stdlib modules exit or need a display on import
            continue
        for obj in [module, *vars(module).values()]:
            doc = getattr(obj, "__doc__", None)
            if not isinstance(doc, str):
                continue
            for sentence in _SENTENCE_END.split(" ".join(doc.split())):
                if min_chars <= len(sentence) <= max_chars and sentence not in seen:
                    seen.add(sentence)
                    sentences.append(sentence)
                    if len(sentences) >= limit:
                        return sentences
    return sentences

"""Tool results stay under the cap as the agent reads them (indented JSON, escapes included)."""

from __future__ import annotations

import pytest
from ai_stack.mcp.compact import capped, fit_text, size


@pytest.mark.parametrize("text", ["x\n" * 20_000, "word " * 30_000, "日本語 " * 9_000, "a" * 50_000, "short"])
def test_fit_text_fits_the_cap_and_says_whether_it_cut(text: str) -> None:
    result, cut = fit_text({"content": text, "title": "t"}, "content", 12_000)
    assert size(result) <= 12_000
    assert cut == (text != "short") and result["title"] == "t"
    assert cut or result["content"] == text
    if cut:
        assert result["content"].endswith(" …") and size(result) > 11_000  # cut to the cap, not far below


def test_capped_drops_items_from_the_end_and_says_how_many() -> None:
    result = capped({"items": [{"text": "y" * 1000, "n": i} for i in range(30)]}, "items", 12_000)
    assert size(result) <= 12_000 and result["omitted"] == 30 - len(result["items"]) > 0
    assert [item["n"] for item in result["items"]] == list(range(len(result["items"])))

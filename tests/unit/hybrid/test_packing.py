"""Packing by parts keeps `pack`'s contract with a fraction of the counting."""

from __future__ import annotations

from collections.abc import Callable

from ai_stack.hybrid.context import Candidate, pack
from ai_stack.hybrid.packing import pack_by_parts
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.hybrid.test_context import _CANDIDATES, _QUERY, COUNT, is_cut_from, is_subsequence


def words(text: str) -> int:
    return len(text.split())


def counting(count: Callable[[str], int]) -> tuple[Callable[[str], int], list[int]]:
    """A counter that records the size of every text it was asked about."""
    sizes: list[int] = []

    def counted(text: str) -> int:
        sizes.append(len(text))
        return count(text)

    return counted, sizes


@settings(max_examples=200, deadline=None)
@given(query=_QUERY, candidates=_CANDIDATES, budget=st.integers(1, 2000))
def test_by_parts_never_exceeds_the_budget_with_the_real_tokenizer(
    query: str, candidates: list[Candidate], budget: int
) -> None:
    packed = pack_by_parts(query, candidates, budget, COUNT)
    assert COUNT(packed.prompt) <= budget and packed.token_count == COUNT(packed.prompt)
    whole = packed.items[:-1] if packed.truncated_last else packed.items
    assert is_subsequence(whole, candidates)
    if packed.truncated_last:
        assert any(is_cut_from(packed.items[-1], c) for c in candidates)


@settings(max_examples=200, deadline=None)
@given(query=_QUERY, candidates=_CANDIDATES, budget=st.integers(1, 400))
def test_by_parts_packs_what_pack_packs_for_a_counter_that_adds_up(
    query: str, candidates: list[Candidate], budget: int
) -> None:
    assert pack_by_parts(query, candidates, budget, words) == pack(query, candidates, budget, words)


def test_by_parts_counts_far_less_text() -> None:
    text = " ".join(f"word{i}" for i in range(120))
    candidates = [Candidate(str(i), "knowledge", "docs", f"T{i}", f"p/{i}", "", text, 1.0) for i in range(16)]
    exact, exact_sizes = counting(COUNT)
    parts, parts_sizes = counting(COUNT)
    assert pack_by_parts("q?", candidates, 1500, parts) == pack("q?", candidates, 1500, exact)
    assert sum(parts_sizes) * 3 < sum(exact_sizes)

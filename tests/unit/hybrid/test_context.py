"""Context assembly: MMR picks diverse candidates, pack fits them in a token budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from ai_stack.hybrid.context import Candidate, Packed, PromptTemplate, mmr, pack
from ai_stack.text.model_files import DEFAULT_MODEL
from ai_stack.text.tokenizer import TokenCounter
from hypothesis import given, settings
from hypothesis import strategies as st

COUNT = TokenCounter.for_model(DEFAULT_MODEL)


def words(text: str) -> int:
    return len(text.split())


def cand(
    id: str, text: str, score: float = 0.5, vector: tuple[float, ...] | None = None, title: str = ""
) -> Candidate:
    return Candidate(id, "knowledge", "docs", title or f"T{id}", f"docs/{id}.md", "src", text, score, vector)


# --- mmr --------------------------------------------------------------------------------------------

LOREM = "postgres keeps the write ahead log in pg_wal and replays it after a crash"


def test_near_duplicate_texts_are_dropped() -> None:
    picked = mmr(
        [cand("a", LOREM, 0.9), cand("b", LOREM.upper() + "!", 0.8), cand("c", "redis", 0.1)], limit=3
    )
    assert [c.id for c in picked] == ["a", "c"]


def test_diversity_beats_a_slightly_higher_score_of_a_near_copy() -> None:
    near_copy = LOREM + " and then some more words about it"  # similar, yet under the duplicate threshold
    other = "redis evicts keys by lru when maxmemory is reached"
    picked = mmr([cand("a", LOREM, 0.9), cand("b", near_copy, 0.85), cand("c", other, 0.8)], limit=2)
    assert [c.id for c in picked] == ["a", "c"]
    assert [c.id for c in mmr([cand("a", LOREM, 0.9), cand("b", near_copy, 0.85)], limit=2)] == ["a", "b"]


def test_vectors_are_used_when_present() -> None:
    # Equal texts, orthogonal vectors: not duplicates; different texts, equal vectors: duplicates.
    same_text = [cand("a", LOREM, 0.9, (1.0, 0.0)), cand("b", LOREM, 0.8, (0.0, 1.0))]
    assert [c.id for c in mmr(same_text, limit=2)] == ["a", "b"]
    same_vector = [cand("a", LOREM, 0.9, (1.0, 0.0)), cand("b", "unrelated words here", 0.8, (1.0, 0.0))]
    assert [c.id for c in mmr(same_vector, limit=2)] == ["a"]


def test_text_similarity_when_only_one_has_a_vector() -> None:
    picked = mmr([cand("a", LOREM, 0.9, (1.0, 0.0)), cand("b", LOREM, 0.8)], limit=2)
    assert [c.id for c in picked] == ["a"]


def test_relevance_order_without_overlap_and_limit() -> None:
    texts = ["alpha beta gamma", "delta epsilon zeta", "eta theta iota", "kappa lambda mu"]
    candidates = [
        cand(str(i), t, s) for i, (t, s) in enumerate(zip(texts, [0.2, 0.9, 0.5, 0.7], strict=True))
    ]
    assert [c.id for c in mmr(candidates, limit=3)] == ["1", "3", "2"]
    assert mmr(candidates, limit=0) == [] and mmr([], limit=5) == []


def test_lambda_one_is_plain_relevance() -> None:
    near_copy = LOREM + " and then some more words about it"
    picked = mmr(
        [cand("a", LOREM, 0.9), cand("b", near_copy, 0.85), cand("c", "x y z", 0.8)], lambda_=1.0, limit=2
    )
    assert [c.id for c in picked] == ["a", "b"]


def test_mmr_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        mmr([], lambda_=1.5, limit=1)
    with pytest.raises(ValueError):
        mmr([], limit=-1)
    with pytest.raises(ValueError, match="length"):
        mmr([cand("a", "x", 0.9, (1.0,)), cand("b", "y", 0.8, (1.0, 0.0))], limit=2)


# --- template ---------------------------------------------------------------------------------------


def test_numbered_citations_in_prompt_order() -> None:
    packed = pack("why?", [cand("a", "first"), cand("b", "second")], 1000, words)
    assert packed.prompt == (
        "Context (cite by number):\n\n"
        "[1] Ta — docs/a.md\nfirst\n\n"
        "[2] Tb — docs/b.md\nsecond\n\n"
        "Question: why?"
    )
    assert [c.id for c in packed.items] == ["a", "b"] and not packed.truncated_last
    assert packed.token_count == words(packed.prompt)


def test_title_falls_back_to_path() -> None:
    untitled = Candidate("a", "fact", "memories", "", "notes/a.md", "agent", "text", 0.5)
    assert "[1] notes/a.md — notes/a.md" in pack("q", [untitled], 1000, words).prompt


def test_custom_template() -> None:
    template = PromptTemplate(
        header="", item="({n}) {kind}/{collection}: {text} [{source}]", footer="Q={query}"
    )
    packed = pack("q", [cand("a", "one"), cand("b", "two")], 1000, words, template)
    assert packed.prompt == "(1) knowledge/docs: one [src]\n\n(2) knowledge/docs: two [src]\n\nQ=q"


def test_no_candidates_gives_just_the_question() -> None:
    assert pack("what is pg_wal?", [], 100, words) == Packed("Question: what is pg_wal?", [], 4, False)


def test_braces_in_texts_are_not_template_fields() -> None:
    assert "{n} {query}" in pack("q", [cand("a", "{n} {query}")], 1000, words).prompt


# --- packing ----------------------------------------------------------------------------------------


def test_an_item_that_does_not_fit_is_skipped_for_a_smaller_later_one() -> None:
    big, small = cand("big", "w " * 50), cand("small", "tiny")
    packed = pack("q", [big, small], 20, words)
    assert [c.id for c in packed.items] == ["small"] and not packed.truncated_last


def test_the_room_left_takes_a_snippet_cut_at_a_word_boundary() -> None:
    text = " ".join(f"word{i}" for i in range(100))
    packed = pack("q", [cand("a", "short"), cand("b", text)], 30, words)
    assert [c.id for c in packed.items] == ["a", "b"] and packed.truncated_last
    snippet = packed.items[-1].text
    assert snippet.endswith(" …") and text.startswith(snippet.removesuffix(" …") + " ")
    assert packed.token_count == words(packed.prompt) == 30


def test_only_a_candidate_after_the_last_whole_one_is_cut() -> None:
    packed = pack("q", [cand("big", "w " * 50), cand("small", "tiny"), cand("c", "x " * 50)], 30, words)
    assert [c.id for c in packed.items] == ["small", "c"] and packed.truncated_last


def test_a_long_first_word_is_cut_inside() -> None:
    packed = pack("q", [cand("a", "x" * 500 + " tail")], 100, len)
    assert packed.truncated_last and set(packed.items[0].text.removesuffix(" …")) == {"x"}
    assert packed.token_count == len(packed.prompt) == 100


def test_tokenizers_are_not_additive() -> None:
    # BERT's tokenizer makes any word over 100 characters one [UNK]: the whole word is cheaper than its cuts.
    long_word = "x" * 5000
    assert COUNT(long_word) == 1 < COUNT(long_word[:99])
    packed = pack("q", [cand("a", long_word)], 40, COUNT)
    assert [c.text for c in packed.items] == [long_word] and COUNT(packed.prompt) <= 40


def test_a_query_longer_than_the_budget_is_cut() -> None:
    packed = pack("one two three four five six", [cand("a", "text")], 4, words)
    assert packed == Packed("Question: one two …", [], 4, False)


def test_a_budget_too_small_for_any_word_gives_an_empty_prompt() -> None:
    assert pack("query", [cand("a", "text")], 1, words) == Packed("", [], 0, False)


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="budget"):
        pack("q", [], 0, words)


# --- property ---------------------------------------------------------------------------------------

_WORDS = st.one_of(
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
    st.text("abcxyz0123", min_size=40, max_size=300),  # long words without a boundary
    st.sampled_from(["the", "PostgreSQL", "…", "—", "{n}", "日本語", "émigré", "🙂", "\n", "  "]),
)
_TEXT = st.lists(_WORDS, max_size=60).map(" ".join)
_QUERY = st.lists(_WORDS, max_size=12).map(" ".join)
_CANDIDATES = st.lists(
    st.builds(cand, id=st.text("abc", min_size=1, max_size=3), text=_TEXT, title=st.text(max_size=20)),
    max_size=30,
)


def is_subsequence(items: Sequence[Candidate], candidates: Sequence[Candidate]) -> bool:
    remaining = iter(candidates)
    return all(any(item == c for c in remaining) for item in items)


def is_cut_from(snippet: Candidate, candidate: Candidate) -> bool:
    """Whether `snippet` is `candidate` with its text cut short and marked."""
    head = snippet.text.removesuffix(" …")
    return (
        snippet.text.endswith(" …")
        and replace(candidate, text=snippet.text) == snippet
        and candidate.text.startswith(head)
        and len(head) < len(candidate.text)
    )


@settings(max_examples=200, deadline=None)
@given(query=_QUERY, candidates=_CANDIDATES, budget=st.integers(1, 2000))
def test_pack_never_exceeds_the_budget(query: str, candidates: list[Candidate], budget: int) -> None:
    packed = pack(query, candidates, budget, COUNT)
    assert COUNT(packed.prompt) <= budget
    assert packed.token_count == COUNT(packed.prompt)
    whole = packed.items[:-1] if packed.truncated_last else packed.items
    assert is_subsequence(whole, candidates)
    if packed.truncated_last:
        originals = [c for c in candidates if is_cut_from(packed.items[-1], c)]
        assert any(is_subsequence([*whole, c], candidates) for c in originals)
    if packed.items:
        assert packed.prompt.endswith(f"Question: {query}")

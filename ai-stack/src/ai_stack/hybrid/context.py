"""Context assembly (pure): diverse candidates by MMR, packed into a prompt within a token budget."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

ELLIPSIS = " …"
SHINGLE_WORDS = 3
_WORD = re.compile(r"\w+")
_LAST_SPACE = re.compile(r"\s\S*$")

Shingles = frozenset[tuple[str, ...]]


@dataclass(frozen=True)
class Candidate:
    """One memory or knowledge chunk that may go into the context."""

    id: str
    kind: str
    collection: str
    title: str
    path: str
    source: str
    text: str
    score: float
    vector: tuple[float, ...] | None = None


@dataclass(frozen=True)
class PromptTemplate:
    """How the prompt is rendered; `item` may use n, id, kind, collection, title, path, source, text."""

    header: str = "Context (cite by number):"
    item: str = "[{n}] {title} — {path}\n{text}"
    footer: str = "Question: {query}"
    separator: str = "\n\n"


@dataclass(frozen=True)
class Packed:
    """A rendered prompt and the items it cites."""

    prompt: str
    items: list[Candidate]
    token_count: int
    truncated_last: bool


# --- similarity -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Features:
    vector: tuple[float, ...] | None
    norm: float
    shingles: Shingles


def _shingles(text: str) -> Shingles:
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        # A text shorter than one shingle is its own single shingle, so short equal texts still match.
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1))


def _features(candidate: Candidate) -> _Features:
    vector = candidate.vector
    norm = math.sqrt(sum(x * x for x in vector)) if vector is not None else 0.0
    return _Features(vector, norm, _shingles(candidate.text))


def _similarity(a: _Features, b: _Features) -> float:
    """Cosine of the vectors when both have one, else Jaccard similarity of word 3-shingles."""
    if a.vector is not None and b.vector is not None:
        if len(a.vector) != len(b.vector):
            raise ValueError(f"candidate vectors differ in length ({len(a.vector)} vs {len(b.vector)})")
        if a.norm == 0.0 or b.norm == 0.0:
            return 0.0
        return sum(x * y for x, y in zip(a.vector, b.vector, strict=True)) / (a.norm * b.norm)
    if not a.shingles or not b.shingles:
        return 0.0
    return len(a.shingles & b.shingles) / len(a.shingles | b.shingles)


# --- maximal marginal relevance ---------------------------------------------------------------------


def mmr(
    candidates: Sequence[Candidate], *, lambda_: float = 0.7, limit: int, duplicate_threshold: float = 0.92
) -> list[Candidate]:
    """Up to `limit` candidates picked greedily by maximal marginal relevance, near-duplicates dropped.

    Each step takes the candidate maximizing `lambda_*score - (1-lambda_)*max similarity to those
    already taken` (ties go to the earlier one). A candidate whose similarity to a taken one is
    >= `duplicate_threshold` is dropped. Similarity is the cosine of the two vectors when both
    candidates have one, else the Jaccard similarity of the sets of word 3-shingles of their texts
    (lower-cased words, punctuation ignored; a text under 3 words is one shingle; no words -> 0).
    Costs O(n*k) similarities for n candidates and k picks.
    """
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must be within [0, 1], got {lambda_}")
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    features = [_features(c) for c in candidates]
    closest = [0.0] * len(candidates)
    remaining = list(range(len(candidates)))
    picked: list[int] = []
    while remaining and len(picked) < limit:
        best = max(remaining, key=lambda i: (lambda_ * candidates[i].score - (1 - lambda_) * closest[i], -i))
        picked.append(best)
        remaining = _update(remaining, best, features, closest, duplicate_threshold)
    return [candidates[i] for i in picked]


def _update(
    remaining: list[int], best: int, features: list[_Features], closest: list[float], threshold: float
) -> list[int]:
    """The candidates still eligible once `best` is taken; refreshes their closest similarity in place."""
    kept = []
    for i in remaining:
        if i == best:
            continue
        similarity = _similarity(features[i], features[best])
        if similarity < threshold:
            closest[i] = max(closest[i], similarity)
            kept.append(i)
    return kept


# --- packing ----------------------------------------------------------------------------------------


def pack(
    query: str,
    candidates: Sequence[Candidate],
    budget: int,
    count: Callable[[str], int],
    template: PromptTemplate = PromptTemplate(),
) -> Packed:
    """The prompt of `query` with as many candidates as fit in `budget` tokens as `count` measures them.

    Whole candidates go in first, in the given order, skipping any that does not fit. The room left
    then takes a snippet of the first skipped candidate after the last included one that can fit
    (cut at a word boundary, or inside a first word longer than the room, and marked " …"); that
    snippet is the last item and replaces the candidate's text in `items`. With no room for any item
    the prompt is the footer alone, its query cut the same way if needed, and an empty string if
    not even a word of it fits. Every fit is checked by counting the whole rendered prompt, since
    token counts of parts do not add up.
    """
    if budget < 1:
        raise ValueError(f"budget must be >= 1 token, got {budget}")

    def fits(prompt: str) -> bool:
        return count(prompt) <= budget

    if not fits(render(query, [], template)):
        prompt = _fit_query(query, template, fits)
        return Packed(prompt, [], count(prompt), False)
    items, skipped = _whole_items(query, candidates, template, fits)
    snippet = _last_snippet(query, items, skipped, template, fits)
    if snippet is not None:
        items.append(snippet)
    prompt = render(query, items, template)
    return Packed(prompt, items, count(prompt), snippet is not None)


def _whole_items(
    query: str, candidates: Sequence[Candidate], template: PromptTemplate, fits: Callable[[str], bool]
) -> tuple[list[Candidate], list[Candidate]]:
    """The candidates that fit whole, in order, and those skipped after the last of them."""
    items: list[Candidate] = []
    skipped: list[Candidate] = []
    for candidate in candidates:
        if fits(render(query, [*items, candidate], template)):
            items.append(candidate)
            skipped.clear()  # only a candidate after the last whole one keeps the order when cut
        else:
            skipped.append(candidate)
    return items, skipped


def _last_snippet(
    query: str,
    items: list[Candidate],
    skipped: list[Candidate],
    template: PromptTemplate,
    fits: Callable[[str], bool],
) -> Candidate | None:
    """The first skipped candidate whose cut text fits after `items`, if any."""
    for candidate in skipped:
        text = cut_to_fit(candidate.text, _fits_as_last(query, items, candidate, template, fits))
        if text is not None:
            return replace(candidate, text=text)
    return None


def _fits_as_last(
    query: str,
    items: list[Candidate],
    candidate: Candidate,
    template: PromptTemplate,
    fits: Callable[[str], bool],
) -> Callable[[str], bool]:
    """Whether the prompt fits with `candidate`, given a text, as the item after `items`."""
    return lambda text: fits(render(query, [*items, replace(candidate, text=text)], template))


def _fit_query(query: str, template: PromptTemplate, fits: Callable[[str], bool]) -> str:
    """The footer with its query cut to fit, or "" when not even a cut query fits."""
    text = cut_to_fit(query, lambda q: fits(render(q, [], template)))
    return "" if text is None else render(text, [], template)


def cut_to_fit(text: str, fits: Callable[[str], bool]) -> str | None:
    """The longest cut of `text` (see `_cut`) that `fits`, by binary search on its length; None if none."""
    shortest = _cut(text, 1)
    # Ruling out the shortest cut first keeps a full prompt from costing a search per candidate.
    if shortest is None or not fits(shortest):
        return None
    low, high, best = 1, len(text) - 1, shortest  # `low` fits; the whole text did not
    while low < high:
        middle = (low + high + 1) // 2
        cut = _cut(text, middle)
        if cut is not None and fits(cut):
            low, best = middle, cut
        else:
            high = middle - 1
    return best


def _cut(text: str, length: int) -> str | None:
    """`text` cut to at most `length` characters at a word boundary, plus " …"; None if nothing is left."""
    if length >= len(text):
        return None
    head = text[:length]
    if not (text[length].isspace() or head[-1:].isspace()):
        space = _LAST_SPACE.search(head)
        # A first word longer than the room is cut inside it rather than yielding nothing.
        if space is not None and head[: space.start()].strip():
            head = head[: space.start()]
    head = head.rstrip()
    return head + ELLIPSIS if head else None


def render(query: str, items: Sequence[Candidate], template: PromptTemplate) -> str:
    """The full prompt: header and numbered items (only when there are items), then the footer."""
    footer = template.footer.format(query=query)
    if not items:
        return footer
    blocks = [render_item(n, item, template) for n, item in enumerate(items, start=1)]
    return template.separator.join(part for part in (template.header, *blocks, footer) if part)


def render_item(n: int, item: Candidate, template: PromptTemplate) -> str:
    return template.item.format(
        n=n,
        id=item.id,
        kind=item.kind,
        collection=item.collection,
        title=item.title or item.path,
        path=item.path,
        source=item.source,
        text=item.text,
    )

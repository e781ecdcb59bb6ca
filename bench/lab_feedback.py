"""Pseudo-relevance feedback and document-level aggregation, as lab experiments (retrieval_lab).

Each variant re-asks one or both signals with what the first fused ranking's best chunks say:
- dense (Rocchio): the query vector moved toward the mean of the best chunks' vectors;
- keyword (RM3-like): the query widened by the terms that weigh most in the best chunks
  (term frequency share times IDF), each at a fraction of an original term's weight.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from ai_stack.aidb.fusion import Ranked, rrf
from ai_stack.aidb.sparse import Bm25Encoder, SparseVector

from bench.retrieval_lab import (
    CANDIDATES,
    ChunkedSet,
    KeywordIndex,
    dense_search,
    hits,
    ndcg,
    recall,
    top_documents,
)


@dataclass(frozen=True)
class Feedback:
    depth: int = 3  # best fused chunks read
    dense_beta: float = 0.0  # weight of their mean vector (0: no dense feedback)
    keyword_terms: int = 0  # expansion terms (0: no keyword feedback)
    keyword_weight: float = 0.3  # the best expansion term's weight, an original term weighing 1
    k: float = 60.0


def expanded_query(
    query: SparseVector,
    rows: list[int],
    texts: list[str],
    encoder: Bm25Encoder,
    index: KeywordIndex,
    feedback: Feedback,
) -> SparseVector:
    shares: dict[int, float] = defaultdict(float)
    for row in rows:
        terms = [encoder.term_id(t) for t in encoder.terms(texts[row])]
        for term, count in Counter(terms).items():
            shares[term] += count / max(1, len(terms))
    original = set(query.indices)
    scored = sorted(
        ((share * index.idf(term), term) for term, share in shares.items() if term not in original),
        reverse=True,
    )[: feedback.keyword_terms]
    if not scored:
        return query
    best = scored[0][0]
    weights = dict(zip(query.indices, query.values, strict=True))
    for score, term in scored:
        weights[term] = feedback.keyword_weight * score / best
    ids = sorted(weights)
    return SparseVector(ids, [weights[i] for i in ids])


def evaluate_feedback(
    chunked: ChunkedSet,
    encoder: Bm25Encoder,
    keyword_texts: list[str],
    query_vectors: np.ndarray,
    variants: dict[str, Feedback],
) -> dict[str, tuple[float, float]]:
    """Mean (nDCG@10, recall@10) of plain RRF and of each feedback variant."""
    index = KeywordIndex([encoder.document(text) for text in keyword_texts])
    scores: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for query, vector in zip(chunked.labelled.queries, query_vectors, strict=True):
        sparse = encoder.query(query.text)
        dense = hits(dense_search(chunked.dense, vector, CANDIDATES), chunked.document_of)
        keyword = hits(index.search(sparse, CANDIDATES), chunked.document_of)
        first = rrf(dense, keyword)
        rankings: dict[str, list[Ranked]] = {"rrf": first}
        for name, feedback in variants.items():
            rows = [int(r.chunk_id) for r in first[: feedback.depth]]
            again_dense, again_keyword = dense, keyword
            if feedback.dense_beta and rows:
                moved = vector + feedback.dense_beta * chunked.dense[rows].mean(axis=0)
                moved = moved / np.linalg.norm(moved)
                again_dense = hits(dense_search(chunked.dense, moved, CANDIDATES), chunked.document_of)
            if feedback.keyword_terms and rows:
                wider = expanded_query(sparse, rows, keyword_texts, encoder, index, feedback)
                again_keyword = hits(index.search(wider, CANDIDATES), chunked.document_of)
            rankings[name] = rrf(again_dense, again_keyword, k=feedback.k)
        for name, ranked in rankings.items():
            documents = top_documents(ranked)
            scores[name].append((ndcg(documents, query.relevant), recall(documents, query.relevant)))
    return {
        name: (statistics.fmean(s[0] for s in values), statistics.fmean(s[1] for s in values))
        for name, values in scores.items()
    }


def feedback_variants() -> dict[str, Feedback]:
    return {
        "dense prf b=0.5 d=3": Feedback(dense_beta=0.5),
        "dense prf b=1 d=5": Feedback(depth=5, dense_beta=1.0),
        "keyword rm3 10 terms w=0.3 d=3": Feedback(keyword_terms=10),
        "keyword rm3 20 terms w=0.5 d=5": Feedback(depth=5, keyword_terms=20, keyword_weight=0.5),
        "both b=0.5, 10 terms w=0.3, d=3": Feedback(dense_beta=0.5, keyword_terms=10),
    }


def evaluate_titles(
    chunked: ChunkedSet,
    encoder: Bm25Encoder,
    keyword_texts: list[str],
    query_vectors: np.ndarray,
    title_vectors: np.ndarray,
    title_owners: list[str],
) -> dict[str, tuple[float, float]]:
    """Plain RRF of chunks against RRF with a third list: the query against each document's title
    alone (one vector per document), at a few weights."""
    index = KeywordIndex([encoder.document(text) for text in keyword_texts])
    scores: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for query, vector in zip(chunked.labelled.queries, query_vectors, strict=True):
        dense = hits(dense_search(chunked.dense, vector, CANDIDATES), chunked.document_of)
        keyword = hits(index.search(encoder.query(query.text), CANDIDATES), chunked.document_of)
        titles = [
            type(h)(f"t{h.chunk_id}", h.score, h.payload)
            for h in hits(dense_search(title_vectors, vector, CANDIDATES), title_owners)
        ]
        rankings: dict[str, list[Ranked]] = {"rrf": rrf(dense, keyword)}
        for weight in (0.5, 1.0):
            merged = rrf(dense, keyword) + [
                Ranked(t.chunk_id, weight / (60 + rank), t.payload) for rank, t in enumerate(titles, start=1)
            ]
            # Sum per document of its best chunk and its title (the title's own list).
            best: dict[str, float] = defaultdict(float)
            chunk_best: dict[str, float] = {}
            for item in merged:
                document = item.payload["document_id"]
                if item.chunk_id.startswith("t"):
                    best[document] += item.score
                else:
                    chunk_best[document] = max(chunk_best.get(document, 0.0), item.score)
            for document, score in chunk_best.items():
                best[document] += score
            ordered = sorted(best.items(), key=lambda item: -item[1])
            rankings[f"rrf + title list w={weight:g}"] = [
                Ranked(d, s, {"document_id": d}) for d, s in ordered
            ]
        for name, ranked in rankings.items():
            documents = top_documents(ranked)
            scores[name].append((ndcg(documents, query.relevant), recall(documents, query.relevant)))
    return {
        name: (statistics.fmean(s[0] for s in values), statistics.fmean(s[1] for s in values))
        for name, values in scores.items()
    }

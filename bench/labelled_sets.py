"""The labelled retrieval sets the quality benchmarks measure: documents, queries, graded labels.

- `scifact`: BEIR SciFact's test split (../shared/data/scifact: 5,183 abstracts, 300 claims).
- `pgdocs`: the PostgreSQL 15 manual with the questions of bench/data/pg_doc_queries.json.
- `identifiers`: exact names, flags, option names and error strings over real API docs (Python
  3.11's manual and the PostgreSQL 15 manual), bench/data/identifier_queries.json.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ai_stack.text.html import html_to_text

from bench.aidb_corpus import ensure_debian_docs, labelled_queries, pg_doc_documents

DATA = Path(__file__).parent / "data"
SCIFACT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"
PYTHON_DOC_DIR = Path("/usr/share/doc/python3.11/html")


@dataclass(frozen=True)
class LabelledDocument:
    id: str
    title: str
    content: str
    markdown: bool


@dataclass(frozen=True)
class LabelledQuery:
    text: str
    relevant: dict[str, int]  # document id -> grade (> 0)


@dataclass(frozen=True)
class LabelledSet:
    name: str
    documents: list[LabelledDocument]
    queries: list[LabelledQuery]


def scifact(directory: Path = SCIFACT_DIR) -> LabelledSet:
    documents = []
    with (directory / "corpus.jsonl").open() as corpus:
        for line in corpus:
            row = json.loads(line)
            documents.append(LabelledDocument(row["_id"], row["title"], row["text"], markdown=False))
    texts = {}
    with (directory / "queries.jsonl").open() as queries_file:
        for line in queries_file:
            row = json.loads(line)
            texts[row["_id"]] = row["text"]
    relevant: dict[str, dict[str, int]] = {}
    with (directory / "qrels" / "test.tsv").open() as qrels:
        for row in csv.DictReader(qrels, delimiter="\t"):
            if int(row["score"]) > 0:
                relevant.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries = [
        LabelledQuery(texts[q], labels) for q, labels in sorted(relevant.items(), key=lambda i: int(i[0]))
    ]
    return LabelledSet("scifact", documents, queries)


def pgdocs() -> LabelledSet:
    documents = [
        LabelledDocument(d["path"], d["title"], d["content"], markdown=True) for d in pg_doc_documents()
    ]
    queries = [LabelledQuery(q["query"], dict.fromkeys(q["relevant"], 1)) for q in labelled_queries()]
    return LabelledSet("pgdocs", documents, queries)


def python_documents(pages: Iterable[str]) -> list[LabelledDocument]:
    root = ensure_debian_docs(PYTHON_DOC_DIR, "python3.11-doc")
    documents = []
    for page in pages:
        title, text = html_to_text((root / page).read_text(encoding="utf-8", errors="replace"))
        documents.append(LabelledDocument(f"py:{page}", title, text, markdown=True))
    return documents


def identifiers() -> LabelledSet:
    spec = json.loads((DATA / "identifier_queries.json").read_text())
    documents = python_documents(spec["python_pages"]) + [
        LabelledDocument(f"pg:{d['path']}", d["title"], d["content"], markdown=True)
        for d in pg_doc_documents()
    ]
    by_id = {d.id: d for d in documents}
    queries = []
    for item in spec["queries"]:
        for page in item["relevant"]:
            # A label must point at a page that holds what the query names.
            if item["needle"].lower() not in by_id[page].content.lower():
                raise ValueError(f"{page} does not contain {item['needle']!r} (query {item['query']!r})")
        queries.append(LabelledQuery(item["query"], dict.fromkeys(item["relevant"], 1)))
    return LabelledSet("identifiers", documents, queries)


SETS = {"scifact": scifact, "pgdocs": pgdocs, "identifiers": identifiers}


def load_sets(names: Iterable[str]) -> list[LabelledSet]:
    return [SETS[name]() for name in names]

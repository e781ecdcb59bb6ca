"""Memory quality of hybrid-coordinator on a labelled agent history: dedup on write, then retrieval.

Run: HF_HUB_OFFLINE=1 .venv/bin/python -m bench.memory_quality [--per-source-limit N] [--save FILE]

Starts the whole stack with scripts/ai-stack-startup.sh and writes the memories of
bench/data/memory_history.json in order through `POST /hybrid/memories`, waiting for aidb's
indexing after every WAIT_EVERY writes: an agent writes a few memories a minute, far slower than
the indexing lag, so each write should see the earlier ones (a near-duplicate within one batch is
not compared with its target, as the README says of writes within the lag).

Each write's returned id, outcome and `superseded_id` are recorded. A question is labelled with
history keys; a key is answered by any memory that its write, or a write the history labels as a
repeat of it, created (outcome created or superseded), followed along the returned supersede chain
to its current version. A write merged into another memory, or counted as its duplicate, created
nothing: an update that was merged into the old value is lost, and a question about it is missed.
Recall@k of a question is the fraction of its keys answered in the top k, for (a)
`/hybrid/augment_query` (context_ids; sources ["memories"], a token budget that does not cut at
10), (b) aidb's plain hybrid search over the memories collection (document ids) and (c)
`/hybrid/memories/search`. For questions about something that changed it also counts how often an
outdated version (labelled `outdated`) reaches the top 5.

augment_query takes at most PER_SOURCE_LIMIT items from a source (default 8); the stack starts
with --per-source-limit (default 10) so that recall@10 means the same for all three. Write
outcomes are compared with the history's labels: precision and recall of dedup (duplicate or
merged) and of supersede. Tables are Markdown, to paste into the roadmap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from rich import box
from rich.console import Console
from rich.table import Table

from bench.stack import RunningStack, open_session, post, running_stack, wait_drained

HISTORY_FILE = Path(__file__).parent / "data" / "memory_history.json"
WAIT_EVERY = 10
TOKEN_BUDGET = 4000
KS = (5, 10)
OUTCOMES = ("created", "duplicate", "merged", "superseded")
DEDUP = frozenset({"duplicate", "merged"})
KEPT = frozenset({"created", "superseded"})


@dataclass(frozen=True)
class Write:
    key: str
    body: dict[str, Any]
    expect: str | None
    of: str | None


@dataclass(frozen=True)
class Question:
    id: str
    project: str
    query: str
    answers: list[tuple[str, ...]]  # each a memory it needs, as alternatives (any one answers)
    outdated: list[str]


@dataclass(frozen=True)
class Written:
    id: str
    outcome: str
    superseded_id: str | None
    similarity: float | None


def load_history() -> tuple[list[Write], list[Question]]:
    raw = json.loads(HISTORY_FILE.read_text())
    fields = ("content", "kind", "project", "tags", "source")
    writes = [
        Write(m["key"], {f: m[f] for f in fields}, m.get("expect"), m.get("of")) for m in raw["memories"]
    ]
    questions = [
        Question(
            q["id"], q["project"], q["query"], [_alternatives(a) for a in q["answers"]], q.get("outdated", [])
        )
        for q in raw["questions"]
    ]
    _check(writes, questions)
    return writes, questions


def _alternatives(answer: str | list[str]) -> tuple[str, ...]:
    return (answer,) if isinstance(answer, str) else tuple(answer)


def _check(writes: list[Write], questions: list[Question]) -> None:
    keys = [w.key for w in writes]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{HISTORY_FILE}: memory keys must be unique")
    answers = [k for q in questions for alternatives in q.answers for k in alternatives]
    labels = [w.of for w in writes] + answers + [k for q in questions for k in q.outdated]
    unknown = {k for k in labels if k is not None and k not in keys}
    if unknown:
        raise ValueError(f"{HISTORY_FILE}: labels name unknown keys {sorted(unknown)}")
    if any(not q.answers for q in questions):
        raise ValueError(f"{HISTORY_FILE}: every question needs at least one answering memory")
    wrong = {w.expect for w in writes} - {None, *OUTCOMES}
    if wrong:
        raise ValueError(f"{HISTORY_FILE}: expected outcomes must be one of {OUTCOMES}, not {wrong}")


async def write_history(
    stack: RunningStack, session: aiohttp.ClientSession, writes: list[Write]
) -> dict[str, Written]:
    written: dict[str, Written] = {}
    for n, write in enumerate(writes, start=1):
        answer = await post(session, f"{stack.base_url}/hybrid/memories", write.body)
        written[write.key] = Written(
            answer["id"], answer["outcome"], answer.get("superseded_id"), answer.get("similarity")
        )
        if n % WAIT_EVERY == 0:
            await wait_drained(session, stack, timeout_s=300)
    await wait_drained(session, stack, timeout_s=300)
    return written


class Labels:
    """History keys resolved to the memory ids that hold their content after the writes.

    A memory holds the content of the write that created it (outcome created or superseded). A
    key's content is in the memories that its write, or a write labelled as a repeat of it,
    created, as they are now (at the end of their supersede chains). A write merged into another
    memory, or counted as its duplicate, left its content nowhere of its own.
    """

    def __init__(self, writes: list[Write], written: dict[str, Written]) -> None:
        self.written = written
        self.replaced_by = {w.superseded_id: w.id for w in written.values() if w.superseded_id}
        self.origin: dict[str, str] = {}
        for write in writes:
            if written[write.key].outcome in KEPT:
                self.origin.setdefault(written[write.key].id, write.key)
        self.repeats: dict[str, list[str]] = {}
        for write in writes:
            if write.of is not None and write.expect in DEDUP:
                self.repeats.setdefault(write.of, []).append(write.key)
        self.lost = [
            w.key for w in writes if w.expect in KEPT and self.origin.get(written[w.key].id) != w.key
        ]

    def current(self, memory_id: str) -> str:
        """The end of `memory_id`'s supersede chain."""
        seen = {memory_id}
        while memory_id in self.replaced_by and self.replaced_by[memory_id] not in seen:
            memory_id = self.replaced_by[memory_id]
            seen.add(memory_id)
        return memory_id

    def holders(self, key: str) -> list[str]:
        return [key, *self.repeats.get(key, [])]

    def created_by(self, key: str) -> set[str]:
        """Ids created by `key`'s write or by its labelled repeats."""
        holders = self.holders(key)
        return {self.written[k].id for k in holders if self.origin.get(self.written[k].id) in holders}

    def answer_ids(self, key: str) -> set[str]:
        """Ids whose content answers for `key` now (any one of them will do)."""
        return {self.current(i) for i in self.created_by(key)}

    def outdated_ids(self, question: Question) -> set[str]:
        outdated = {i for key in question.outdated for i in self.created_by(key)}
        return outdated - {
            i for alternatives in question.answers for key in alternatives for i in self.answer_ids(key)
        }

    def target(self, key: str) -> str | None:
        """The memory a write was merged into or counted against, or replaced; None if it created one."""
        got = self.written[key]
        if got.outcome == "superseded":
            return got.superseded_id
        return got.id if got.outcome in DEDUP else None

    def right_target(self, write: Write) -> bool:
        """Whether a merge went into (or a supersede replaced) the memory the label names."""
        target = self.target(write.key)
        if write.of is None or target is None:
            return False
        named = self.created_by(write.of)
        return target in named | {self.current(i) for i in named}


Retriever = Callable[[aiohttp.ClientSession, RunningStack, Question], Awaitable[list[str]]]


async def augment(session: aiohttp.ClientSession, stack: RunningStack, q: Question) -> list[str]:
    body = {"query": q.query, "project": q.project, "sources": ["memories"], "token_budget": TOKEN_BUDGET}
    answer = await post(session, f"{stack.base_url}/hybrid/augment_query", body)
    if answer["degraded"]:
        raise RuntimeError(f"augment_query degraded: {answer.get('reason')}")
    return list(answer["context_ids"])


async def aidb_search(session: aiohttp.ClientSession, stack: RunningStack, q: Question) -> list[str]:
    body = {
        "query": q.query,
        "collections": ["memories"],
        "project": q.project,
        "limit": 20,
        "mode": "hybrid",
    }
    answer = await post(session, f"{stack.base_url}/aidb/search", body)
    if answer["degraded"]:
        raise RuntimeError(f"aidb search degraded: {answer.get('reason')}")
    return list(dict.fromkeys(r["document_id"] for r in answer["results"]))[: max(KS)]


async def memory_search(session: aiohttp.ClientSession, stack: RunningStack, q: Question) -> list[str]:
    body = {"query": q.query, "project": q.project, "limit": max(KS)}
    answer = await post(session, f"{stack.base_url}/hybrid/memories/search", body)
    if answer["degraded"]:
        raise RuntimeError(f"memory search degraded: {answer.get('reason')}")
    return [m["id"] for m in answer["memories"]]


RETRIEVERS: dict[str, Retriever] = {
    "augment_query": augment,
    "aidb hybrid search": aidb_search,
    "memories/search": memory_search,
}


def recall_at(ranked: list[str], groups: list[set[str]], k: int) -> float:
    top = set(ranked[:k])
    return sum(bool(group & top) for group in groups) / len(groups)


async def rank_all(
    stack: RunningStack, session: aiohttp.ClientSession, questions: list[Question]
) -> dict[str, dict[str, list[str]]]:
    """Each retriever's ranked ids per question id."""
    return {
        name: {q.id: await retrieve(session, stack, q) for q in questions}
        for name, retrieve in RETRIEVERS.items()
    }


def retrieval_table(
    questions: list[Question], labels: Labels, ranked: dict[str, dict[str, list[str]]]
) -> Table:
    changed = [q for q in questions if q.outdated]
    table = Table(
        title=f"recall@k over {len(questions)} questions ({len(changed)} about something that changed)",
        box=box.MARKDOWN,
    )
    table.add_column("retriever")
    for column in ("recall@5", "recall@10", "changed: recall@5", "changed: recall@10"):
        table.add_column(column, justify="right")
    table.add_column("changed: outdated in top 5", justify="right")
    table.add_column("mean items", justify="right")
    for name, ids in ranked.items():
        row = [_mean_recall(subset, ids, labels, k) for subset in (questions, changed) for k in KS]
        stale = sum(bool(labels.outdated_ids(q) & set(ids[q.id][:5])) for q in changed)
        items = statistics.fmean(len(v) for v in ids.values())
        table.add_row(name, *row, f"{stale}/{len(changed)}", f"{items:.1f}")
    return table


def _mean_recall(questions: list[Question], ids: dict[str, list[str]], labels: Labels, k: int) -> str:
    return f"{statistics.fmean(recall_at(ids[q.id], _groups(q, labels), k) for q in questions):.3f}"


def _groups(question: Question, labels: Labels) -> list[set[str]]:
    """Per memory the question needs, the ids that answer it now."""
    return [{i for key in alternatives for i in labels.answer_ids(key)} for alternatives in question.answers]


def outcome_table(writes: list[Write], written: dict[str, Written]) -> Table:
    table = Table(
        title=f"write outcomes of {len(writes)} writes: labelled (rows) against returned (columns)",
        box=box.MARKDOWN,
    )
    table.add_column("labelled")
    for outcome in OUTCOMES:
        table.add_column(outcome, justify="right")
    table.add_column("total", justify="right")
    pairs = Counter((w.expect or "unlabelled", written[w.key].outcome) for w in writes)
    for expect in (*OUTCOMES, "unlabelled"):
        counts = [pairs[(expect, o)] for o in OUTCOMES]
        if sum(counts):
            table.add_row(expect, *map(str, counts), str(sum(counts)))
    totals = [sum(pairs[(e, o)] for e in (*OUTCOMES, "unlabelled")) for o in OUTCOMES]
    table.add_row("total", *map(str, totals), str(sum(totals)))
    return table


def precision_table(writes: list[Write], written: dict[str, Written], labels: Labels) -> Table:
    labelled = [w for w in writes if w.expect is not None]
    table = Table(
        title=f"dedup and supersede against the labels ({len(labelled)} labelled writes)", box=box.MARKDOWN
    )
    for column in ("decision", "labelled", "returned", "both", "precision", "recall", "right target"):
        table.add_column(column, justify="left" if column == "decision" else "right")
    for name, group in (("dedup (duplicate or merged)", DEDUP), ("supersede", frozenset({"superseded"}))):
        truth = {w.key for w in labelled if w.expect in group}
        said = {w.key for w in labelled if written[w.key].outcome in group}
        both = truth & said
        right = sum(labels.right_target(w) for w in labelled if w.key in both)
        precision = f"{len(both) / len(said):.3f}" if said else "-"
        recall = f"{len(both) / len(truth):.3f}" if truth else "-"
        table.add_row(
            name, str(len(truth)), str(len(said)), str(len(both)), precision, recall, f"{right}/{len(both)}"
        )
    return table


def print_mismatches(console: Console, writes: list[Write], labels: Labels) -> None:
    """Writes whose outcome differs from the label, or that merged into or replaced another memory
    than the one the label names ("into" names the key that created the target)."""
    by_key = {w.key: w for w in writes}
    wrong = [w for w in writes if w.expect is not None and not _as_labelled(w, labels)]
    console.print(f"writes whose outcome or target differs from the label: {len(wrong)}")
    for w in wrong:
        got = labels.written[w.key]
        similarity = f" at similarity {got.similarity:.3f}" if got.similarity is not None else ""
        target = labels.target(w.key)
        into = f" into {labels.origin.get(target, '?')}{similarity}" if target is not None else ""
        of = f"; label: {w.expect} of {w.of} “{by_key[w.of].body['content']}”" if w.of else ""
        console.print(
            f"- {w.key} {w.body['kind']} “{w.body['content']}”: labelled {w.expect}, returned"
            f" {got.outcome}{into}{of}",
            markup=False,
        )
    console.print()


def _as_labelled(write: Write, labels: Labels) -> bool:
    outcome = labels.written[write.key].outcome
    if outcome != write.expect:
        return False
    return outcome not in DEDUP | {"superseded"} or write.of is None or labels.right_target(write)


def print_misses(
    console: Console, questions: list[Question], labels: Labels, ranked: dict[str, list[str]]
) -> None:
    """Questions augment_query misses at 10 (paste material for the roadmap)."""
    missed = [q for q in questions if recall_at(ranked[q.id], _groups(q, labels), 10) < 1]
    console.print(f"questions augment_query does not fully answer in its top 10: {len(missed)}")
    for q in missed:
        needs = ", ".join(" or ".join(alternatives) for alternatives in q.answers)
        console.print(f"- {q.id} ({q.project}) “{q.query}” → {needs}", markup=False)
    console.print()


async def main_async(args: argparse.Namespace) -> None:
    console = Console(width=200, soft_wrap=True)
    writes, questions = load_history()
    with running_stack(AI_STACK_HYBRID_PER_SOURCE_LIMIT=str(args.per_source_limit)) as stack:
        async with open_session(stack, connections=4) as session:
            started = time.perf_counter()
            written = await write_history(stack, session, writes)
            wrote_s = time.perf_counter() - started
            ranked = await rank_all(stack, session, questions)
    if args.save is not None:
        raw = {"written": {k: vars(w) for k, w in written.items()}, "ranked": ranked}
        args.save.write_text(json.dumps(raw, indent=1) + "\n")
    labels = Labels(writes, written)
    console.print(
        f"{len(writes)} memory writes in {wrote_s:.0f} s (indexing awaited every {WAIT_EVERY} writes),"
        f' {len(questions)} questions; augment_query with sources ["memories"], token_budget'
        f" {TOKEN_BUDGET}, PER_SOURCE_LIMIT {args.per_source_limit}\n"
    )
    console.print(outcome_table(writes, written))
    console.print(precision_table(writes, written, labels))
    console.print(
        f"writes labelled created or superseded whose content no memory holds: {len(labels.lost)}"
        f" ({', '.join(labels.lost) or 'none'})\n"
    )
    print_mismatches(console, writes, labels)
    console.print(retrieval_table(questions, labels, ranked))
    console.print()
    print_misses(console, questions, labels, ranked["augment_query"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--per-source-limit",
        type=int,
        default=10,
        help="augment_query's PER_SOURCE_LIMIT (service default 8)",
    )
    parser.add_argument(
        "--save",
        type=Path,
        default=None,
        help="also write each write's answer and each ranking to this JSON file",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

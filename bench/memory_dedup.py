"""Near-duplicate threshold for agent memories, chosen from labelled pairs.

Run: HF_HUB_OFFLINE=1 .venv/bin/python -m bench.memory_dedup

Embeds both sides of each pair in bench/data/memory_pairs.json with the default model
(all-MiniLM-L6-v2, in-process, unit vectors) and sweeps the cosine threshold from 0.70 to 0.98.
A pair is merged when its texts are equal after normalization (case, whitespace, punctuation) or
its cosine reaches the threshold, unless a guard refuses it: `conflicting_details` (a differing
number, or a negation on one side only) and `template_swap` (one short span replaced in an
otherwise identical sentence). Prints precision, recall, F1 and F0.5 per threshold for cosine
alone and with each guard, the threshold that maximizes F0.5 (a wrong merge loses a fact, a missed
one only leaves a duplicate) among those with precision of at least 0.95, if any, the wrong merges
there, and the duplicates each guard refuses. Tables are Markdown, to paste into the roadmap.

The pairs' hard negatives were written as lexically close variants, which is the shape
`template_swap` looks for: its figures need confirming on memories that real agents wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_stack.embeddings.model import load_encoder
from ai_stack.hybrid.conflicts import conflicting_details, different_facts, template_swap
from ai_stack.hybrid.normalize import normalized
from ai_stack.text.model_files import DEFAULT_MODEL
from rich import box
from rich.console import Console
from rich.table import Table

PAIRS_FILE = Path(__file__).parent / "data" / "memory_pairs.json"
THRESHOLDS = [round(0.70 + 0.01 * i, 2) for i in range(29)]
MIN_PRECISION = 0.95
BETA = 0.5

Guard = Callable[[str, str], bool]


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    duplicate: bool
    why: str
    cosine: float


@dataclass(frozen=True)
class Scores:
    threshold: float
    precision: float
    recall: float
    f1: float
    f_beta: float
    merged: int


def merged(pair: Pair, threshold: float, guard: Guard | None) -> bool:
    if normalized(pair.a) == normalized(pair.b):
        return True
    if guard is not None and guard(pair.a, pair.b):
        return False
    return pair.cosine >= threshold


def score(pairs: list[Pair], predicted: list[bool], threshold: float) -> Scores:
    tp = sum(p and pair.duplicate for p, pair in zip(predicted, pairs, strict=True))
    fp = sum(p and not pair.duplicate for p, pair in zip(predicted, pairs, strict=True))
    positives = sum(pair.duplicate for pair in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives
    beta2 = BETA * BETA

    def f(b2: float) -> float:
        return (1 + b2) * precision * recall / (b2 * precision + recall) if tp else 0.0

    return Scores(threshold, precision, recall, f(1.0), f(beta2), tp + fp)


def sweep(pairs: list[Pair], guard: Guard | None) -> list[Scores]:
    return [score(pairs, [merged(p, t, guard) for p in pairs], t) for t in THRESHOLDS]


def choose(scores: list[Scores]) -> tuple[Scores, bool]:
    """Best F0.5 among thresholds with precision ≥ MIN_PRECISION (if any reach it); on a tie the
    higher threshold, the safer one. The flag says whether the precision floor was met."""
    precise = [s for s in scores if s.precision >= MIN_PRECISION and s.recall > 0]
    pool = precise or scores
    return max(pool, key=lambda s: (round(s.f_beta, 6), s.threshold)), bool(precise)


def load_pairs() -> list[Pair]:
    raw = json.loads(PAIRS_FILE.read_text())["pairs"]
    texts = sorted({item[side] for item in raw for side in ("a", "b")})
    encoder = load_encoder(DEFAULT_MODEL, "cpu", 0, 32)
    vectors = encoder.encode(texts)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    row = {text: vectors[i] for i, text in enumerate(texts)}
    return [
        Pair(item["a"], item["b"], item["duplicate"], item["why"], float(row[item["a"]] @ row[item["b"]]))
        for item in raw
    ]


def scores_table(title: str, scores: list[Scores], chosen: Scores) -> Table:
    table = Table(title=title, box=box.MARKDOWN)
    for column in ("threshold", "precision", "recall", "F1", "F0.5", "merged"):
        table.add_column(column, justify="right")
    for s in scores:
        mark = " ←" if s is chosen else ""
        table.add_row(
            f"{s.threshold:.2f}{mark}",
            f"{s.precision:.3f}",
            f"{s.recall:.3f}",
            f"{s.f1:.3f}",
            f"{s.f_beta:.3f}",
            str(s.merged),
        )
    return table


def report(console: Console, pairs: list[Pair], label: str, guard: Guard | None) -> Scores:
    scores = sweep(pairs, guard)
    chosen, floor_met = choose(scores)
    console.print(scores_table(f"cosine ≥ threshold, {label}", scores, chosen))
    floor = f"precision ≥ {MIN_PRECISION}" if floor_met else f"no threshold reaches precision {MIN_PRECISION}"
    console.print(
        f"**{label}: threshold {chosen.threshold:.2f}** ({floor}): precision {chosen.precision:.3f},"
        f" recall {chosen.recall:.3f}, F1 {chosen.f1:.3f}, F0.5 {chosen.f_beta:.3f}"
    )
    wrong = [p for p in pairs if merged(p, chosen.threshold, guard) and not p.duplicate]
    console.print(f"wrongly merged at {chosen.threshold:.2f}: {len(wrong)}")
    for p in sorted(wrong, key=lambda p: -p.cosine):
        console.print(f"- {p.cosine:.3f} “{p.a}” / “{p.b}” ({p.why})", markup=False)
    console.print()
    return chosen


def main() -> None:
    console = Console(width=200, soft_wrap=True)
    pairs = load_pairs()
    duplicates = [p.cosine for p in pairs if p.duplicate]
    others = [p.cosine for p in pairs if not p.duplicate]
    console.print(
        f"{len(pairs)} labelled pairs, {len(duplicates)} duplicates; cosine of duplicates"
        f" min {min(duplicates):.3f} median {np.median(duplicates):.3f}, of non-duplicates"
        f" median {np.median(others):.3f} max {max(others):.3f}\n"
    )
    exact = score(pairs, [normalized(p.a) == normalized(p.b) for p in pairs], 1.0)
    console.print(
        f"baseline, normalized exact match only: precision {exact.precision:.3f},"
        f" recall {exact.recall:.3f}, F1 {exact.f1:.3f}, F0.5 {exact.f_beta:.3f}\n"
    )
    report(console, pairs, "cosine alone", None)
    report(console, pairs, "guard conflicting_details", conflicting_details)
    report(console, pairs, "guard conflicting_details or template_swap", different_facts)
    for name, guard in (("conflicting_details", conflicting_details), ("template_swap", template_swap)):
        refused = [p for p in pairs if p.duplicate and guard(p.a, p.b) and normalized(p.a) != normalized(p.b)]
        console.print(f"duplicates {name} refuses at any threshold: {len(refused)}")
        for p in sorted(refused, key=lambda p: -p.cosine):
            console.print(f"- {p.cosine:.3f} “{p.a}” / “{p.b}”", markup=False)


if __name__ == "__main__":
    main()

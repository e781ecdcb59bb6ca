"""Local-or-remote advice (pure): is the assembled context strong enough for a local model?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

CONFLICT_CONFIDENCE = 0.75
_CONFLICT = "but the items conflict: a remote model should weigh them."


@dataclass(frozen=True)
class RoutingThresholds:
    """Where context turns from weak to strong."""

    strong_score: float = 0.55
    min_items: int = 2
    support_score: float = 0.35
    conflict_gap: float = 0.05  # reserved for the caller's conflict detection; advise does not read it

    def __post_init__(self) -> None:
        for name in ("strong_score", "support_score"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {getattr(self, name)}")
        if self.min_items < 1:
            raise ValueError(f"min_items must be >= 1, got {self.min_items}")
        if self.conflict_gap < 0:
            raise ValueError(f"conflict_gap must be >= 0, got {self.conflict_gap}")


@dataclass(frozen=True)
class Routing:
    """Which kind of model should answer, how sure the advice is, and why."""

    recommendation: Literal["local", "remote"]
    confidence: float
    reason: str


def advise(scores: Sequence[float], thresholds: RoutingThresholds, *, conflicting: bool = False) -> Routing:
    """ "local" for strong, consistent context, else "remote", from the context items' scores.

    Context is strong when the best score is >= `strong_score` and at least `min_items` scores are
    >= `support_score`. Confidence is 0.5 at the thresholds and grows linearly to 1.0:
    local: 0.5 + 0.5 * (best - strong_score) / (1 - strong_score);
    remote: 0.5 + 0.5 * max((strong_score - best) / strong_score, (min_items - supporting) / min_items),
    each ratio clamped to [0, 1], so no context at all gives 1.0. Conflicting context goes remote
    with at least 0.75, since contradictions need the stronger model whatever the scores.
    """
    if not scores:
        return Routing("remote", 1.0, "No context was found: a remote model has to answer on its own.")
    best = max(scores)
    supporting = sum(1 for s in scores if s >= thresholds.support_score)
    evidence = _evidence(len(scores), supporting, best, thresholds)
    if conflicting or best < thresholds.strong_score or supporting < thresholds.min_items:
        confidence = _remote_confidence(best, supporting, thresholds)
        if conflicting:
            return Routing("remote", max(CONFLICT_CONFIDENCE, confidence), f"{evidence}, {_CONFLICT}")
        return Routing("remote", confidence, f"{evidence}{_weakness(best, supporting, thresholds)}")
    confidence = 0.5 + 0.5 * _share(best - thresholds.strong_score, 1.0 - thresholds.strong_score)
    return Routing("local", confidence, f"{evidence}: the context is strong enough for a local model.")


def _remote_confidence(best: float, supporting: int, thresholds: RoutingThresholds) -> float:
    """0.5 plus half the larger shortfall: of the best score from strong, of supporting items."""
    score_short = _share(thresholds.strong_score - best, thresholds.strong_score)
    items_short = _share(thresholds.min_items - supporting, thresholds.min_items)
    return 0.5 + 0.5 * max(score_short, items_short)


def _weakness(best: float, supporting: int, thresholds: RoutingThresholds) -> str:
    """The end of the sentence saying what the context lacks."""
    if best < thresholds.strong_score:
        return f", below the {thresholds.strong_score:.2f} of strong context: too weak for a local model."
    return f", with {thresholds.min_items} supporting items needed: too little context for a local model."


def _evidence(total: int, supporting: int, best: float, thresholds: RoutingThresholds) -> str:
    """The figures behind the advice, as the start of a sentence."""
    verb = "scores" if supporting == 1 else "score"
    return f"{supporting} of {total} items {verb} >= {thresholds.support_score:.2f}, the best {best:.2f}"


def _share(part: float, whole: float) -> float:
    """`part / whole` clamped to [0, 1]; a positive part of nothing is all of it."""
    if part <= 0:
        return 0.0
    return 1.0 if whole <= 0 else min(1.0, part / whole)

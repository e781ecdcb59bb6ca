"""What an outcome is worth, and how usefulness weighs a context item's score (pure).

An outcome's contribution c in [0, 1]: success 1, partial 0.5, failure 0; with feedback f in
[-1, 1] it is the mean of that and (f + 1) / 2. It is also the interaction's value score.

An item's usefulness is the posterior mean of a Beta(PRIOR_SUCCESS, PRIOR_FAILURE) prior after
its outcomes: u = (s + a) / (n + a + b), with s the sum of contributions and n their number.
With a = b = 2 an unused item has u = 0.5; its ranking factor is 0.5 + u, so scores are kept
as they are without evidence and move by at most half either way: an item that kept helping
rises towards 1.5x, one that kept misleading sinks towards 0.5x, and one outcome moves it by
about a fifth of that (four pseudo-observations of prior).
"""

from __future__ import annotations

from typing import Literal

Outcome = Literal["success", "partial", "failure"]
BASE = {"success": 1.0, "partial": 0.5, "failure": 0.0}
PRIOR_SUCCESS = 2.0
PRIOR_FAILURE = 2.0


def contribution(outcome: Outcome, feedback: float | None) -> float:
    """The value of one outcome, in [0, 1]."""
    base = BASE[outcome]
    if feedback is None:
        return base
    return (base + (max(-1.0, min(1.0, feedback)) + 1) / 2) / 2


def usefulness(successes: float, count: float) -> float:
    """Posterior mean usefulness of an item after `count` outcomes summing to `successes`."""
    return (successes + PRIOR_SUCCESS) / (count + PRIOR_SUCCESS + PRIOR_FAILURE)


def ranking_factor(successes: float, count: float) -> float:
    """What an item's relevance is multiplied by: 1 without evidence, within (0.5, 1.5)."""
    return 0.5 + usefulness(successes, count)

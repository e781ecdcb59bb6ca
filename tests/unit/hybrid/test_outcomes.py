"""An outcome's value and an item's ranking factor (the formula the README documents)."""

from __future__ import annotations

import pytest
from ai_stack.hybrid.outcomes import contribution, ranking_factor, usefulness


def test_contribution_of_each_outcome_and_feedback() -> None:
    assert (contribution("success", None), contribution("partial", None), contribution("failure", None)) == (
        1.0,
        0.5,
        0.0,
    )
    assert contribution("success", -1.0) == 0.5 and contribution("failure", 1.0) == 0.5
    assert contribution("partial", 0.0) == 0.5 and contribution("success", 5.0) == 1.0


def test_no_evidence_keeps_the_score() -> None:
    assert usefulness(0, 0) == 0.5 and ranking_factor(0, 0) == 1.0


def test_help_raises_and_misleading_lowers_within_half() -> None:
    helped = [ranking_factor(n, n) for n in range(1, 50)]
    misled = [ranking_factor(0, n) for n in range(1, 50)]
    assert helped == sorted(helped) and misled == sorted(misled, reverse=True)
    assert all(1 < f < 1.5 for f in helped) and all(0.5 < f < 1 for f in misled)
    assert ranking_factor(1, 1) == pytest.approx(1.1)  # one success moves it by a fifth of the way
